"""The tasks one modem runs at a time: held, cancelled together, and never failing unseen.

asyncio keeps only a weak reference to a task, and a task that fails says so only when it
is collected, if ever. A modem's procedures (initialising, a health check, reading a slot,
a sweep) are started here instead: this set holds them until they end, cancels them all
when the modem fails, reboots or stops, and hands a failure to ``on_error`` at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Procedures:
    def __init__(self, loop: asyncio.AbstractEventLoop, name: str,
                 on_error: Callable[[BaseException], None] = lambda error: None) -> None:
        """``name`` is the modem's, for the log."""
        self.loop = loop
        self.name = name
        self.on_error = on_error
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, procedure: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(procedure)
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    @property
    def busy(self) -> bool:
        """One of them is under way: it has more to ask the modem."""
        return any(not task.done() for task in self._tasks)

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("%s: %r failed", self.name, task.get_coro(), exc_info=error)
            self.on_error(error)
