"""Measurement: one job run turned into its parts (`Run`), from the seam's trace or the reference
client's own record, with ComfyUI's side read from its history entry and logs.

Every duration is in seconds; instants (``*_at``, interval ends) are epoch seconds. ComfyUI's
execution is its history entry's ``execution_start`` -> ``execution_success`` (message
timestamps, ms resolution, the same clock as ``time.time()`` on this machine).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..reference_client import ReferenceRun
from .seam import JobTrace

#: ComfyUI log lines that mean a model was (re)loaded into memory.
MODEL_LOAD_LINES = re.compile(r"Requested to load|loaded completely|loaded partially|model_type ")
#: Node classes that read model files (their outputs must come from the cache on warm runs).
LOADER_CLASSES = re.compile(r"Loader|LoRA")

#: (start, end) epoch seconds of ComfyUI's full garbage collections overlapping [since, until],
#: or None when they are not logged (a server the benchmark did not start).
GcLog = Callable[[float, float], "list[tuple[float, float]] | None"]


@dataclass
class Run:
    """One job run, by one side. Seconds throughout.

    Attributes:
        side: "worker", "reference" or "proposed".
        index: 0 for the first (cold) run, 1.. for the warm rounds.
        wall_s: the whole call, as its caller sees it (the handler awaited, or `ReferenceClient.run`).
        comfy_s: ComfyUI's execution (history ``execution_start`` -> ``execution_success``).
        ready_s: the worker's readiness check before the prompt (``GET /system_stats``).
        connect_s: the websocket opened (reference: the connect; worker: ``run_prompt`` start ->
            ``POST /prompt`` start, which is the connect and the prompt id).
        submit_s: ``POST /prompt`` (ComfyUI validates the graph).
        queue_s: ``POST /prompt`` answered -> ``execution_start`` (ComfyUI picking it up).
        delivery_s: ``execution_success`` -> the client knows the prompt ended (reference:
            ``executing``/null received; worker: its ``GET /history`` after the prompt starts,
            which the client sends as soon as ``executing``/null arrives). ComfyUI's own end of
            the prompt, with its post-prompt pause when it collects garbage first.
        close_s: reference: the websocket close handshake; worker: the rest of ``run_prompt``
            after its last ``/history`` read (its close sends the frame and does not wait).
        history_s: ``GET /history`` after the prompt (polls during it are off the path).
        download_s: the MP4 out of ComfyUI (``GET /view``, written to disk).
        deliver_s: worker: ``upload`` stage -> first storage ``put``: probe (PyAV + sha256) and
            poster (first frame -> JPEG).
        storage_s: worker: the storage ``put`` calls (local storage: nothing is copied).
        cleanup_s: worker: history-entry delete (``forget``) start -> the handler returned (the delete, the
            job's files removed, the return to the caller).
        gc_s: ComfyUI's full garbage collections from ``execution_success`` to the end of the
            run (logged inside ComfyUI by bench/comfy_nodes); None when not logged.
        gc_blocking_s: the part of `gc_s` that overlapped the client's requests to ComfyUI
            after the end of the prompt (close handshake, /history, /view, clean-up).
        gc_download_s: the part of `gc_blocking_s` that overlapped the download.
        cached_loaders: (loader nodes ComfyUI served from its cache, loader nodes in the graph).
        model_loads: model-load lines ComfyUI logged during the run (0 when its log is unknown).
        video_bytes: size of the MP4.
        timings: worker: the result's own ``timings`` (inputs_s, generation_s, upload_s, total_s).
    """

    side: str
    index: int
    wall_s: float = 0.0
    comfy_s: float = 0.0
    ready_s: float = 0.0
    connect_s: float = 0.0
    submit_s: float = 0.0
    queue_s: float = 0.0
    delivery_s: float = 0.0
    close_s: float = 0.0
    history_s: float = 0.0
    download_s: float = 0.0
    deliver_s: float = 0.0
    storage_s: float = 0.0
    cleanup_s: float = 0.0
    gc_s: float | None = None
    gc_blocking_s: float = 0.0
    gc_download_s: float = 0.0
    cached_loaders: tuple[int, int] = (0, 0)
    model_loads: int = 0
    video_bytes: int = 0
    timings: dict = field(default_factory=dict)

    @property
    def added_s(self) -> float:
        """Wall time beyond ComfyUI's own execution."""
        return self.wall_s - self.comfy_s

    @property
    def transfers_s(self) -> float:
        """What a client must do with the result: download, and for the worker probe + poster."""
        return self.download_s + self.deliver_s

    @property
    def pause_s(self) -> float:
        """ComfyUI's pause on the client's path: the delivery of the end of the prompt plus the
        garbage collection the client's requests waited for."""
        return self.delivery_s + self.gc_blocking_s

    @property
    def net_transfers_s(self) -> float:
        """The transfers without the part of ComfyUI's pause the download waited for."""
        return self.transfers_s - self.gc_download_s

    @property
    def rest_s(self) -> float:
        """Added time that is not a transfer (protocol, bookkeeping, clean-up)."""
        return self.added_s - self.transfers_s

    @property
    def own_s(self) -> float:
        """Added time minus transfers minus ComfyUI's pause: what the client itself spends."""
        return self.added_s - self.net_transfers_s - self.pause_s

    @property
    def other_s(self) -> float:
        """Added time no measured part covers (validation, template fill, thread hops)."""
        parts = (self.ready_s + self.connect_s + self.submit_s + self.queue_s + self.delivery_s
                 + self.close_s + self.history_s + self.transfers_s + self.storage_s + self.cleanup_s)
        return self.added_s - parts


def status_times(entry: dict) -> dict[str, float]:
    """``{message type: epoch seconds}`` of a history entry's status messages."""
    out = {}
    for kind, data in (entry.get("status") or {}).get("messages", []):
        if isinstance(data, dict) and "timestamp" in data:
            out[kind] = data["timestamp"] / 1000.0
    return out


def loader_cache(graph: dict, entry: dict) -> tuple[int, int]:
    """(loader nodes of `graph` in the entry's ``execution_cached`` list, loader nodes)."""
    cached: set[str] = set()
    for kind, data in (entry.get("status") or {}).get("messages", []):
        if kind == "execution_cached":
            cached = {str(n) for n in data.get("nodes", [])}
    loaders = {nid for nid, node in graph.items() if LOADER_CLASSES.search(node.get("class_type", ""))}
    return len(loaders & cached), len(loaders)


class LogWatch:
    """Counts the model-load lines ComfyUI writes to its log (`log_path`) between `mark` and
    `count`; counts 0 when the log is unknown."""

    def __init__(self, log_path: Path | None) -> None:
        self.log_path = log_path
        self.offset = 0

    def _text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""

    def mark(self) -> None:
        """Start counting from the log's current end."""
        self.offset = len(self._text())

    def count(self) -> int:
        """Model-load lines since `mark`."""
        return len(MODEL_LOAD_LINES.findall(self._text()[self.offset:]))


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Seconds two (start, end) intervals share."""
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def _gc(run: Run, gc_log: GcLog, success_at: float, end: float,
        requests: list[tuple[float, float]], download: list[tuple[float, float]]) -> None:
    """Fill the run's gc fields from ComfyUI's collections in [success_at, end]."""
    time.sleep(0.1)  # the gc probe writes its line just after a collection: let it land
    gcs = gc_log(success_at, end)
    if gcs is None:
        return
    run.gc_s = sum(overlap(g, (success_at, end)) for g in gcs)
    run.gc_blocking_s = sum(overlap(g, r) for g in gcs for r in requests)
    run.gc_download_s = sum(overlap(g, d) for g in gcs for d in download)


def worker_run(side: str, index: int, trace: JobTrace, result: dict, started: float, wall_s: float,
               gc_log: GcLog, model_loads: int) -> Run:
    """The parts of one worker job from its seam `trace` (`JobTrace.require` passed).

    Args:
        side: "worker" or "proposed".
        index: the round (0: cold).
        trace: what the seam saw.
        result: the handler's result.
        started: epoch s just before the handler was awaited; `wall_s` later it returned.
        gc_log: ComfyUI's collections (`GcLog`).
        model_loads: model-load lines ComfyUI logged during the job.
    """
    times = status_times(trace.entry or {})
    success_at = times["execution_success"]
    run = Run(side, index, wall_s=wall_s, comfy_s=success_at - times["execution_start"],
              model_loads=model_loads, video_bytes=int(result["video"]["bytes"]),
              timings=dict(result.get("timings") or {}))
    end = started + wall_s
    prompt, submit = trace.first("run_prompt"), trace.first("submit")
    ready = [c for c in trace.all("is_ready") if c.start <= prompt.start]
    run.ready_s = ready[-1].seconds if ready else 0.0
    run.connect_s = submit.start - prompt.start
    run.submit_s = submit.seconds
    run.queue_s = times["execution_start"] - submit.end
    after = [c for c in trace.all("history")
             if c.start >= success_at - 0.002 and prompt.start <= c.start <= prompt.end]
    done_seen = after[0].start if after else prompt.end
    run.delivery_s = done_seen - success_at
    run.history_s = sum(c.seconds for c in after)
    run.close_s = prompt.end - (after[-1].end if after else done_seen)
    download = trace.first("download")
    run.download_s = download.seconds
    puts = trace.all("put")
    upload_at = trace.stages["upload"]
    run.deliver_s = (puts[0].start if puts else trace.stages["done"]) - upload_at
    run.storage_s = sum(c.seconds for c in puts)
    forget = trace.first("forget")
    run.cleanup_s = end - forget.start if forget else 0.0
    run.cached_loaders = loader_cache(trace.graph or {}, trace.entry or {})
    requests = [(done_seen, after[-1].end if after else prompt.end), (download.start, download.end)]
    requests += [(c.start, c.end) for c in trace.all("forget")]
    _gc(run, gc_log, success_at, end, requests, [(download.start, download.end)])
    return run


def reference_run(index: int, done: ReferenceRun, graph: dict, gc_log: GcLog, model_loads: int) -> Run:
    """The parts of one reference-client run from its own record (`ReferenceRun`)."""
    times = status_times(done.history)
    success_at = times["execution_success"]
    run = Run("reference", index, wall_s=done.wall_s, comfy_s=success_at - times["execution_start"],
              model_loads=model_loads, video_bytes=done.video_path.stat().st_size)
    run.connect_s = done.connect_s
    run.submit_s = done.submit_s
    run.queue_s = times["execution_start"] - done.submitted_at
    run.delivery_s = done.done_at - success_at
    run.close_s = done.closed_at - done.done_at
    run.history_s = done.history_s
    run.download_s = done.download_s
    run.cached_loaders = loader_cache(graph, done.history)
    end = done.submitted_at - done.submit_s - done.connect_s + done.wall_s
    download = (done.closed_at + done.history_s, end)
    requests = [(done.done_at, done.closed_at), (done.closed_at, done.closed_at + done.history_s), download]
    _gc(run, gc_log, success_at, end, requests, [download])
    return run


@dataclass
class Report:
    """Everything one benchmark run measured (see `Run`; memory in MB, times in s).

    Attributes:
        comfyui_version, comfyui_dir, comfy_url: the ComfyUI it ran against.
        attached: True when that ComfyUI was already running (``--comfy-url``): its cold start,
            memory and garbage collections are then not measured.
        model, job: the job every run made (prompt and seed left out: each run has its own).
        cold_start_s: ComfyUI's process start -> ``/system_stats`` answers (None: attached).
        worker_start_s: ``JobHandler.start`` (``/object_info`` and the template checks).
        cold: the first job after the worker started (it loads every model); None with
            ``--no-cold`` (then the first round's worker job is the first).
        rounds: one dict per warm round, side -> its `Run`.
        worker_rss_mb, worker_peak_rss_mb: resident memory of the process running the handler.
        comfy_rss_mb: ComfyUI's resident memory, children included (None: not found).
        protocol: `bench.protocol`'s table (with ``--write-docs``), else None.
        elapsed_s: the whole benchmark.
        machine: cpu, cores, python, torch, load_avg_1m.
    """

    comfyui_version: str
    comfyui_dir: str
    comfy_url: str
    attached: bool
    model: str
    job: dict
    cold_start_s: float | None
    worker_start_s: float
    cold: Run | None
    rounds: list[dict[str, Run]]
    worker_rss_mb: float = 0.0
    worker_peak_rss_mb: float = 0.0
    comfy_rss_mb: float | None = None
    protocol: str | None = None
    elapsed_s: float = 0.0
    machine: dict = field(default_factory=dict)
