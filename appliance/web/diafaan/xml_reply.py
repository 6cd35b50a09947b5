"""XML replies of the /http API, written so that any text a stranger put in an SMS stays text.

ElementTree builds the tree; this module writes it, because ElementTree writes control
characters that XML 1.0 cannot carry (the document would not parse) and leaves a carriage
return bare (a parser reads it back as a line feed). Here every character XML 1.0 forbids
becomes U+FFFD, the five markup characters become entities, and CR (in attributes also
tab and LF) a character reference: what a client parses is what the SMS said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element

# what XML 1.0 allows: tab, LF, CR and U+0020 on, without surrogates, U+FFFE and U+FFFF
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#13;"}
_ATTRIBUTE_ESCAPES = {**_TEXT_ESCAPES, "\t": "&#9;", "\n": "&#10;"}
_TEXT_SPECIAL = re.compile("[&<>\"'\r]")
_ATTRIBUTE_SPECIAL = re.compile("[&<>\"'\r\t\n]")


@dataclass(frozen=True)
class XmlReply:
    """A command's reply that is an XML document rather than text lines."""

    body: bytes
    content_type: str = "text/xml; charset=utf-8"


def _escape(value: str, special: re.Pattern, escapes: dict[str, str]) -> str:
    return special.sub(lambda match: escapes[match.group()], _NOT_XML.sub("\ufffd", value))


def _write(element: Element, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    attributes = "".join(f' {name}="{_escape(str(value), _ATTRIBUTE_SPECIAL, _ATTRIBUTE_ESCAPES)}"'
                         for name, value in element.attrib.items())
    children = list(element)
    if children:
        lines.append(f"{indent}<{element.tag}{attributes}>")
        for child in children:
            _write(child, depth + 1, lines)
        lines.append(f"{indent}</{element.tag}>")
    elif element.text:
        text = _escape(element.text, _TEXT_SPECIAL, _TEXT_ESCAPES)
        lines.append(f"{indent}<{element.tag}{attributes}>{text}</{element.tag}>")
    else:
        lines.append(f"{indent}<{element.tag}{attributes} />")


def document(root: Element) -> XmlReply:
    """The whole document, UTF-8, one element a line. Tag and attribute names are the
    caller's constants; only texts and attribute values are escaped."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    _write(root, 0, lines)
    return XmlReply(("\r\n".join(lines) + "\r\n").encode("utf-8"))


def child(parent: Element, tag: str, text: object = None, **attributes: object) -> Element:
    """Append ``<tag>text</tag>``; None is an empty element, a bool is 1 or 0 (as Diafaan writes)."""
    element = Element(tag, {name: str(value) for name, value in attributes.items()})
    if isinstance(text, bool):
        text = int(text)
    if text is not None:
        element.text = str(text)
    parent.append(element)
    return element


def local_time(timestamp: float | None) -> str | None:
    """Diafaan's time format, yyyyMMddHHmmss, in the appliance's local time."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp).strftime("%Y%m%d%H%M%S")


def local_date_time(timestamp: float | None) -> str | None:
    """yyyy-MM-dd HH:mm:ss in the appliance's local time: a form every date parser reads
    (.NET's ``DateTime.Parse`` does not read Diafaan's yyyyMMddHHmmss)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
