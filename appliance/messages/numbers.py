"""Phone numbers as people write them, made into what the network needs.

People write ``+44 (0)7700 900123``, ``0044 7700-900.123`` or ``07700 900123`` for one
phone; the store, the block list and the modem must see one number, ``+447700900123``.
So separators go, the trunk prefix written as ``(0)`` after a country code goes (dialled,
it would make a wrong number), the international prefix ``00`` is written as ``+``, and
a national number (a leading 0) gets the configured country code in place of its 0.
Without a country code a national number stays as written: the modem's network reads it
as the subscriber would dial it.
"""

from __future__ import annotations

import re

MAX_DIGITS = 20
MAX_ALPHANUMERIC = 11          # the septets an alphanumeric TP-OA holds (3GPP TS 23.040)

_TRUNK = re.compile(r"\(\s*0\s*\)")
_SEPARATORS = re.compile(r"[\s\-().]")
_NUMBER = re.compile(rf"^\+?[0-9*#]{{1,{MAX_DIGITS}}}$")
_DIGITS_ONLY = re.compile(r"^[\s\-().+0-9*#]*$")
_ALPHANUMERIC = re.compile(rf"^[A-Za-z0-9 .,\-_&'!?@#+()/:]{{1,{MAX_ALPHANUMERIC}}}$")


def normalize(number: str, country_code: str | None = None) -> str:
    """``+44 (0)7700-900 123`` to ``+447700900123``; ValueError says why it is no number.

    ``country_code`` (digits, without + or 00) is put in place of the leading 0 of a
    national number; without it such a number is kept as written.
    """
    written = number.strip()
    if not written:
        raise ValueError("empty number")
    if written.startswith(("+", "00")):
        # the trunk prefix people write after the country code is never dialled with it
        written = _TRUNK.sub("", written)
    compact = _SEPARATORS.sub("", written)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _NUMBER.match(compact):
        if len(compact.lstrip("+")) > MAX_DIGITS and _NUMBER.match(compact[:MAX_DIGITS]):
            raise ValueError(f"{number!r} is longer than {MAX_DIGITS} digits")
        raise ValueError(f"{number!r} is not a phone number (digits, optionally a leading + or 00; "
                         "spaces, dots, dashes and brackets are allowed between them)")
    if not any(c.isdigit() for c in compact):
        raise ValueError(f"{number!r} has no digits")
    if country_code and compact.startswith("0"):
        compact = f"+{country_code}{compact[1:]}"
        if len(compact) - 1 > MAX_DIGITS:
            raise ValueError(f"{number!r} is longer than {MAX_DIGITS} digits with the country code {country_code}")
    return compact


def sender(value: str, country_code: str | None = None) -> str:
    """A sender id: a phone number (normalised as :func:`normalize` does) or an
    alphanumeric name of up to 11 characters, which is all an SMS can carry as its
    originator. Empty stays empty (the gateway's own number). ValueError says why not."""
    written = value.strip()
    if not written:
        return ""
    if _DIGITS_ONLY.match(written):
        return normalize(written, country_code)
    if not _ALPHANUMERIC.match(written) or not any(c.isalpha() for c in written):
        raise ValueError(f"{value!r} is neither a phone number nor an alphanumeric sender "
                         f"(1 to {MAX_ALPHANUMERIC} ASCII letters, digits, spaces and . , - _ & ' ! ? @ # + ( ) / :, "
                         "with at least one letter)")
    return written

