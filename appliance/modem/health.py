"""What the status page shows of a modem, and whether it may send: signal, network, SIM.

Parsing only; the driver decides when to ask. Replies vary in spacing, quoting and
field count between families (docs/modems.md §1), so every parser is lenient about
form and strict about meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

# +CREG / +CEREG <stat> (27.007): 1 registered (home), 5 registered (roaming); 6 and 7 the
# same "for SMS only" (a Fibocom L850 attached on LTE answers +CREG: 2,6,...), and 9 and 10
# the same "for CSFB not preferred": every one of them can send and receive SMS
REGISTERED = {1, 5, 6, 7, 9, 10}
REGISTRATION_TEXT = {0: "not registered", 1: "registered (home)", 2: "searching", 3: "registration denied",
                     4: "unknown", 5: "registered (roaming)", 6: "registered for SMS only (home)",
                     7: "registered for SMS only (roaming)", 8: "emergency services only",
                     9: "registered (home, CSFB not preferred)", 10: "registered (roaming, CSFB not preferred)"}

_FIELDS = re.compile(r'"[^"]*"|[^,]+')
_LAST_STAT = 11  # the highest <stat> 27.007 defines


def fields(value: str) -> list[str]:
    """Comma-separated fields, quotes removed, spaces trimmed; quoted commas stay inside."""
    return [f.strip().strip('"').strip() for f in _FIELDS.findall(value)]


@dataclass
class Health:
    signal_rssi: int | None = None        # AT+CSQ <rssi> 0..31, None when unknown (99)
    registration: int | None = None       # AT+CREG <stat>: circuit-switched (2G/3G)
    eps_registration: int | None = None   # AT+CEREG <stat>: LTE; None where not asked
    operator: str = ""
    storage_used: int | None = None
    storage_total: int | None = None
    network_time: datetime | None = None
    ussd_reply: str = ""
    smsc: str = ""                        # the service centre in use (AT+CSCA)

    @property
    def registered(self) -> bool:
        """Either domain will do: an LTE-only attach leaves +CREG unregistered while SMS
        go over LTE. Unknown counts as registered: a modem that does not say must not be
        idled."""
        known = [stat for stat in (self.registration, self.eps_registration) if stat is not None]
        return not known or any(stat in REGISTERED for stat in known)

    @property
    def registration_stat(self) -> int | None:
        """The <stat> that tells most: a registered one if either is, else LTE's if known."""
        known = [stat for stat in (self.eps_registration, self.registration) if stat is not None]
        registered = [stat for stat in known if stat in REGISTERED]
        preferred = registered or known
        return preferred[0] if preferred else None

    @property
    def registration_text(self) -> str:
        """What :attr:`registration_stat` means, for people; "unknown" when it is not known."""
        stat = self.registration_stat
        return "unknown" if stat is None else REGISTRATION_TEXT.get(stat, "unknown")

    @property
    def signal_dbm(self) -> int | None:
        return None if self.signal_rssi is None else -113 + 2 * self.signal_rssi

    @property
    def storage_full(self) -> bool:
        return (self.storage_used is not None and self.storage_total is not None
                and self.storage_total > 0 and self.storage_used >= self.storage_total)

    def as_dict(self) -> dict:
        return {
            "signal_dbm": self.signal_dbm,
            "registration": self.registration_text,
            "operator": self.operator,
            "storage": None if self.storage_total is None else f"{self.storage_used}/{self.storage_total}",
            "network_time": self.network_time.isoformat() if self.network_time else None,
            "smsc": self.smsc or None,
        }


def parse_csq(value: str) -> int | None:
    parts = fields(value)
    if not parts or not parts[0].isdigit():
        return None
    rssi = int(parts[0])
    return None if rssi == 99 or rssi > 31 else rssi


def parse_creg(value: str, *, answer: bool) -> int | None:
    """The <stat> of ``+CREG: [<n>,]<stat>[,<lac>,<ci>[,<act>]]`` (``+CEREG`` alike).

    An answer to AT+CREG? starts with <n>; an unsolicited +CREG starts with <stat>.
    """
    parts = fields(value)
    index = 1 if answer else 0
    if len(parts) <= index or not parts[index].isdigit():
        return None
    return int(parts[index])


def parse_registration_reply(values: list[str]) -> int | None:
    """The current <stat> from every ``+CREG:`` (or ``+CEREG:``) line of an AT+CREG? reply.

    A notice the modem sends while it answers has the same prefix and lands inside the
    reply. A notice starts with <stat> and an answer with <n>,<stat> (with AT+CREG=2 both
    go on with the location), so each is read as what it is, and the last of them is the
    modem's state now.
    """
    current = None
    for value in values:
        stat = parse_creg(value, answer=_is_answer(value))
        if stat is not None:
            current = stat
    return current


def _is_answer(value: str) -> bool:
    """An answer is <n>,<stat> with the location after them; a notice is <stat> alone, or
    with the location area and cell (at least three fields). So two fields are an answer,
    and a longer one is an answer when its second field is a <stat>: a small number,
    never quoted, where a notice has the location area there (quoted hex on most modems,
    unquoted hex on some: ``+CREG: 1,4CA,81DE445``)."""
    raw = _FIELDS.findall(value)
    if len(raw) < 2:
        return False
    second = raw[1].strip()
    return len(raw) == 2 or (second.isdigit() and int(second) <= _LAST_STAT)


def parse_csca(value: str) -> str:
    """The number of ``+CSCA: "<sca>",<tosca>``; "" for a SIM without one (``"",129``)."""
    parts = fields(value)
    return parts[0] if parts else ""


def parse_cnmi(value: str) -> tuple[int, ...] | None:
    """The settings of ``+CNMI: <mode>,<mt>,<bm>,<ds>,<bfr>``, to compare with later ones."""
    parts = fields(value)
    if not parts or not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def parse_cops(value: str) -> str:
    parts = fields(value)
    return parts[2] if len(parts) >= 3 else ""


def parse_cpms(value: str) -> tuple[int, int] | None:
    """Used and total of the first storage: ``+CPMS: "SM",3,20,...`` or ``+CPMS: 3,20,...``."""
    numbers = [int(p) for p in fields(value) if p.isdigit()]
    return (numbers[0], numbers[1]) if len(numbers) >= 2 else None


_CCLK = re.compile(r'"?(\d{2})/(\d{2})/(\d{2}),(\d{2}):(\d{2}):(\d{2})([+-]\d{1,2})?"?')


def parse_cclk(value: str) -> datetime | None:
    """``+CCLK: "24/11/22,10:15:30+04"``: the zone is in quarter hours, as in 27.007."""
    match = _CCLK.search(value)
    if match is None:
        return None
    yy, mo, dd, hh, mi, ss = (int(g) for g in match.groups()[:6])
    quarters = int(match.group(7) or 0)
    try:
        return datetime(2000 + yy, mo, dd, hh, mi, ss,
                        tzinfo=timezone(timedelta(minutes=15 * quarters)))
    except ValueError:
        return None  # modems without network time answer e.g. 80/01/00
