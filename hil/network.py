"""The simulated cell the modem camps on, and the commands that ask about it.

Registration (AT+CREG/CGREG/CEREG and their URCs), signal (AT+CSQ), operator (AT+COPS),
network time (AT+CCLK) and USSD (AT+CUSD: OK at once, the ``+CUSD:`` answer a little
later, docs/modems.md §5). Losing registration is a fault the tests inject through
:meth:`hil.device.Device.set_registration`; sends then fail with ``+CMS ERROR: 331``. An
LTE model may be attached on LTE only (no circuit-switched fallback): +CREG then says not
registered while +CEREG says registered, and SMS still go.
"""

from __future__ import annotations

import datetime

from hil.at_commands import AtError, CommandGroup, Handler, Need, int_arg, string_arg
from hil.at_parser import Command
from hil.profiles import ModemProfile

__all__ = ["HOME", "NOT_REGISTERED", "Network", "NetworkCommands", "clock_string"]

NOT_REGISTERED, HOME, SEARCHING, DENIED, ROAMING = 0, 1, 2, 3, 5
CLOCK_FORMAT = "%y/%m/%d,%H:%M:%S"


def clock_string(moment: datetime.datetime) -> str:
    """27.007's time string ``yy/MM/dd,hh:mm:ss±zz`` (zone in quarter hours)."""
    offset = moment.utcoffset() or datetime.timedelta(0)
    quarters = int(offset.total_seconds()) // 900
    return moment.strftime(CLOCK_FORMAT) + f"{quarters:+03d}"


class Network:
    """Registration state, signal and the USSD service's answer."""

    def __init__(self, profile: ModemProfile) -> None:
        self.profile = profile
        self.status = HOME  # what the network grants when the radio is on
        self.radio_on = True
        self.cs_attached = True  # False: attached on LTE only, +CREG says not registered
        self.clock_offset = datetime.timedelta(0)  # AT+CCLK= moves the clock ...
        self.clock_zone: datetime.tzinfo | None = None  # ... and sets its zone (None: local)
        self.ussd_reply: tuple[int, str, int] = (0, "Balance 12.34", 15)  # <m>, <str>, <dcs>

    @property
    def stat(self) -> int:
        """The registration status the modem reports (0 with the radio off)."""
        return self.status if self.radio_on else NOT_REGISTERED

    @property
    def registered(self) -> bool:
        return self.stat in (HOME, ROAMING)

    def stat_of(self, command: str) -> int:
        """The <stat> ``+CREG``, ``+CGREG`` or ``+CEREG`` shows."""
        if command == "+CREG" and not self.cs_attached:
            return NOT_REGISTERED
        return self.stat

    @property
    def operator_numeric(self) -> str:
        return self.profile.imsi[:5]

    def now(self) -> datetime.datetime:
        return (datetime.datetime.now(datetime.UTC) + self.clock_offset).astimezone(
            self.clock_zone
        )

    def registration(self, command: str, n: int) -> str:
        """``<stat>[,<lac>,<ci>[,<AcT>]]`` as the ``+CREG`` family shows it with ``<n>``."""
        stat = self.stat_of(command)
        fields = [str(stat)]
        if n == 2 and stat in (HOME, ROAMING):
            profile = self.profile
            quote = '"' if profile.creg_quoted else ""
            fields += [f"{quote}{profile.lac}{quote}", f"{quote}{profile.cell_id}{quote}"]
            act = 7 if command == "+CEREG" else profile.creg_act
            if act is not None:
                fields.append(str(act))
        return self.profile.separator.join(fields)


class NetworkCommands(CommandGroup):
    """AT+CSQ, AT+CREG / +CGREG / +CEREG, AT+COPS, AT+CCLK and AT+CUSD."""

    def handlers(self) -> dict[str, Handler]:
        handlers = {
            "+CSQ": self.forms(execute=self._signal, test=["+CSQ: (0-31,99),(0-7,99)"]),
            "+CREG": self._registration("+CREG", "creg"),
            "+CGREG": self._registration("+CGREG", "cgreg"),
            "+COPS": self.forms(read=self._operator, write=self._set_cops, test=self._operators),
            "+CCLK": self.forms(
                read=lambda command: [f'+CCLK: "{clock_string(self.network.now())}"'],
                write=self._set_clock,
                test=[],
            ),
            "+CUSD": self.forms(
                read=lambda command: [f"+CUSD: {self.settings.cusd}"],
                write=self._ussd,
                test=["+CUSD: (0-2)"],
            ),
        }
        if self.profile.eps:
            handlers["+CEREG"] = self._registration("+CEREG", "cereg")
        return handlers

    @property
    def network(self) -> Network:
        return self.device.network

    def _signal(self, command: Command) -> list[str]:
        rssi, ber = self.profile.csq if self.network.radio_on else (99, 99)
        return [f"+CSQ: {rssi},{ber}"]

    def _registration(self, name: str, field: str) -> Handler:
        """AT+CREG and its packet-domain twins: ``<n>`` chooses the URC, read shows both."""

        def show(command: Command) -> list[str]:
            n = getattr(self.settings, field)
            return [f"{name}: {n},{self.network.registration(name, n)}"]

        def choose(command: Command) -> None:
            setattr(self.settings, field, int_arg(command.arg(0), (0, 1, 2)))

        return self.forms(read=show, write=choose, test=[f"{name}: (0-2)"])

    def _operator(self, command: Command) -> list[str]:
        if not self.network.registered:
            return ["+COPS: 0"]
        numeric = self.settings.cops_format == 2
        name = self.network.operator_numeric if numeric else self.profile.operator
        act = "" if self.profile.cops_act is None else f",{self.profile.cops_act}"
        return [f'+COPS: 0,{self.settings.cops_format},"{name}"{act}']

    def _operators(self, command: Command) -> list[str]:
        act = "" if self.profile.cops_act is None else f",{self.profile.cops_act}"
        name, numeric = self.profile.operator, self.network.operator_numeric
        return [f'+COPS: (2,"{name}","{name}","{numeric}"{act}),,(0-4),(0-2)']

    def _set_cops(self, command: Command) -> None:
        if int_arg(command.arg(0), (0, 3)) == 3:
            self.settings.cops_format = int_arg(command.arg(1), (0, 1, 2))

    def _set_clock(self, command: Command) -> None:
        text = string_arg(command.arg(0))
        try:
            stamp = datetime.datetime.strptime(text[:17], CLOCK_FORMAT)
            zone = datetime.timedelta(minutes=15 * int(text[17:] or "0"))
        except ValueError:
            raise AtError("CME", 50) from None
        moment = stamp.replace(tzinfo=datetime.timezone(zone))
        self.network.clock_offset = moment - datetime.datetime.now(datetime.UTC)
        self.network.clock_zone = moment.tzinfo

    def _ussd(self, command: Command) -> None:
        if not 1 <= len(command.args) <= 3:
            raise self.unknown()
        n = int_arg(command.arg(0), (0, 1, 2))
        if n == 2:  # cancel the session
            self.device.cancel_ussd()
            return
        self.settings.cusd = n
        if command.arg(1) is not None:
            string_arg(command.arg(1))
            int_arg(command.arg(2) or "15", range(256))
            self.device.gate(Need.SIM)
            if not self.network.registered:
                raise AtError("CME", 30)
            self.device.start_ussd()
