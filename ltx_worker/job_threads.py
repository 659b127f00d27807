"""The blocking calls of one job, each in a worker thread, and clean-up after the last of them.

A cancelled job's coroutine stops at once, but a thread it started runs on until its call
returns: an input upload in flight, the MP4 being downloaded from ComfyUI or stored. Clean-up run
before that returns would miss the file the thread writes afterwards (issue 23, finding 3:
nothing of a job is written after its clean-up). `JobThreads.run` counts the calls that are
running; `JobThreads.after_last` runs a function once none is.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class JobThreads:
    """The worker threads of one job (see the module docstring). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._after: list[Callable[[], None]] = []

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``await asyncio.to_thread(fn, *args, **kwargs)``, counted while `fn` runs.

        A call the executor never started (the job was cancelled while it waited for a thread)
        is never counted: it never runs.
        """
        def call() -> T:
            with self._lock:
                self._running += 1
            try:
                return fn(*args, **kwargs)
            finally:
                self._ended()

        return await asyncio.to_thread(call)

    def after_last(self, fn: Callable[[], None]) -> bool:
        """Have `fn` run in the last running call's thread as soon as that call returns.

        Returns:
            True when a call is running (`fn` will run later), False when none is (`fn` is not
            run: the caller's own clean-up already came after every write).
        """
        with self._lock:
            if not self._running:
                return False
            self._after.append(fn)
            return True

    def _ended(self) -> None:
        with self._lock:
            self._running -= 1
            todo, self._after = (self._after, []) if not self._running else ([], self._after)
        for fn in todo:
            try:
                fn()
            except Exception:  # noqa: BLE001 - clean-up is best effort; the log says what failed
                log.exception("clean-up after the job's last thread failed")
