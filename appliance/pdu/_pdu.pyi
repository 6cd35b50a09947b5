# Type stub for the C extension appliance.pdu._pdu (see _pdu.c; the public
# names are re-exported by appliance.pdu).
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from typing_extensions import Buffer

class _Record:
    _fields: ClassVar[tuple[str, ...]]
    __match_args__: ClassVar[tuple[str, ...]]
    def _replace(self, **changes: Any) -> Any: ...

class Part(_Record):
    pdu: str
    tpdu_length: int
    def __init__(self, pdu: str, tpdu_length: int) -> None: ...

class Concat(_Record):
    reference: int
    total: int
    sequence: int
    def __init__(self, reference: int, total: int, sequence: int) -> None: ...

class Count(_Record):
    parts: int
    encoding: str
    per_part: int
    remaining: int
    locking_shift: str | None
    single_shift: str | None
    def __init__(self, parts: int, encoding: str, per_part: int, remaining: int,
                 locking_shift: str | None = ..., single_shift: str | None = ...) -> None: ...

class Mwi(_Record):
    kind: str
    active: bool
    store: bool
    def __init__(self, kind: str, active: bool, store: bool) -> None: ...

class _Decoded(_Record):
    smsc: str | None
    number: str
    text: str | None
    data: bytes
    encoding: str
    concat: Concat | None
    udh: list[tuple[int, bytes]]
    message_class: int | None
    pid: int | None
    dcs: int | None
    toa: int
    mwi: Mwi | None

class Deliver(_Decoded):
    timestamp: datetime
    reply_path: bool
    status_report_indication: bool
    more_messages: bool
    repairs: tuple[str, ...]

class Submit(_Decoded):
    reference: int
    validity: timedelta | datetime | None
    status_report_requested: bool
    reject_duplicates: bool
    reply_path: bool
    repairs: tuple[str, ...]

class StatusReport(_Decoded):
    reference: int
    status: int
    timestamp: datetime
    discharge_time: datetime
    repairs: tuple[str, ...]

LANGUAGES: dict[str, int]
LOCKING_SHIFT_LANGUAGES: tuple[int, ...]

def decode(pdu: str | Buffer, *, smsc: bool = True, strict: bool = True) -> Deliver | Submit | StatusReport: ...
def encode_submit(
    number: str,
    text: str | Buffer,
    *,
    smsc: str | None = None,
    encoding: str = "auto",
    status_report: bool = False,
    validity: timedelta | datetime | None = None,
    reference: int = 0,
    concat_reference: int | None = None,
    message_class: int | None = None,
    reject_duplicates: bool = False,
    national_languages: Iterable[str | int] | str = (),
) -> list[Part]: ...
def encode_deliver(
    number: str,
    text: str | Buffer,
    *,
    smsc: str | None = None,
    timestamp: datetime,
    encoding: str = "auto",
    concat_reference: int | None = None,
    message_class: int | None = None,
    national_languages: Iterable[str | int] | str = (),
) -> list[Part]: ...
def count(
    text: str | Buffer, *, encoding: str = "auto", national_languages: Iterable[str | int] | str = (),
) -> Count: ...
def build_parts(
    mti: int, first: int, reference: int, address: Buffer, pid: int, dcs: int, vp_or_scts: Buffer,
    smsc: Buffer, encoding: str, locking: int, single: int, concat_reference: int, concat16: bool,
    chunks: list[bytes], /,
) -> list[Part]: ...
def hex_encode(data: Buffer, /) -> str: ...
def hex_decode(text: str | Buffer, /) -> bytes: ...
def gsm7_encode(text: str, locking: int = 0, single: int = 0) -> bytes: ...
def gsm7_encodable(text: str, locking: int = 0, single: int = 0) -> bool: ...
def gsm7_decode(septets: Buffer, locking: int = 0, single: int = 0) -> str: ...
def pack7(septets: Buffer, fill_bits: int = 0) -> bytes: ...
def unpack7(data: Buffer, count: int, fill_bits: int = 0) -> bytes: ...
def _init(error_class: type[ValueError], /) -> None: ...
