"""The seam the benchmark measures the worker through: what `JobHandler` is handed, never patched.

`ltx_worker.handler.JobHandler(settings, client=..., storage=..., progress_sink=...)` takes its
ComfyUI client, its storage and its progress sink as constructor arguments. The benchmark hands
it instrumented ones and reads what they saw into a `JobTrace` (one per job):

* the client: `timed_client` makes a subclass of the client class the side uses
  (`ltx_worker.comfy.client.ComfyClient`, or `bench.overhead.proposed.ProposedComfyClient`) whose
  public calls `TIMED_CALLS` are timed; ``run_prompt`` also keeps the graph it was given and the
  history entry it returned (ComfyUI's ``execution_*`` timestamps, the cached nodes);
* the storage: `TimedStorage` times each ``put``;
* the progress sink: `JobTrace.on_progress` stamps the first payload of each stage the handler
  reports (``queued``, ComfyUI's node stages, ``upload``, ``done``; `ltx_worker.progress`).

Nothing in ``ltx_worker`` is replaced or wrapped in place, so a refactor that moves a function
between modules changes nothing here. A refactor that renames one of the client's public calls
or stops reporting a stage is caught, not silently measured as zero: `timed_client` refuses a
client class that lacks a timed call, and `JobTrace.require` refuses a job in which a call or a
stage the measurement needs was not seen (tests/test_bench_overhead.py runs both).

All instants are epoch seconds (``time.time()``, the clock ComfyUI stamps its messages with);
all durations are seconds measured with ``time.perf_counter()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The client's public calls the benchmark times (ltx_worker/comfy/client.py and run.py).
TIMED_CALLS = ("is_ready", "run_prompt", "submit", "history", "download", "forget")
#: What one worker job must show for its measurement to mean anything (calls, then stages).
REQUIRED_CALLS = ("run_prompt", "submit", "download", "forget")
REQUIRED_STAGES = ("queued", "upload", "done")


class SeamError(RuntimeError):
    """The worker no longer shows the benchmark a call or a stage it measures (module doc)."""


@dataclass(frozen=True)
class Call:
    """One timed call: `name`, its start (epoch s) and its duration (s)."""

    name: str
    start: float
    seconds: float

    @property
    def end(self) -> float:
        """Epoch seconds when the call returned (or raised)."""
        return self.start + self.seconds


@dataclass
class JobTrace:
    """What the seam saw during one job (instants in epoch s, durations in s).

    Attributes:
        calls: every timed call, in the order they ended.
        stages: stage name -> epoch s of its first progress payload.
        graph: the API-format prompt the handler ran (``run_prompt``'s argument).
        entry: the history entry ``run_prompt`` returned.
    """

    calls: list[Call] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    graph: dict | None = None
    entry: dict | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        """Forget the previous job."""
        with self._lock:
            self.calls, self.stages, self.graph, self.entry = [], {}, None, None

    @contextmanager
    def timing(self, name: str) -> Iterator[None]:
        """Time the ``with`` body as a call named `name`."""
        start, t0 = time.time(), time.perf_counter()
        try:
            yield
        finally:
            call = Call(name, start, time.perf_counter() - t0)
            with self._lock:
                self.calls.append(call)

    def on_progress(self, job: dict, payload: dict) -> None:
        """The handler's ``progress_sink``: stamps the first payload of each stage."""
        now = time.time()
        with self._lock:
            self.stages.setdefault(str(payload.get("stage")), now)

    def all(self, name: str) -> list[Call]:
        """The calls named `name`, by start."""
        return sorted((c for c in self.calls if c.name == name), key=lambda c: c.start)

    def first(self, name: str) -> Call | None:
        """The earliest call named `name`, or None."""
        found = self.all(name)
        return found[0] if found else None

    def require(self, what: str) -> None:
        """Raise `SeamError` naming what `what` (e.g. "worker run 3") did not show.

        A job needs ``run_prompt``, ``submit``, ``download`` and ``forget`` calls, the ``queued``,
        ``upload`` and ``done`` stages and a history entry with ComfyUI's ``execution_start``
        and ``execution_success`` timestamps.
        """
        missing = [f"call {n}" for n in REQUIRED_CALLS if self.first(n) is None]
        missing += [f"stage {s}" for s in REQUIRED_STAGES if s not in self.stages]
        kinds = {kind for kind, _ in ((self.entry or {}).get("status") or {}).get("messages", [])}
        missing += [f"history {k}" for k in ("execution_start", "execution_success") if k not in kinds]
        if missing:
            raise SeamError(f"{what}: the worker showed no {', '.join(missing)}; the handler's "
                            "client, storage or progress stages changed (bench/overhead/seam.py)")


class TimedClientMixin:
    """The timed public calls of a ComfyUI client class (put first in the bases; see `timed_client`)."""

    trace: JobTrace

    def is_ready(self, *args: Any, **kwargs: Any) -> bool:
        """``GET /system_stats``, timed."""
        with self.trace.timing("is_ready"):
            return super().is_ready(*args, **kwargs)

    def run_prompt(self, graph: dict, *args: Any, **kwargs: Any) -> tuple[str, dict]:
        """The whole prompt (websocket, ``POST /prompt``, the wait, ``/history``), timed; keeps
        the graph and the history entry in the trace."""
        self.trace.graph = graph
        with self.trace.timing("run_prompt"):
            prompt_id, entry = super().run_prompt(graph, *args, **kwargs)
        self.trace.entry = entry
        return prompt_id, entry

    def submit(self, *args: Any, **kwargs: Any) -> str:
        """``POST /prompt``, timed."""
        with self.trace.timing("submit"):
            return super().submit(*args, **kwargs)

    def history(self, *args: Any, **kwargs: Any) -> dict | None:
        """``GET /history/<prompt_id>``, timed (polls during the prompt included)."""
        with self.trace.timing("history"):
            return super().history(*args, **kwargs)

    def download(self, *args: Any, **kwargs: Any) -> Path:
        """The MP4 out of ComfyUI (``GET /view``, or a move for the proposed client), timed."""
        with self.trace.timing("download"):
            return super().download(*args, **kwargs)

    def forget(self, *args: Any, **kwargs: Any) -> None:
        """``POST /history`` delete (the clean-up's request), timed."""
        with self.trace.timing("forget"):
            return super().forget(*args, **kwargs)


def timed_client(client_class: type, *args: Any, trace: JobTrace, **kwargs: Any) -> Any:
    """An instance of `client_class` (built with `args`/`kwargs`) whose `TIMED_CALLS` report
    to `trace`.

    Raises:
        SeamError: `client_class` lacks one of `TIMED_CALLS` (renamed or removed).
    """
    missing = [n for n in TIMED_CALLS if not callable(getattr(client_class, n, None))]
    if missing:
        raise SeamError(f"{client_class.__name__} has no {', '.join(missing)}: the benchmark times "
                        "these calls (bench/overhead/seam.py TIMED_CALLS)")
    timed = type(f"Timed{client_class.__name__}", (TimedClientMixin, client_class), {})
    client = timed(*args, **kwargs)
    client.trace = trace
    return client


class TimedStorage:
    """A storage (``ltx_worker.delivery.storage.Storage``) whose ``put`` calls are timed into `trace`."""

    def __init__(self, inner: Any, trace: JobTrace) -> None:
        self.inner = inner
        self.trace = trace

    def put(self, path: Path, name: str, content_type: str) -> Any:
        """The inner storage's ``put``, timed as "put"."""
        with self.trace.timing("put"):
            return self.inner.put(path, name, content_type)
