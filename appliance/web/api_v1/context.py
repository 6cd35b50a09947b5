"""What the JSON API needs from the running service; tests build one with fakes."""

from __future__ import annotations

import importlib.metadata
import time
from dataclasses import dataclass, field
from typing import Callable

from ...store.inbox import Inbox
from ..http_api import HttpApiContext


def installed_version() -> str:
    try:
        return importlib.metadata.version("sms-appliance")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class ApiV1Context:
    http: HttpApiContext                     # the queue, authenticator, connector and gateways both APIs share
    inbox: Inbox
    version: str = field(default_factory=installed_version)
    started_at: float = field(default_factory=time.monotonic)
    clock: Callable[[], float] = time.time   # wall-clock time for the store's time stamps
    uptime_clock: Callable[[], float] = time.monotonic
