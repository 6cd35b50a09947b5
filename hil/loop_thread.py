"""An asyncio event loop on a thread of its own, driven from the caller's thread.

The service runs its loop in the main thread. Tests and tools that need the main thread
for themselves (a script that waits for what a driver did, a rig of a router and its
modems) run the same components on a loop in a thread: :meth:`LoopThread.call` runs a
function there and hands back its result, :meth:`LoopThread.run` a coroutine.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from appliance.control.server_control import on_loop

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """``loop`` runs on a daemon thread from :meth:`start` to :meth:`stop`."""

    def __init__(self, name: str = "loop") -> None:
        self._runner = asyncio.Runner()  # its close() ends what is left on the loop, as asyncio.run does
        self.loop = self._runner.get_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)

    def start(self) -> LoopThread:
        self._thread.start()
        return self

    def call(self, function: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """``function(*args)`` on the loop; its result, or what it raised, comes back."""
        return on_loop(self.loop, function, *args, timeout=timeout)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``coroutine`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop and its thread, cancel the tasks still on it, close it."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
        self._runner.close()
