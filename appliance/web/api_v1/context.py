"""What the JSON API needs from the running service; tests build one with fakes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ...control.server_status import version as installed_version
from ..diafaan.commands import HttpApiContext


@dataclass
class ApiV1Context:
    http: HttpApiContext                     # the queue, inbox, authenticator, connector and gateways both APIs share
    version: str = field(default_factory=installed_version)
    started_at: float = field(default_factory=time.monotonic)
    clock: Callable[[], float] = time.time   # wall-clock time for the store's time stamps
    uptime_clock: Callable[[], float] = time.monotonic
