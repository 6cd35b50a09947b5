"""What a schema library costs the appliance: the memory and time of importing it and
declaring one table (a [[modem]] of the config file), and the time to check one table.

Each library runs in a fresh interpreter, five times; the best run counts. A library
that is not installed is skipped (`make bench-schemas` installs the contenders). Why the
appliance declares its schemas with msgspec is in appliance/config/schema.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

RUNS = 5
CHECKS = 20_000

# what the appliance imports anyway is imported before the baseline is taken
PRELUDE = r'''
import dataclasses, json, re, time, tomllib, typing
def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
RAW = {"name": "GSM", "port": "/dev/ttyUSB0", "baudrate": 115200, "model": "auto", "pin": "0123",
       "send_limit_day": 100, "delivery_reports": True}
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
before, started = rss_kib(), time.perf_counter()
'''

CONTENDERS = {
    "msgspec": r'''
from typing import Annotated, Literal
import msgspec
class Modem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    port: Annotated[str, msgspec.Meta(min_length=1)]
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 115200
    model: Literal["auto", "sim800", "sim7600"] = "auto"
    pin: Annotated[str, msgspec.Meta(pattern="^[0-9]{4,8}$")] | None = None
    send_limit_day: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    delivery_reports: bool = True
msgspec.json.schema(Modem)
def check(): return msgspec.convert(RAW, Modem)
''',
    "pydantic": r'''
from typing import Annotated, Literal
import pydantic
class Modem(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", strict=True)
    name: Annotated[str, pydantic.Field(min_length=1)]
    port: Annotated[str, pydantic.Field(min_length=1)]
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 115200
    model: Literal["auto", "sim800", "sim7600"] = "auto"
    pin: Annotated[str, pydantic.Field(pattern="^[0-9]{4,8}$")] | None = None
    send_limit_day: Annotated[int, pydantic.Field(ge=1, le=10_000_000)] | None = None
    delivery_reports: bool = True
Modem.model_json_schema()
def check(): return Modem.model_validate(RAW)
''',
    "cattrs": r'''
import attrs, cattrs
from attrs import validators as v
@attrs.frozen
class Modem:
    name: str = attrs.field(validator=v.min_len(1))
    port: str = attrs.field(validator=v.min_len(1))
    baudrate: int = attrs.field(default=115200, validator=v.in_(BAUDRATES))
    model: str = attrs.field(default="auto", validator=v.in_(("auto", "sim800", "sim7600")))
    pin: str | None = attrs.field(default=None, validator=v.optional(v.matches_re("^[0-9]{4,8}$")))
    send_limit_day: int | None = attrs.field(default=None, validator=v.optional([v.ge(1), v.le(10_000_000)]))
    delivery_reports: bool = True
converter = cattrs.Converter(forbid_extra_keys=True)
def check(): return converter.structure(RAW, Modem)
''',
    "marshmallow": r'''
import marshmallow
from marshmallow import fields, validate
class Modem(marshmallow.Schema):
    class Meta:
        unknown = marshmallow.RAISE
    name = fields.String(required=True, validate=validate.Length(min=1))
    port = fields.String(required=True, validate=validate.Length(min=1))
    baudrate = fields.Integer(strict=True, load_default=115200, validate=validate.OneOf(BAUDRATES))
    model = fields.String(load_default="auto", validate=validate.OneOf(["auto", "sim800", "sim7600"]))
    pin = fields.String(load_default=None, allow_none=True, validate=validate.Regexp("^[0-9]{4,8}$"))
    send_limit_day = fields.Integer(strict=True, load_default=None, allow_none=True,
                                    validate=validate.Range(1, 10_000_000))
    delivery_reports = fields.Boolean(load_default=True)
schema = Modem()
def check(): return schema.load(RAW)
''',
}

MEASURE = r'''
declared, after = time.perf_counter(), rss_kib()
started_checks = time.perf_counter()
for _ in range(CHECKS):
    check()
print(json.dumps({"import_ms": (declared - started) * 1000, "rss_mib": (after - before) / 1024,
                  "check_us": (time.perf_counter() - started_checks) / CHECKS * 1e6}))
'''


def measure(code: str) -> dict[str, Any] | None:
    runs = []
    for _ in range(RUNS):
        program = f"CHECKS = {CHECKS}\n{PRELUDE}{code}{MEASURE}"
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return None if "ModuleNotFoundError" in done.stderr else {"error": done.stderr.strip()[-200:]}
        runs.append(json.loads(done.stdout))
    return {key: min(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    print(time.strftime("%Y-%m-%d %H:%M %Z"), f"best of {RUNS}")
    print(f"{'library':12s} {'import+declare':>15s} {'RSS':>10s} {'check one table':>16s}")
    for name, code in CONTENDERS.items():
        result = measure(code)
        if result is None:
            print(f"{name:12s} not installed")
        elif "error" in result:
            print(f"{name:12s} failed: {result['error']}")
        else:
            print(f"{name:12s} {result['import_ms']:12.1f} ms {result['rss_mib']:6.1f} MiB "
                  f"{result['check_us']:13.2f} µs")


if __name__ == "__main__":
    main()
