"""Parsing of AT command lines (ITU-T V.250 syntax) for the simulated modem.

A command line is ``AT`` followed by any number of commands:

* basic commands, a letter (or ``&`` and a letter) with an optional number, which may
  follow each other directly: ``ATE0V1``, ``AT&F``, ``ATZ``; ``ATD...`` takes the rest of
  the line, ``ATS<n>=<v>`` / ``ATS<n>?`` address S-registers;
* extended commands, ``+NAME`` (or ``^``/``$``/``#``/``%``/``*`` vendor prefixes) running up
  to the next ``;`` outside double quotes: ``AT+CMGF=0;+CMEE=1``.

Every extended command has one of four forms: execute (``AT+CSQ``), read (``AT+CMGF?``),
test (``AT+CMGF=?``) and set (``AT+CMGF=0``). Names are case-insensitive; the text inside
double quotes keeps its case. Spaces outside quotes are ignored, as real modems do.

This module knows nothing about what the commands mean; see :mod:`hil.at_commands`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "AtSyntaxError",
    "Command",
    "Form",
    "command_body",
    "parse_body",
    "parse_line",
    "split_args",
    "unquote",
]

EXTENDED_PREFIXES = "+^$#%*"


class AtSyntaxError(ValueError):
    """The command line is not valid V.250 syntax (a modem answers ERROR)."""


class Form(enum.Enum):
    EXEC = "exec"  # AT+CSQ, ATZ, ATE0
    READ = "read"  # AT+CMGF?
    TEST = "test"  # AT+CMGF=?
    SET = "set"  # AT+CMGF=0


@dataclass(frozen=True)
class Command:
    """One command of a command line.

    ``name`` is upper case: ``"+CMGF"``, ``"E"``, ``"&F"``, ``"S0"``, ``"D"``.
    ``args`` are the raw argument tokens, stripped, quotes kept (``'"SM"'``), ``None`` for an
    omitted one (``AT+CNMI=2,,0``). A basic command's number is its only argument
    (``ATE0`` → ``("0",)``, ``ATE`` → ``()``); ``ATD`` gets the rest of the line.
    ``text`` is the command as written (without ``AT`` and separators).
    """

    name: str
    form: Form
    args: tuple[str | None, ...] = ()
    text: str = ""

    def arg(self, index: int) -> str | None:
        """The raw argument ``index``, or ``None`` when absent or omitted."""
        return self.args[index] if index < len(self.args) else None


def command_body(line: str) -> str | None:
    """The text after the ``AT`` prefix of a received line, or ``None`` if it has none.

    Like a real modem, anything before the first ``AT`` (line noise) is skipped.
    """
    index = line.upper().find("AT")
    if index < 0:
        return None
    return line[index + 2 :]


def parse_line(line: str) -> list[Command]:
    """Parse a whole command line (``AT...``); raise :class:`AtSyntaxError` without ``AT``."""
    body = command_body(line)
    if body is None:
        raise AtSyntaxError(f"no AT prefix in {line!r}")
    return parse_body(body)


def _upper_outside_quotes(text: str) -> str:
    out: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        out.append(ch if quoted else ch.upper())
    return "".join(out)


def _strip_spaces_outside_quotes(text: str) -> str:
    out: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if quoted or ch not in " \t":
            out.append(ch)
    return "".join(out)


def _extended_end(body: str, start: int) -> int:
    """Index of the ``;`` ending the extended command at ``start`` (or ``len(body)``)."""
    quoted = False
    for i in range(start, len(body)):
        ch = body[i]
        if ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            return i
    if quoted:
        raise AtSyntaxError("unterminated string")
    return len(body)


def _parse_extended(text: str) -> Command:
    compact = _upper_outside_quotes(_strip_spaces_outside_quotes(text))
    i = 1
    while i < len(compact) and compact[i] not in "=?":
        i += 1
    name = compact[:i]
    if len(name) < 2 or not all(c.isalnum() or c in "_-" for c in name[1:]):
        raise AtSyntaxError(f"bad command name {text!r}")
    rest = compact[i:]
    if rest == "":
        return Command(name, Form.EXEC, (), text)
    if rest == "?":
        return Command(name, Form.READ, (), text)
    if rest == "=?":
        return Command(name, Form.TEST, (), text)
    if rest.startswith("="):
        # Argument tokens keep their case inside quotes only; re-split the original text
        # (spaces removed) so that e.g. a quoted number keeps every character.
        raw = _strip_spaces_outside_quotes(text)
        raw_args = raw[raw.index("=") + 1 :]
        return Command(name, Form.SET, split_args(raw_args), text)
    raise AtSyntaxError(f"bad command syntax {text!r}")


def split_args(text: str) -> tuple[str | None, ...]:
    """Split an argument list on commas outside quotes.

    ``'"+4912",145'`` → ``('"+4912"', '145')``; ``'2,,0'`` → ``('2', None, '0')``;
    ``''`` → ``()``. Unquoted tokens are upper-cased (``hex`` digits, storage names).
    """
    if text == "":
        return ()
    args: list[str | None] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == "," and not quoted:
            args.append(_finish_arg(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise AtSyntaxError("unterminated string")
    args.append(_finish_arg(current))
    return tuple(args)


def _finish_arg(chars: list[str]) -> str | None:
    token = "".join(chars).strip()
    if token == "":
        return None
    if token.startswith('"'):
        if not token.endswith('"') or len(token) < 2 or token.count('"') != 2:
            raise AtSyntaxError(f"bad string argument {token!r}")
        return token
    if '"' in token:
        raise AtSyntaxError(f"bad argument {token!r}")
    return token.upper()


def unquote(token: str | None) -> str | None:
    """``'"SM"'`` → ``'SM'``; unquoted tokens and ``None`` come back unchanged."""
    if token is not None and len(token) >= 2 and token[0] == token[-1] == '"':
        return token[1:-1]
    return token


def parse_body(body: str) -> list[Command]:
    """Parse the part of a command line after ``AT`` into its commands."""
    commands: list[Command] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch in " \t;":
            i += 1
            continue
        if ch in EXTENDED_PREFIXES:
            end = _extended_end(body, i)
            commands.append(_parse_extended(body[i:end]))
            i = end + 1
            continue
        up = ch.upper()
        if up == "D":  # dial: the rest of the line is the dial string
            commands.append(Command("D", Form.EXEC, (body[i + 1 :].strip(),), body[i:]))
            break
        start = i
        if up == "&":
            i += 1
            if i >= n or not body[i].isalpha():
                raise AtSyntaxError("'&' without a command letter")
            name = "&" + body[i].upper()
        elif up.isalpha():
            name = up
        else:
            raise AtSyntaxError(f"unexpected character {ch!r}")
        i += 1
        if name == "S":  # S-register: S<n>, then ? or =<value>
            j = i
            while j < n and body[j].isdigit():
                j += 1
            if j == i:
                raise AtSyntaxError("S without a register number")
            name = "S" + body[i:j]
            i = j
            if i < n and body[i] == "?":
                commands.append(Command(name, Form.READ, (), body[start : i + 1]))
                i += 1
            elif i < n and body[i] == "=":
                j = i + 1
                while j < n and body[j].isdigit():
                    j += 1
                commands.append(Command(name, Form.SET, (body[i + 1 : j],), body[start:j]))
                i = j
            else:
                commands.append(Command(name, Form.EXEC, (), body[start:i]))
            continue
        j = i
        while j < n and body[j].isdigit():
            j += 1
        args = (body[i:j],) if j > i else ()
        commands.append(Command(name, Form.EXEC, args, body[start:j]))
        i = j
    return commands
