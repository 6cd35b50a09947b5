"""Output faults of the simulated modem: URCs at chosen byte positions, garbage, chunking.

Every byte the engine emits is tagged with an :class:`~hil.engine.Out` kind;
:class:`UrcInjector` uses the tags to place a URC exactly where docs/modems.md §5 says
real modems put them: before the echo of the next command, between echo and reply, inside
a reply before its final result, after OK, around the ``> `` prompt, and between the
echoed Ctrl-Z and the send result. :class:`RandomPacer` cuts output into 1-64 byte chunks
with 0-20 ms gaps (§1: "replay with random chunking").
"""

from __future__ import annotations

import enum
import random

from hil.engine import Out

__all__ = ["RandomPacer", "UrcInjector", "UrcPosition", "garbage"]


class UrcPosition(enum.Enum):
    """Where an injected URC goes, relative to the next output of the matching kind."""

    NOW = "now"  # at once, whatever the modem is doing
    BEFORE_ECHO = "before-echo"  # before the echo of the next received bytes
    BEFORE_REPLY = "before-reply"  # after the echo, before the next reply
    BEFORE_FINAL = "before-final"  # inside the next reply, between info lines and OK
    AFTER_FINAL = "after-final"  # right after the next final result (OK, +CMGS ... OK)
    BEFORE_PROMPT = "before-prompt"  # before the "\r\n> " of AT+CMGS
    AFTER_PROMPT = "after-prompt"  # immediately after the prompt bytes
    BEFORE_RESULT = "before-result"  # between the echoed Ctrl-Z and the send result


_BEFORE, _INSIDE, _AFTER = "before", "inside", "after"
_FINALS = (Out.RESPONSE, Out.SEND_RESULT)
_PLACES: dict[UrcPosition, tuple[tuple[Out, ...], str]] = {
    UrcPosition.BEFORE_ECHO: ((Out.ECHO,), _BEFORE),
    UrcPosition.BEFORE_REPLY: ((Out.RESPONSE,), _BEFORE),
    UrcPosition.BEFORE_FINAL: (_FINALS, _INSIDE),
    UrcPosition.AFTER_FINAL: (_FINALS, _AFTER),
    UrcPosition.BEFORE_PROMPT: ((Out.PROMPT,), _BEFORE),
    UrcPosition.AFTER_PROMPT: ((Out.PROMPT,), _AFTER),
    UrcPosition.BEFORE_RESULT: ((Out.SEND_RESULT,), _BEFORE),
}


class UrcInjector:
    """URCs waiting for their position; each is placed once, in the order injected."""

    def __init__(self) -> None:
        self._pending: list[tuple[UrcPosition, bytes]] = []

    def add(self, position: UrcPosition, data: bytes) -> None:
        if position is UrcPosition.NOW:
            raise ValueError("a URC for now is written at once, not queued")
        self._pending.append((position, data))

    def clear(self) -> None:
        self._pending.clear()

    def shape(self, kind: Out, data: bytes) -> bytes:
        """``data`` with the pending URCs that belong around or inside it."""
        if not self._pending:
            return data
        before: list[bytes] = []
        inside: list[bytes] = []
        after: list[bytes] = []
        keep: list[tuple[UrcPosition, bytes]] = []
        for position, urc in self._pending:
            kinds, where = _PLACES[position]
            if kind not in kinds:
                keep.append((position, urc))
            else:
                {_BEFORE: before, _INSIDE: inside, _AFTER: after}[where].append(urc)
        self._pending = keep
        if inside:
            # The final result is the last framed line: "\r\n<final>\r\n".
            split = max(0, data.rfind(b"\r\n", 0, len(data) - 2))
            data = data[:split] + b"".join(inside) + data[split:]
        return b"".join(before) + data + b"".join(after)


class RandomPacer:
    """Chunk sizes 1..``max_chunk`` bytes and gaps 0..``max_gap`` s from a seeded RNG."""

    def __init__(self, rng: random.Random, max_chunk: int = 64, max_gap: float = 0.020) -> None:
        if max_chunk < 1 or max_gap < 0:
            raise ValueError("max_chunk >= 1 and max_gap >= 0")
        self._rng = rng
        self.max_chunk = max_chunk
        self.max_gap = max_gap

    def chunk(self) -> int:
        return self._rng.randint(1, self.max_chunk)

    def gap(self) -> float:
        return self._rng.uniform(0.0, self.max_gap)


def garbage(rng: random.Random, length: int) -> bytes:
    """Line noise: random bytes without CR and LF, so that it never completes a line of
    its own and only corrupts the line it lands in (as a UART glitch does)."""
    if length < 1:
        raise ValueError("length >= 1")
    allowed = [b for b in range(256) if b not in (0x0A, 0x0D)]
    return bytes(rng.choice(allowed) for _ in range(length))
