"""The 27.005 SMS commands of the simulated modem (PDU mode, and text mode where cheap).

Storage commands (AT+CPMS, CMGL, CMGR, CMGD, CMGW, CMSS) work on
:class:`~hil.storage.MessageStore`; sending (AT+CMGS, CMSS) and routing (AT+CNMI, CNMA,
CSMS) on :class:`~hil.messaging.Messaging`. Reply shapes follow docs/modems.md §4:
``+CMGL: <idx>,<stat>,,<len>`` then the PDU per entry, ``+CMGR: <stat>,,<len>``, and an
empty slot read answered per model (``+CMS ERROR: 321``, ``500`` or a bare OK).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar

from hil import text_mode
from hil.at_commands import (
    AtError,
    CommandGroup,
    Handler,
    Later,
    Need,
    Prompt,
    int_arg,
    string_arg,
)
from hil.at_parser import Command, unquote
from hil.messaging import Messaging, tpdu_length
from hil.profiles import parse_ranges
from hil.storage import DELETE_FLAGS, Stat, Storage, StoredMessage

if TYPE_CHECKING:
    from hil.device import Device

__all__ = ["SmsCommands"]

# AT+CMGL=<stat> in PDU mode: 0-3 one stat each, 4 all of them.
PDU_STATS: dict[int, frozenset[Stat]] = {stat.value: frozenset({stat}) for stat in Stat}
PDU_STATS[4] = frozenset(Stat)


class SmsCommands(CommandGroup):
    """27.005: message format, service centre, routing, storages, reading and sending."""

    need = Need.SMS
    needs: ClassVar[Mapping[str, Need]] = {"+CSCA": Need.SIM}  # the service centre is read from the SIM

    def __init__(self, device: Device) -> None:
        super().__init__(device)
        self._cnmi_ranges = parse_ranges(self.profile.cnmi_ranges)

    def handlers(self) -> dict[str, Handler]:
        return {
            "+CMGF": self.mode("cmgf", (0, 1), "(0,1)"),
            "+CSDH": self.mode("csdh", (0, 1), "(0,1)"),
            "+CMMS": self.mode("cmms", (0, 1, 2), "(0-2)"),
            "+CSMP": self.forms(
                read=lambda command: ["+CSMP: " + ",".join(map(str, self.settings.csmp))],
                write=self._set_csmp,
                test=[],
            ),
            "+CSCA": self.forms(read=self._service_centre, write=self._set_csca, test=[]),
            "+CSMS": self.forms(
                read=lambda command: [f"+CSMS: {self.settings.csms},1,1,1"],
                write=self._set_csms,
                test=["+CSMS: (0,1)"],
            ),
            "+CNMI": self.forms(
                read=lambda command: ["+CNMI: " + ",".join(map(str, self.settings.cnmi))],
                write=self._set_cnmi,
                test=[f"+CNMI: {self.profile.cnmi_ranges}"],
            ),
            "+CNMA": self.forms(execute=self._acknowledge, write=self._acknowledge,
                                test=["+CNMA: (0-2)"]),
            "+CPMS": self.forms(read=self._storages, write=self._set_cpms, test=self._cpms_choices),
            "+CMGL": self.forms(execute=self._list, write=self._list, test=self._list_stats),
            "+CMGR": self.forms(write=self._read, test=[]),
            "+CMGD": self.forms(write=self._delete, test=self._deletable),
            "+CMGW": self.forms(write=self._cmgw, test=[]),
            "+CMSS": self.forms(write=self._cmss, test=[]),
            "+CMGS": self.forms(write=self._cmgs, test=[]),
        }

    @property
    def messaging(self) -> Messaging:
        return self.device.messaging

    @property
    def text_mode(self) -> bool:
        return self.settings.cmgf == 1

    def _storage(self, which: int) -> Storage:
        """The storage AT+CPMS chose as <mem1> (read/delete), <mem2> (write/send) or <mem3>."""
        return self.device.store[self.settings.storages[which]]

    # ----------------------------------------------------------------- settings

    def _set_csmp(self, command: Command) -> None:
        if not 1 <= len(command.args) <= 4:
            raise self.unknown()
        values = list(self.settings.csmp)
        for i, token in enumerate(command.args):
            if token is not None and not (i == 1 and token.startswith('"')):  # absolute VP
                values[i] = int_arg(token, range(256))
        self.settings.csmp = (values[0], values[1], values[2], values[3])

    def _service_centre(self, command: Command) -> list[str]:
        number, kind = self.settings.smsc
        return [f'+CSCA: "{number}"{self.profile.separator}{kind}']

    def _set_csca(self, command: Command) -> None:
        if len(command.args) > 2:
            raise AtError("CME", 50)
        number = string_arg(command.arg(0))
        if command.arg(1) is None:
            kind = 145 if number.startswith("+") else 129
        else:
            kind = int_arg(command.arg(1), range(128, 256))
        self.settings.smsc = (number, kind)

    def _set_csms(self, command: Command) -> list[str]:
        self.settings.csms = int_arg(command.arg(0), (0, 1))
        return ["+CSMS: 1,1,1"]

    def _set_cnmi(self, command: Command) -> None:
        if not 1 <= len(command.args) <= len(self._cnmi_ranges):
            raise AtError("CME", 50)
        values = list(self.settings.cnmi)
        for i, token in enumerate(command.args):
            if token is not None:
                values[i] = int_arg(token, self._cnmi_ranges[i])
        self.settings.cnmi = tuple(values)
        self.messaging.cnmi_changed()

    def _acknowledge(self, command: Command) -> None:
        if len(command.args) > 1:
            raise self.unknown()
        if command.args:
            int_arg(command.arg(0), (0, 1, 2))  # 2 (RP-ERROR) also ends the wait
        self.messaging.acknowledge()

    # ----------------------------------------------------------------- storages

    def _cpms_counts(self) -> str:
        store = self.device.store
        return ",".join(f"{store[n].used},{store[n].size}" for n in self.settings.storages)

    def _set_cpms(self, command: Command) -> list[str]:
        if not 1 <= len(command.args) <= 3:
            raise AtError("CME", 50)
        every = tuple(name for name, _ in self.profile.storages)
        chosen = list(self.settings.storages)
        for i, token in enumerate(command.args):
            if token is None:
                continue
            name = (unquote(token) or "").upper()
            if name not in (every if i == 0 else self.profile.message_storages):
                raise AtError("CMS", 302)
            chosen[i] = name
        self.settings.storages = chosen
        return [f"+CPMS: {self._cpms_counts()}"]

    def _storages(self, command: Command) -> list[str]:
        store = self.device.store
        parts = [f'"{n}",{store[n].used},{store[n].size}' for n in self.settings.storages]
        return ["+CPMS: " + ",".join(parts)]

    def _cpms_choices(self, command: Command) -> list[str]:
        every = tuple(name for name, _ in self.profile.storages)
        first, other = (
            "(" + ",".join(f'"{name}"' for name in names) + ")"
            for names in (every, self.profile.message_storages)
        )
        return [f"+CPMS: {first},{other},{other}"]

    def _keep_stat(self, command: Command, position: int) -> bool:
        """SIMCom's optional <mode> 1: read without marking REC UNREAD as read."""
        return int_arg(command.arg(position) or "0", (0, 1)) == 1

    def _shown(self, stored: StoredMessage, keep: bool, lines: list[str]) -> list[str]:
        if stored.stat is Stat.REC_UNREAD and not keep:
            stored.stat = Stat.REC_READ
        return lines

    def _list_stats(self, command: Command) -> list[str]:
        if self.text_mode:
            return ["+CMGL: (" + ",".join(f'"{s}"' for s in text_mode.STATS_BY_NAME) + ")"]
        return ["+CMGL: (0-4)"]

    def _list(self, command: Command) -> list[str]:
        if len(command.args) > 2:
            raise self.unknown()
        stats: frozenset[Stat]
        if not command.args:
            stats = frozenset({Stat.REC_UNREAD})  # 27.005: <stat> defaults to unread
        elif self.text_mode:
            name = string_arg(command.arg(0)).upper()
            if name not in text_mode.STATS_BY_NAME:
                raise AtError("CME", 50)
            stats = text_mode.STATS_BY_NAME[name]
        else:
            stats = PDU_STATS[int_arg(command.arg(0), range(5))]
        keep = self._keep_stat(command, 1)
        lines: list[str] = []
        for index, stored in list(self._storage(0).messages(stats)):
            if self.text_mode:
                entry = text_mode.list_entry(index, stored, self.settings)
            else:
                entry = [f"+CMGL: {index},{int(stored.stat)},,{stored.length}", stored.pdu + self.device.pdu_junk]
            lines += self._shown(stored, keep, entry)
        return lines

    def _read(self, command: Command) -> list[str] | None:
        if not 1 <= len(command.args) <= 2:
            raise self.unknown()
        index = int_arg(command.arg(0), range(100000))
        keep = self._keep_stat(command, 1)
        storage = self._storage(0)
        if not storage.in_range(index):
            raise AtError("CMS", 321)
        stored = storage.get(index)
        if stored is None:
            if self.profile.empty_read == "ok":
                return None
            raise AtError("CMS", int(self.profile.empty_read))
        if self.text_mode:
            return self._shown(stored, keep, text_mode.read_entry(stored, self.settings))
        lines = [f"+CMGR: {int(stored.stat)},,{stored.length}", stored.pdu + self.device.pdu_junk]
        return self._shown(stored, keep, lines)

    def _deletable(self, command: Command) -> list[str]:
        used = ",".join(str(index) for index, _ in self._storage(0).messages())
        return [f"+CMGD: ({used}),(0-4)"]

    def _delete(self, command: Command) -> None:
        if not 1 <= len(command.args) <= 2:
            raise self.unknown()
        storage = self._storage(0)
        index = int_arg(command.arg(0), range(100000))
        flag = int_arg(command.arg(1) or "0", range(5))
        if flag:
            storage.delete_stats(DELETE_FLAGS[flag])
        elif not storage.in_range(index):
            raise AtError("CMS", 321)
        else:
            storage.delete(index)  # an empty slot is deleted too: OK
        self.messaging.retry()  # a freed slot lets the network deliver what it held

    # ----------------------------------------------------------------- writing and sending

    def _pdu_body(self, body: str, overflow: bool, length: int) -> str:
        """The hex PDU after the prompt, checked against AT+CMGS/CMGW's ``<length>``."""
        try:
            valid = not overflow and tpdu_length(body) == length
        except ValueError:
            valid = False
        if not valid:
            raise AtError("CMS", 304)
        return body.upper()

    def _pdu_length(self, token: str | None) -> int:
        if token is None or not token.isdigit():
            raise AtError("CMS", 304)
        length = int(token)
        if not 1 <= length <= self.profile.max_tpdu_length:
            raise AtError("CMS", 304)
        return length

    def _format_error(self) -> AtError:
        """A bad send/write argument: invalid text or PDU mode parameter."""
        return AtError("CMS", 305 if self.text_mode else 304)

    def _prompt(self, command: Command, then: Callable[[str, int], Later]) -> Prompt:
        """The prompt of AT+CMGS / AT+CMGW: the body becomes a PDU (PDU mode: checked
        against ``<length>``; text mode: built from the text for ``"<da>"[,<toda>]``),
        handed with its TPDU length to ``then``."""
        if not self.text_mode:
            length = self._pdu_length(command.arg(0))
            return Prompt(
                lambda body, overflow: then(self._pdu_body(body, overflow, length), length)
            )
        try:
            number = string_arg(command.arg(0))
            default = 145 if number.startswith("+") else 129
            toa = int_arg(command.arg(1) or str(default), range(128, 256))
        except AtError:
            raise AtError("CMS", 305) from None

        def complete(body: str, overflow: bool) -> Later:
            if overflow:
                raise AtError("CMS", 305)
            return then(*text_mode.submit_pdu(number, toa, body, self.settings))

        return Prompt(complete)

    def _cmgs(self, command: Command) -> Prompt:
        if len(command.args) > (2 if self.text_mode else 1):
            raise self._format_error()
        return self._prompt(command, self.messaging.submit)

    def _cmgw(self, command: Command) -> Prompt:
        at = 2 if self.text_mode else 1  # where <stat> goes: after "<da>",<toda> or <length>
        if len(command.args) > at + 1:
            raise self._format_error()
        stat = Stat(int_arg(command.arg(at) or "2", range(4)))
        return self._prompt(command, lambda pdu, length: self._write(pdu, length, stat))

    def _write(self, pdu: str, length: int, stat: Stat) -> Later:
        storage = self._storage(1)

        def produce() -> list[list[str]]:
            if storage.full:
                raise AtError("CMS", 322)
            return [[f"+CMGW: {storage.put(StoredMessage(stat, pdu, length))}"]]

        return Later(self.device.options.latency, produce)

    def _cmss(self, command: Command) -> Later:
        if len(command.args) > 3:
            raise self.unknown()
        index = int_arg(command.arg(0), range(100000))
        if command.arg(1) is not None:
            # A new destination; the stored PDU is sent as it is (the simulated network
            # does not route), so the address is only checked.
            string_arg(command.arg(1))
        storage = self._storage(1)
        stored = storage.get(index) if storage.in_range(index) else None
        if stored is None:
            raise AtError("CMS", 321)
        if storage.full:
            raise AtError("CMS", 322)  # as docs/modems.md §2 reports for a full store
        later = self.messaging.submit(stored.pdu, stored.length, "+CMSS")

        def produce() -> list[list[str]]:
            lines = later.produce()
            stored.stat = Stat.STO_SENT
            return lines

        return Later(later.delay, produce)
