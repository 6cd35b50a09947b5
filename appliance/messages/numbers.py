"""Phone numbers as people type them, made into what the network needs."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().]")
_NUMBER = re.compile(r"^\+?[0-9*#]{1,20}$")


def normalize(number: str) -> str:
    """``+44 (0)7700-900 123`` style input to ``+4407700900123``; ValueError says why not.

    Only separators are removed; digits are never added or dropped, so what is sent is
    exactly what the caller wrote.
    """
    compact = _SEPARATORS.sub("", number)
    if not compact:
        raise ValueError("empty number")
    if not _NUMBER.match(compact):
        if len(compact.lstrip("+")) > 20:
            raise ValueError(f"{number!r} is longer than 20 digits")
        raise ValueError(f"{number!r} is not a phone number (digits, optionally a leading +)")
    if not any(c.isdigit() for c in compact):
        raise ValueError(f"{number!r} has no digits")
    return compact
