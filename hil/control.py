"""Fault commands for a running simulator, one a line (``python -m hil.simulator --commands``).

Lets a person or a shell script drive the faults of :class:`~hil.simulator.SimulatedModem`
against a driver under test without writing Python: ``echo "reboot 2" >&3``. Each line is
answered on the error stream (``ok`` or ``error: ...``), keeping stdout for the pty path.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from hil.simulator import SimulatedModem

__all__ = ["CONTROL_HELP", "run_command", "serve_commands"]

CONTROL_HELP = (
    "reboot [BOOT_DELAY [SIM_BUSY]] | silent on|off | garbage [LENGTH] | fail-send CODE | "
    "hang-send | report STATUS | store-reports | network lost|searching|back | lte-only on|off | "
    "smsc NUMBER|none | fill [STORAGE] | "
    "vanish [SECONDS] | reappear | chunked on|off | urc TEXT | deliver NUMBER TEXT | "
    "deliver-pdu HEX | urcs lost|back"
)


def _switch(word: str) -> bool:
    if word not in ("on", "off"):
        raise ValueError("on or off")
    return word == "on"


def _network(modem: SimulatedModem, state: str) -> None:
    if state == "back":
        modem.regain_network()
    else:
        modem.lose_network({"lost": 0, "searching": 2}[state])


COMMANDS: dict[str, Callable[[SimulatedModem, list[str]], object]] = {
    "reboot": lambda m, a: m.reboot(
        boot_delay=float(a[0]) if a else 0.0, sim_busy=float(a[1]) if len(a) > 1 else None
    ),
    "silent": lambda m, a: m.set_silent(_switch(a[0])),
    "garbage": lambda m, a: m.inject_garbage(length=int(a[0]) if a else 16),
    "fail-send": lambda m, a: m.fail_next_send(int(a[0])),
    "hang-send": lambda m, a: m.hang_next_send(),
    "report": lambda m, a: m.set_next_report(int(a[0], 0)),
    "store-reports": lambda m, a: m.store_reports(),
    "network": lambda m, a: _network(m, a[0]),
    "lte-only": lambda m, a: m.set_lte_only(_switch(a[0])),
    "smsc": lambda m, a: m.set_smsc(None if a[0] == "none" else a[0]),
    "fill": lambda m, a: m.fill_storage(a[0] if a else None),
    "vanish": lambda m, a: m.vanish(float(a[0]) if a else None),
    "reappear": lambda m, a: m.reappear(),
    "chunked": lambda m, a: m.set_chunked(_switch(a[0])),
    "urc": lambda m, a: m.inject_urc(" ".join(a)),
    "deliver": lambda m, a: m.deliver_sms(a[0], " ".join(a[1:])),
    "deliver-pdu": lambda m, a: m.deliver_pdu(a[0]),
    "urcs": lambda m, a: m.lose_urcs({"lost": True, "back": False}[a[0]]),
}


def run_command(modem: SimulatedModem, line: str) -> None:
    """Run one command line; ValueError (with a reason) if it is not one."""
    words = shlex.split(line)
    if not words:
        return
    command = COMMANDS.get(words[0])
    if command is None:
        raise ValueError(f"unknown command {words[0]!r}; commands: {CONTROL_HELP}")
    try:
        command(modem, words[1:])
    except (IndexError, KeyError):
        raise ValueError(f"bad arguments for {words[0]!r}; commands: {CONTROL_HELP}") from None


def serve_commands(modem: SimulatedModem, lines: TextIO, answers: TextIO) -> None:
    """Run commands from ``lines`` until EOF, answering each on ``answers``."""
    for line in lines:
        try:
            run_command(modem, line)
        except (ValueError, OSError) as error:
            print(f"error: {error}", file=answers, flush=True)
        else:
            print("ok", file=answers, flush=True)
