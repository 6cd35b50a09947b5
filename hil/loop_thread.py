"""An asyncio event loop on a thread of its own, driven from the caller's thread.

The service runs its loop in the main thread. Tests and tools that need the main thread
for themselves (a script that waits for what a driver did, a rig of a router and its
modems, a simulated modem talked to with pyserial) run the same components on a loop in a
thread: :meth:`LoopThread.call` runs a function there and hands back its result,
:meth:`LoopThread.run` a coroutine.
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
    """``loop`` runs on a daemon thread from :meth:`start` to :meth:`stop`; it exists from
    the start, so timers may be set on it before it runs."""

    def __init__(self, name: str = "loop") -> None:
        self._runner = asyncio.Runner()  # its close() ends what is left on the loop, as asyncio.run does
        self.loop = self._runner.get_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def start(self) -> LoopThread:
        """Return once the loop runs on its thread."""
        running = threading.Event()
        self.loop.call_soon(running.set)  # the first thing the loop does once it runs
        self._thread.start()
        running.wait()
        return self

    def _serve(self) -> None:
        try:
            self.loop.run_forever()
        finally:
            self._runner.close()  # on the loop's own thread: the tasks left are cancelled there

    def call(self, function: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """``function(*args)`` on the loop; its result, or what it raised, comes back."""
        return on_loop(self.loop, function, *args, timeout=timeout)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``coroutine`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop, cancel the tasks still on it and close it; from another thread,
        return once that is done (from the loop itself, once the current callback returns).
        Idempotent; a loop that never ran is closed at once."""
        if not self._thread.is_alive():
            if self._thread.ident is None:  # never started
                self._runner.close()
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not threading.current_thread():
            self._thread.join()
