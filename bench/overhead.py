"""What the worker adds on top of ComfyUI: the same job through the worker and a minimal client.

``python -m bench.overhead [--pairs 10] [--write-docs]`` starts a real ComfyUI (CPU, tiny
generated weights; $COMFYUI_DIR or the installed tree), then runs:

* one cold job through the worker (the first after ComfyUI started: it loads every model);
* `--pairs` warm rounds, interleaved: the job through the worker (`JobHandler`, local storage,
  called as the RunPod SDK calls it), the same filled graph through
  `bench.reference_client.ReferenceClient` (POST /prompt, websocket, /history, /view only), and
  the worker again with `bench.proposed_client.ProposedComfyClient` (the recommended changes;
  ``--no-proposed`` skips it);
* with ``--write-docs``, `bench.protocol`'s measurement of ComfyUI's pause after a prompt
  (``--protocol-prompts``, 0 to skip) on the same server.

Each run gets its own seed and prompt suffix (the same graph twice would come straight out of
ComfyUI's cache), so every side does the same work. ComfyUI's own execution time of every run
is read from its history entry (``execution_start`` -> ``execution_success`` timestamps). The
worker's calls are timed in place by wrapping the real objects (no stand-ins): submit, the
wait, /history, /view download, probe, poster, clean-up.

It prints one table (medians and p90 over the warm rounds; milliseconds unless said) and checks
that warm jobs never reload a model: every loader node of a warm run is in ComfyUI's
``execution_cached`` list and ComfyUI's log gains no model-load line during it.

``--write-docs`` writes docs/benchmarks.md and docs/benchmarks-overhead.png (matplotlib);
``--json PATH`` the raw per-run numbers. Exit status 0 when the worker meets every target.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import re
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ltx_worker.config import PROJECT_ROOT, Settings, load_settings
from ltx_worker.delivery.storage import LocalStorage

from .comfy_server import LocalComfy, start_local_comfy
from .protocol import format_results, measure
from .reference_client import ReferenceClient

DOCS = PROJECT_ROOT / "docs"
#: ComfyUI log lines that mean a model was (re)loaded into memory.
MODEL_LOAD_LINES = re.compile(r"Requested to load|loaded completely|loaded partially|model_type ")
#: Node classes that read model files (their outputs must come from the cache on warm runs).
LOADER_CLASSES = re.compile(r"Loader|LoRA")
#: Targets of the "Performance and the local experience" issue.
TARGET_REST_MS = 50.0
TARGET_RATIO = 1.05
TARGET_WORKER_RSS_MB = 300.0

PROMPT = "A paper boat drifts across a rain puddle on a city street, reflections of neon signs"


@dataclass
class Run:
    """One job run, worker or reference. Times in seconds; ``*_at`` are epoch seconds.

    Attributes:
        side: "worker" or "reference".
        index: 0 for the cold run, 1.. for the warm pairs.
        wall_s: the whole call, as its caller sees it.
        comfy_s: ComfyUI's execution (history ``execution_start`` -> ``execution_success``).
        ready_s: the worker's readiness check before submitting (``GET /system_stats``).
        connect_s: opening the websocket.
        submit_s: ``POST /prompt``.
        queue_s: ``POST /prompt`` answered -> ``execution_start`` (ComfyUI picking it up).
        delivery_s: ``execution_success`` -> the client receives ``executing``/null (ComfyUI's
            own end of the prompt: history written, messages sent; its post-prompt pause when
            the prompt thread collects garbage before the messages went out).
        gc_s: ComfyUI's full garbage collections between ``execution_success`` and the end of
            the run (logged inside ComfyUI by bench/comfy_nodes).
        gc_blocking_s: the part of `gc_s` that overlapped the client's requests to ComfyUI
            after ``executing``/null (close handshake, /history, /view, clean-up): a paused
            ComfyUI answers nothing.
        gc_download_s: the part of `gc_blocking_s` that overlapped the ``/view`` download.
        close_s: ``executing``/null received -> websocket closed (the close handshake waits
            for ComfyUI's answer).
        history_s: ``GET /history`` (all calls).
        download_s: ``GET /view`` of the MP4, written to disk.
        probe_s: PyAV probe + sha256 (worker only).
        poster_s: poster frame (worker only).
        cleanup_s: removing the job's files and history entry from ComfyUI (worker only).
        cached_loaders: loader nodes ComfyUI served from its cache / loader nodes in the graph.
        model_loads: model-load lines ComfyUI logged during the run.
        video_bytes: size of the MP4.
        gaps: worker sides only: seconds between its timed steps (where "other" goes):
            before_submit, after_prompt (-> download), after_download (-> probe), after_probe
            (-> poster), after_poster (-> clean-up), after_cleanup (-> returned).
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
    gc_s: float = 0.0
    gc_blocking_s: float = 0.0
    gc_download_s: float = 0.0
    close_s: float = 0.0
    history_s: float = 0.0
    download_s: float = 0.0
    probe_s: float = 0.0
    poster_s: float = 0.0
    cleanup_s: float = 0.0
    cached_loaders: tuple[int, int] = (0, 0)
    model_loads: int = 0
    video_bytes: int = 0
    gaps: dict = field(default_factory=dict)

    @property
    def added_s(self) -> float:
        """Wall time beyond ComfyUI's own execution."""
        return self.wall_s - self.comfy_s

    @property
    def pause_s(self) -> float:
        """ComfyUI's pause on the client's path: the delivery of ``executing``/null plus the
        garbage collection its requests waited for."""
        return self.delivery_s + self.gc_blocking_s

    @property
    def net_transfers_s(self) -> float:
        """The transfers without the part of ComfyUI's pause the download waited for."""
        return self.transfers_s - self.gc_download_s

    @property
    def transfers_s(self) -> float:
        """The transfers the client must do: download, probe and poster."""
        return self.download_s + self.probe_s + self.poster_s

    @property
    def rest_s(self) -> float:
        """Added time that is not a transfer (protocol, bookkeeping, clean-up)."""
        return self.added_s - self.transfers_s

    @property
    def own_s(self) -> float:
        """Added time minus transfers minus ComfyUI's delivery of the end of the prompt: what
        the client itself spends (protocol requests, bookkeeping, clean-up), without ComfyUI's
        pause wherever it landed."""
        return self.added_s - self.net_transfers_s - self.pause_s

    @property
    def other_s(self) -> float:
        """Added time not covered by any measured part."""
        parts = (self.ready_s + self.connect_s + self.submit_s + self.queue_s + self.delivery_s + self.close_s
                 + self.history_s
                 + self.transfers_s + self.cleanup_s)
        return self.added_s - parts


@dataclass
class Report:
    """Everything one benchmark run measured (see `Run`; memory in MB).

    ``rounds`` holds one dict per warm round: side ("worker", "reference", and "proposed" when
    the worker with `bench.proposed_client.ProposedComfyClient` ran too) -> its `Run`.
    """

    comfyui_version: str
    comfyui_dir: str
    model: str
    job: dict
    cold_start_s: float
    worker_start_s: float
    cold: Run
    rounds: list[dict[str, Run]]
    worker_rss_mb: float = 0.0
    worker_peak_rss_mb: float = 0.0
    comfy_rss_mb: float = 0.0
    protocol: str | None = None
    elapsed_s: float = 0.0
    machine: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# history helpers
# ---------------------------------------------------------------------------------------------

def _status_times(entry: dict) -> dict[str, float]:
    """``{message type: epoch seconds}`` of a history entry's status messages."""
    out = {}
    for kind, data in (entry.get("status") or {}).get("messages", []):
        if isinstance(data, dict) and "timestamp" in data:
            out[kind] = data["timestamp"] / 1000.0
    return out


def _cached_nodes(entry: dict) -> set[str]:
    for kind, data in (entry.get("status") or {}).get("messages", []):
        if kind == "execution_cached":
            return {str(n) for n in data.get("nodes", [])}
    return set()


def _loader_cache(graph: dict, entry: dict) -> tuple[int, int]:
    loaders = {nid for nid, node in graph.items() if LOADER_CLASSES.search(node["class_type"])}
    return len(loaders & _cached_nodes(entry)), len(loaders)


class _LogWatch:
    """Counts model-load lines ComfyUI writes to its log between `mark` and `count`."""

    def __init__(self, server: LocalComfy) -> None:
        self.server = server
        self.offset = 0

    def mark(self) -> None:
        self.offset = len(self.server.log_text())

    def count(self) -> int:
        return len(MODEL_LOAD_LINES.findall(self.server.log_text()[self.offset:]))


# ---------------------------------------------------------------------------------------------
# the worker, timed in place
# ---------------------------------------------------------------------------------------------

class _Clock:
    """Timings of one handler's calls during one job, filled by the wrappers of `instrument`."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.calls: dict[str, float] = {}
        self.intervals: dict[str, list[tuple[float, float]]] = {}  # epoch (start, end) per call
        self.history_calls: list[tuple[float, float]] = []  # (epoch start, seconds)
        self.submit_end = 0.0
        self.done_seen = 0.0
        self.run_end = 0.0
        self.graph: dict | None = None
        self.entry: dict | None = None

    def add(self, name: str, seconds: float) -> None:
        self.calls[name] = self.calls.get(name, 0.0) + seconds
        now = time.time()
        self.intervals.setdefault(name, []).append((now - seconds, now))


#: The clock of the job running now (the handler module's functions are shared by all handlers).
_ACTIVE: list[_Clock | None] = [None]


def _timed(name: str, func, clock: _Clock | None = None):
    """`func` timed into `clock`, or into the active clock when None."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            target = clock or _ACTIVE[0]
            if target is not None:
                target.add(name, time.perf_counter() - t0)
    return wrapper


def _instrument_module() -> None:
    import ltx_worker.handler as handler_module

    if getattr(handler_module, "_bench_timed", False):
        return
    handler_module.probe_video = _timed("probe", handler_module.probe_video)
    handler_module.write_poster = _timed("poster", handler_module.write_poster)
    handler_module._bench_timed = True


def instrument(handler: Any) -> _Clock:
    """Wrap the handler's real calls with timers; returns the clock they report to.

    Wrapped: its client's ``_connect_ws`` and ``_handle`` (when present), ``submit``, ``history`` (each call's
    start is kept: polls during the prompt are not on the critical path), ``download``,
    ``run_prompt`` (which also records the graph and the history entry, before the handler
    deletes that entry), the handler's ``_cleanup``, and the ``probe_video`` /
    ``write_poster`` functions of the handler module (timed into the active clock).
    """
    _instrument_module()
    clock = _Clock()
    client = handler.client
    submit, run_prompt, history = client.submit, client.run_prompt, client.history

    def timed_submit(graph, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return submit(graph, *args, **kwargs)
        finally:
            clock.add("post", time.perf_counter() - t0)
            clock.submit_end = time.time()

    def timed_run_prompt(graph, *args, **kwargs):
        clock.graph = graph
        prompt_id, entry = run_prompt(graph, *args, **kwargs)
        clock.run_end = time.time()
        clock.entry = entry
        return prompt_id, entry

    def timed_history(*args, **kwargs):
        started, t0 = time.time(), time.perf_counter()
        try:
            return history(*args, **kwargs)
        finally:
            clock.history_calls.append((started, time.perf_counter() - t0))

    client.submit = timed_submit
    client.run_prompt = timed_run_prompt
    client.history = timed_history
    client.download = _timed("download", client.download, clock)
    client.is_ready = _timed("ready", client.is_ready, clock)
    if hasattr(client, "_connect_ws"):  # private: timed when present
        client._connect_ws = _timed("connect", client._connect_ws, clock)
    if hasattr(client, "_handle"):  # private: when the done message was received
        handle = client._handle

        def seen_handle(*args, **kwargs):
            done = handle(*args, **kwargs)
            if done:
                clock.done_seen = time.time()
            return done

        client._handle = seen_handle
    if hasattr(handler, "_cleanup"):
        handler._cleanup = _timed("cleanup", handler._cleanup, clock)
    return clock


def _settings(server: LocalComfy, out_dir: Path) -> Settings:
    overrides = {"comfy_port": server.port, "output_dir": out_dir,
                 "comfy_input_dir": server.base / "input", "comfy_output_dir": server.output_dir,
                 "webhook_url": None}
    known = set(Settings.model_fields)
    return load_settings(**{k: v for k, v in overrides.items() if k in known})


def _job_input(args: argparse.Namespace, model: str, n: int) -> dict:
    return {"model": model, "prompt": f"{PROMPT} (take {n})", "quality": args.quality,
            "resolution": "720p", "aspect_ratio": args.aspect_ratio, "duration": args.duration,
            "seed": 1000 + n}


def settle(server: LocalComfy) -> None:
    """Wait until ComfyUI answers again (its post-prompt pause is over), outside any timing, so
    that every run starts from an idle ComfyUI whatever the side before it left behind."""
    import requests

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(server.url + "/system_stats", timeout=30).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)


def _run_worker(loop, handler, clock: _Clock, logwatch: _LogWatch, job_input: dict,
                index: int, side: str = "worker") -> Run:
    settle(logwatch.server)
    clock.reset()
    _ACTIVE[0] = clock
    logwatch.mark()
    t0 = time.perf_counter()
    started = time.time()
    try:
        result = loop.run_until_complete(handler({"id": f"bench-{index}-{job_input['seed']}",
                                                  "input": job_input}))
    finally:
        _ACTIVE[0] = None
    wall = time.perf_counter() - t0
    if "error" in result:
        raise RuntimeError(f"{side} job failed: {result['error']}")
    entry = clock.entry or {}
    times = _status_times(entry)
    calls = clock.calls
    run = Run(side, index, wall_s=wall)
    run.comfy_s = times["execution_success"] - times["execution_start"]
    run.connect_s = calls.get("connect", 0.0)
    run.ready_s = calls.get("ready", 0.0)
    run.submit_s = calls.get("post", 0.0)
    run.queue_s = times["execution_start"] - clock.submit_end
    run.history_s = sum(d for t, d in clock.history_calls if t >= times["execution_success"] - 0.002)
    done_seen = clock.done_seen or times["execution_success"]
    run.delivery_s = done_seen - times["execution_success"]
    run.close_s = clock.run_end - done_seen - run.history_s
    end = started + wall
    time.sleep(0.1)  # the gc probe writes its line just after a collection: let it land
    gcs = logwatch.server.gc_intervals(times["execution_success"], end)
    first_history = min((t for t, _ in clock.history_calls if t >= done_seen), default=clock.run_end)
    requests_ = [(done_seen, first_history)]  # the websocket close handshake
    requests_ += [(t, t + d) for t, d in clock.history_calls if t >= done_seen]
    requests_ += clock.intervals.get("download", []) + clock.intervals.get("cleanup", [])
    run.gc_s = sum(_overlap(g, (times["execution_success"], end)) for g in gcs)
    run.gc_blocking_s = sum(_overlap(g, r) for g in gcs for r in requests_)
    run.gc_download_s = sum(_overlap(g, r) for g in gcs for r in clock.intervals.get("download", []))
    run.download_s = calls.get("download", 0.0)
    run.probe_s = calls.get("probe", 0.0)
    run.poster_s = calls.get("poster", 0.0)
    run.cleanup_s = calls.get("cleanup", 0.0)
    run.cached_loaders = _loader_cache(clock.graph or {}, entry)
    run.model_loads = logwatch.count()
    run.video_bytes = result["video"]["bytes"]
    first = {k: v[0] for k, v in clock.intervals.items() if v}
    if all(k in first for k in ("post", "download", "probe", "poster", "cleanup")):
        run.gaps = {
            "before_submit": first["post"][0] - started - run.connect_s - run.ready_s,
            "after_prompt": first["download"][0] - clock.run_end,
            "after_download": first["probe"][0] - first["download"][1],
            "after_probe": first["poster"][0] - first["probe"][1],
            "after_poster": first["cleanup"][0] - first["poster"][1],
            "after_cleanup": end - first["cleanup"][1],
        }
    return run


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Seconds two [start, end] intervals share."""
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def _rebind(template: Any, graph: dict, values: dict) -> dict:
    """A copy of the worker's filled `graph` with `values` set through the template's bindings."""
    graph = json.loads(json.dumps(graph))
    for param, value in values.items():
        for title, input_name in template.params.get(param, []):
            graph[template.node_id(graph, title)]["inputs"][input_name] = value
    return graph


def _run_reference(ref: ReferenceClient, template: Any, worker_graph: dict, logwatch: _LogWatch,
                   job_input: dict, index: int, out_dir: Path) -> Run:
    graph = _rebind(template, worker_graph, {"seed": job_input["seed"], "prompt": job_input["prompt"],
                                             "filename_prefix": f"bench-ref/{index}"})
    output_node = template.node_id(graph, template.output)
    settle(logwatch.server)
    logwatch.mark()
    done = ref.run(graph, output_node, out_dir / f"ref-{index}.mp4")
    times = _status_times(done.history)
    run = Run("reference", index, wall_s=done.wall_s)
    run.comfy_s = times["execution_success"] - times["execution_start"]
    run.connect_s = done.connect_s
    run.submit_s = done.submit_s
    run.queue_s = times["execution_start"] - done.submitted_at
    run.delivery_s = done.done_at - times["execution_success"]
    run.close_s = done.closed_at - done.done_at
    end = done.submitted_at - done.submit_s - done.connect_s + done.wall_s
    time.sleep(0.1)  # as in _run_worker
    gcs = logwatch.server.gc_intervals(times["execution_success"], end)
    download = (done.closed_at + done.history_s, end)
    requests_ = [(done.done_at, done.closed_at), (done.closed_at, done.closed_at + done.history_s), download]
    run.gc_s = sum(_overlap(g, (times["execution_success"], end)) for g in gcs)
    run.gc_blocking_s = sum(_overlap(g, r) for g in gcs for r in requests_)
    run.gc_download_s = sum(_overlap(g, download) for g in gcs)
    run.history_s = done.history_s
    run.download_s = done.download_s
    run.cached_loaders = _loader_cache(graph, done.history)
    run.model_loads = logwatch.count()
    run.video_bytes = done.video_path.stat().st_size
    done.video_path.unlink(missing_ok=True)
    return run


def _rss_mb(pid: int, children: bool = False) -> float:
    """Resident memory of process `pid` (and its children when asked), MB."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *(proc.children(recursive=True) if children else [])]
        return sum(p.memory_info().rss for p in procs) / 2**20
    except psutil.Error:
        return 0.0


def run_benchmark(args: argparse.Namespace) -> Report:
    """Start ComfyUI, run the cold job and the warm rounds, measure memory; returns the report.

    Raises:
        RuntimeError: ComfyUI did not start, or a job failed.
    """
    import logging

    from ltx_worker.comfy.client import ComfyClient
    from ltx_worker.handler import JobHandler  # the worker, imported as the SDK's process does

    from .proposed_client import ProposedComfyClient

    logging.getLogger().setLevel(logging.WARNING)  # the RunPod SDK set INFO on import
    log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if not args.quiet else (lambda m: None)
    comfyui_dir = Path(args.comfyui_dir) if args.comfyui_dir else None
    log("[bench] starting ComfyUI (tiny weights, CPU)...")
    server = start_local_comfy(comfyui_dir)
    try:
        log(f"[bench] ComfyUI {server.version} ready in {server.cold_start_s:.1f} s at {server.url}")
        out_dir = server.base / "worker-out"
        settings = _settings(server, out_dir)
        t0 = time.perf_counter()
        handler = JobHandler(settings, client=ComfyClient(settings.comfy_url, settings.comfy_request_timeout_s),
                             storage=LocalStorage(), progress_sink=lambda job, payload: None).start()
        worker_start = time.perf_counter() - t0
        served = {m for t in handler.templates.templates for m, _ in t.serves}
        model = args.model or ("ltx-2-t2v" if "ltx-2-t2v" in served else "ltxv-t2v")
        if model not in served:
            raise RuntimeError(f"ComfyUI {server.version} cannot run {model}; it runs {sorted(served)}")
        template = handler.templates.get(model, args.quality)
        sides = {"worker": (handler, instrument(handler))}
        if args.proposed:
            proposed = JobHandler(
                settings, client=ProposedComfyClient(settings.comfy_url, settings.comfy_request_timeout_s,
                                                     output_dir=server.output_dir),
                storage=LocalStorage(), progress_sink=lambda job, payload: None).start()
            sides["proposed"] = (proposed, instrument(proposed))
        logwatch = _LogWatch(server)
        ref = ReferenceClient(server.url)
        loop = asyncio.new_event_loop()
        n = 0
        try:
            cold = _run_worker(loop, handler, sides["worker"][1], logwatch, _job_input(args, model, n), 0)
            log(f"[bench] cold job: {cold.wall_s:.1f} s (ComfyUI {cold.comfy_s:.1f} s)")
            rounds: list[dict[str, Run]] = []
            for i in range(1, args.pairs + 1):
                runs: dict[str, Run] = {}
                for side in ("worker", "reference", "proposed"):
                    n += 1
                    if side == "reference":
                        runs[side] = _run_reference(ref, template, sides["worker"][1].graph, logwatch,
                                                    _job_input(args, model, n), i, out_dir)
                    elif side in sides:
                        h, clock = sides[side]
                        runs[side] = _run_worker(loop, h, clock, logwatch, _job_input(args, model, n), i, side)
                rounds.append(runs)
                log(f"[bench] round {i}/{args.pairs}: " + ", ".join(
                    f"{k} {r.wall_s:.2f} s (+{r.added_s * 1e3:.0f} ms)" for k, r in runs.items()))
        finally:
            loop.close()
        protocol = None
        if args.write_docs and args.protocol_prompts > 0:
            log(f"[bench] ComfyUI's pause after a prompt ({args.protocol_prompts} prompts per variant)...")
            protocol = format_results(server.version, measure(server, args.protocol_prompts))
        report = Report(
            comfyui_version=server.version, comfyui_dir=str(server.comfyui_dir), model=model,
            job={k: v for k, v in _job_input(args, model, 0).items() if k not in ("prompt", "seed")},
            cold_start_s=server.cold_start_s, worker_start_s=worker_start, cold=cold, rounds=rounds,
            worker_rss_mb=_rss_mb(os.getpid()),
            worker_peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            comfy_rss_mb=_rss_mb(server.proc.pid, children=True), protocol=protocol,
        )
    finally:
        server.stop()
    import torch  # only for the record of the machine (ComfyUI's torch)

    report.machine = {
        "cpu": _cpu_name(), "cores": os.cpu_count(),
        "python": platform.python_version(), "torch": torch.__version__,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    return report


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------------
# statistics and output
# ---------------------------------------------------------------------------------------------

SIDES = ("worker", "reference", "proposed")
SIDE_LABELS = {"worker": "worker", "reference": "reference client",
               "proposed": "worker + proposed client"}
ATTRS = ("comfy_s", "wall_s", "added_s", "ready_s", "connect_s", "submit_s", "queue_s", "delivery_s", "gc_s",
         "close_s",
         "history_s", "download_s", "probe_s", "poster_s", "cleanup_s", "transfers_s", "rest_s",
         "own_s", "other_s", "pause_s", "net_transfers_s")


def _p(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation."""
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def summarize(report: Report) -> dict:
    """Medians/p90s per side over the warm rounds, ratios to the reference, the checks against
    the targets (on the worker as it is) and the warm-load check."""
    sides = [s for s in SIDES if all(s in r for r in report.rounds)]
    stats: dict[str, dict[str, tuple[float, float]]] = {}
    for side in sides:
        runs = [r[side] for r in report.rounds]
        stats[side] = {a: (statistics.median([getattr(x, a) for x in runs]),
                           _p([getattr(x, a) for x in runs], 0.9)) for a in ATTRS}
    ratios = {}
    for side in sides:
        if side != "reference":
            vals = [r[side].wall_s / r["reference"].wall_s for r in report.rounds]
            ratios[side] = (statistics.median(vals), _p(vals, 0.9))
    # the same comparison at a common ComfyUI execution time: the CPU is shared, and execution
    # times of identical jobs differ by tens of percent between runs, whatever the client
    pooled = statistics.median([r[x].comfy_s for r in report.rounds for x in sides])
    ref_added = stats["reference"]["added_s"][0]
    norm = {x: (pooled + stats[x]["added_s"][0]) / (pooled + ref_added) for x in ratios}
    all_runs = [run for r in report.rounds for run in r.values()]
    warm_ok = all(x.model_loads == 0 and x.cached_loaders[0] == x.cached_loaders[1] for x in all_runs)
    rest = stats["worker"]["rest_s"][0] * 1e3
    own = stats["worker"]["own_s"][0] * 1e3
    checks = {
        "rest": (rest, TARGET_REST_MS, rest <= TARGET_REST_MS),
        "own": (own, TARGET_REST_MS, own <= TARGET_REST_MS),
        "ratio": (ratios["worker"][0], TARGET_RATIO, ratios["worker"][0] <= TARGET_RATIO),
        "ratio_norm": (norm["worker"], TARGET_RATIO, norm["worker"] <= TARGET_RATIO),
        "rss": (report.worker_rss_mb, TARGET_WORKER_RSS_MB, report.worker_rss_mb < TARGET_WORKER_RSS_MB),
        "warm": (None, None, warm_ok),
    }
    if "proposed" in stats:
        prest = stats["proposed"]["rest_s"][0] * 1e3
        pown = stats["proposed"]["own_s"][0] * 1e3
        checks["proposed_rest"] = (prest, TARGET_REST_MS, prest <= TARGET_REST_MS)
        checks["proposed_own"] = (pown, TARGET_REST_MS, pown <= TARGET_REST_MS)
        checks["proposed_ratio"] = (ratios["proposed"][0], TARGET_RATIO, ratios["proposed"][0] <= TARGET_RATIO)
    return {"n": len(report.rounds), "sides": sides, "stats": stats, "ratios": ratios,
            "ratios_norm": norm, "pooled_comfy_s": pooled,
            "warm_ok": warm_ok, "model_loads_cold": report.cold.model_loads, "checks": checks}


def table_rows(report: Report, s: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the result table; times in ms unless the row says otherwise."""
    sides = s["sides"]
    st = s["stats"]

    def ms(side: str, attr: str, p90: bool = False, only: tuple[str, ...] = ()) -> str:
        if only and side not in only:
            return "-"
        med, p9 = st[side][attr]
        return f"{med * 1e3:,.0f} / {p9 * 1e3:,.0f}" if p90 else f"{med * 1e3:,.1f}"

    def row(label: str, attr: str, note: str = "", p90: bool = False, only: tuple[str, ...] = ()):
        return [label, *[ms(side, attr, p90, only) for side in sides], note]

    ok = {k: ("met" if v[2] else "NOT met") for k, v in s["checks"].items()}
    workers = tuple(x for x in sides if x != "reference")
    cold = report.cold
    rows = [
        row("ComfyUI execution (history start -> success), median / p90", "comfy_s",
            "the same work on every side", p90=True),
        row("wall time, median / p90", "wall_s", "", p90=True),
        row("added = wall - ComfyUI execution, median / p90", "added_s", "", p90=True),
        row("  readiness check (GET /system_stats)", "ready_s", "", only=workers),
        row("  websocket connect", "connect_s"),
        row("  submit (POST /prompt)", "submit_s", "ComfyUI validates the graph"),
        row("  queue (answered -> execution_start)", "queue_s", "ComfyUI's clock: +-1 ms"),
        row("  ComfyUI: execution_success -> executing/null received", "delivery_s",
            "ComfyUI's end of prompt (+ its pause)"),
        row("  websocket close", "close_s", "handshake waits for ComfyUI"),
        row("  GET /history after the prompt", "history_s", ""),
        row("  transfer: MP4 download (GET /view)", "download_s",
            f"{cold.video_bytes / 1e6:.1f} MB; proposed: local move"),
        row("  transfer: probe (PyAV + sha256)", "probe_s", "", only=workers),
        row("  transfer: poster (first frame -> JPEG)", "poster_s", "", only=workers),
        row("  clean-up (history entry + files)", "cleanup_s", "", only=workers),
        row("  other (validation, fill, threads)", "other_s", "the rest"),
        row("ComfyUI's gc.collect() after the prompt", "gc_s", "logged inside ComfyUI"),
        row("ComfyUI's pause on the client's path", "pause_s",
            "delivery + gc the client's requests waited for"),
        row("transfers (download without the pause, probe, poster)", "net_transfers_s", ""),
        row("added - transfers, median / p90", "rest_s",
            f"target worker <= {TARGET_REST_MS:.0f} ms: {ok['rest']}"
            + (f"; proposed: {ok['proposed_rest']}" if "proposed_rest" in ok else ""), p90=True),
        row("added - transfers - ComfyUI's pause, median / p90", "own_s",
            f"the client's own; target <= {TARGET_REST_MS:.0f} ms: {ok['own']}"
            + (f"; proposed: {ok['proposed_own']}" if "proposed_own" in ok else ""), p90=True),
        ["ratio wall / reference wall (pairwise), median / p90",
         *[(f"{s['ratios'][x][0]:.4f} / {s['ratios'][x][1]:.4f}" if x in s["ratios"] else "1")
           for x in sides],
         f"target <= {TARGET_RATIO}: {ok['ratio']}"
         + (f"; proposed: {ok['proposed_ratio']}" if "proposed_ratio" in ok else "")],
        ["ratio at equal ComfyUI execution (median added)",
         *[(f"{s['ratios_norm'][x]:.4f}" if x in s["ratios_norm"] else "1") for x in sides],
         f"at {s['pooled_comfy_s']:.1f} s; target <= {TARGET_RATIO}: {ok['ratio_norm']}"],
    ]
    blank = [""] * (len(sides) - 1)
    rows += [
        ["resident memory, worker process (MB)",
         f"{report.worker_rss_mb:.0f} (peak {report.worker_peak_rss_mb:.0f})", *blank,
         f"target < {TARGET_WORKER_RSS_MB:.0f} MB: {ok['rss']}; ComfyUI {report.comfy_rss_mb:,.0f} MB"],
        ["ComfyUI cold start to ready (s)", f"{report.cold_start_s:.2f}", *blank,
         "process start -> /system_stats answers"],
        ["worker start (s)", f"{report.worker_start_s:.2f}", *blank, "/object_info + template checks"],
        ["first job after start, cold (s)", f"{cold.wall_s:.2f}", *blank,
         f"ComfyUI {cold.comfy_s:.2f} s, {cold.model_loads} model-load lines in its log"],
        ["warm job, median (s)", *[f"{st[x]['wall_s'][0]:.2f}" for x in sides],
         "tiny weights: loading is cheap, CPU load varies"],
        ["warm jobs reload no model", "yes" if s["warm_ok"] else "NO", *blank,
         "every loader in execution_cached, no load lines"],
    ]
    header = ["", *[SIDE_LABELS[x] for x in sides], ""]
    return header, rows


def print_table(report: Report, s: dict) -> None:
    """The result table on stdout (rich)."""
    from rich.console import Console
    from rich.table import Table

    job = report.job
    title = (f"{report.model} {job['quality']} {job['resolution']} {job['aspect_ratio']} {job['duration']} s"
             f" on ComfyUI {report.comfyui_version} (CPU, tiny weights), {s['n']} warm rounds;"
             " ms unless said")
    header, rows = table_rows(report, s)
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(header):
        table.add_column(col, justify="left" if i in (0, len(header) - 1) else "right")
    for r in rows:
        table.add_row(*r)
    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    console.print(table)


def plot(report: Report, s: dict, path: Path) -> None:
    """Per-job added time (stacked parts) of each warm round, one bar per side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = [("ready_s", "ready check"), ("connect_s", "ws connect"), ("submit_s", "submit"), ("queue_s", "queue"),
             ("delivery_s", "executing/null delivery"), ("close_s", "ws close"),
             ("history_s", "/history"),
             ("download_s", "download"), ("probe_s", "probe"), ("poster_s", "poster"),
             ("cleanup_s", "clean-up"), ("other_s", "other")]
    colors = [*plt.get_cmap("tab10").colors, (0.55, 0.55, 0.85), (0.2, 0.2, 0.2)]
    hatches = {"worker": None, "reference": "//", "proposed": ".."}
    sides = s["sides"]
    fig, ax = plt.subplots(figsize=(11, 5))
    n = len(report.rounds)
    width = 0.8 / len(sides)
    for j, side in enumerate(sides):
        runs = [r[side] for r in report.rounds]
        xs = [i + 1 + (j - (len(sides) - 1) / 2) * width for i in range(n)]
        bottom = [0.0] * n
        for k, (attr, label) in enumerate(parts):
            vals = [max(0.0, getattr(run, attr)) * 1e3 for run in runs]
            ax.bar(xs, vals, width * 0.95, bottom=bottom, color=colors[k % len(colors)],
                   label=label if j == 0 else None, hatch=hatches[side], edgecolor="white",
                   linewidth=0.3)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.plot(xs, [run.added_s * 1e3 for run in runs], "k_", markersize=10,
                label="wall - ComfyUI execution" if j == 0 else None)
    ax.set_xticks(range(1, n + 1))
    ax.set_xlabel("warm round; bars: " + ", ".join(
        f"{SIDE_LABELS[x]}{' (' + hatches[x] + ')' if hatches[x] else ' (plain)'}" for x in sides))
    ax.set_ylabel("time added to ComfyUI's execution (ms)")
    ax.set_title(f"Per-job overhead: {report.model} on tiny weights, ComfyUI {report.comfyui_version} (CPU)")
    ax.legend(ncol=6, fontsize=7, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_docs(report: Report, s: dict, md_path: Path, png_path: Path, command: str) -> None:
    """Write docs/benchmarks.md (results, method, findings) and the overhead PNG."""
    plot(report, s, png_path)
    header, rows = table_rows(report, s)
    table = ["| " + " | ".join(header) + " |",
             "|---|" + "---:|" * (len(header) - 2) + "---|"]
    table += ["| " + " | ".join(c.strip() for c in r) + " |" for r in rows]
    c = s["checks"]
    verdict = lambda key: "met" if c[key][2] else "not met"  # noqa: E731
    checks = [
        f"- worker's added time minus transfers, median: {c['rest'][0]:.0f} ms (target <= "
        f"{TARGET_REST_MS:.0f} ms): **{verdict('rest')}**"
        + (f"; with the proposed client: {c['proposed_rest'][0]:.0f} ms, **{verdict('proposed_rest')}**"
           if "proposed_rest" in c else ""),
        f"- the same without ComfyUI's delivery of the end of the prompt (its post-prompt pause, which "
        f"the reference client pays too), median: {c['own'][0]:.0f} ms: **{verdict('own')}**"
        + (f"; with the proposed client: {c['proposed_own'][0]:.0f} ms, **{verdict('proposed_own')}**"
           if "proposed_own" in c else ""),
        f"- worker / reference wall time, median of the rounds: {c['ratio'][0]:.4f} (target <= "
        f"{TARGET_RATIO}): **{verdict('ratio')}**"
        + (f"; with the proposed client: {c['proposed_ratio'][0]:.4f}, **{verdict('proposed_ratio')}**"
           if "proposed_ratio" in c else "")
        + f"; at equal ComfyUI execution time: {c['ratio_norm'][0]:.4f}, **{verdict('ratio_norm')}**",
        f"- worker resident memory: {report.worker_rss_mb:.0f} MB (peak {report.worker_peak_rss_mb:.0f} MB;"
        f" target < {TARGET_WORKER_RSS_MB:.0f} MB): **{verdict('rss')}**",
        f"- warm jobs reload no model: **{'yes' if s['warm_ok'] else 'no'}** (the cold job wrote "
        f"{s['model_loads_cold']} model-load lines to ComfyUI's log; on every warm run of every side "
        "all loader nodes were in `execution_cached` and the log gained no load line)",
    ]
    m = report.machine
    minutes = max(1, round(report.elapsed_s / 60))
    protocol = report.protocol
    proto = f"\n```\n{protocol.strip()}\n```\n" if protocol else "\n(run `python -m bench.protocol`)\n"
    text = f"""# Benchmarks: what the worker adds to ComfyUI

Reproduce (about {minutes} minutes on the machine below):

```bash
{command}
```

(`python -m bench.protocol` measures ComfyUI's pause after a prompt alone, in about 2 minutes.)

## Method

`bench/overhead.py` starts a real ComfyUI {report.comfyui_version} on the CPU with tiny generated
weights (`ltx_worker.tinymodels` and the test-only text-encoder node, as the tests do), then runs
one cold job and {s['n']} warm rounds, interleaved. Each round runs the same job
`{json.dumps(report.job)}` ({report.model}) through:

- **worker**: `JobHandler` with local storage, awaited as the RunPod SDK awaits it;
- **reference client**: `bench/reference_client.py`, the smallest correct client (POST /prompt,
  websocket until `executing`/null, GET /history, GET /view), given the graph the worker built
  (its seed, prompt and file prefix rebound through the template's bindings);
- **worker + proposed client**: the same `JobHandler` with `bench/proposed_client.py`, the
  changes recommended below (nothing else differs).

Every run has its own seed and prompt, so ComfyUI's cache cannot skip the sampling; the loaders
stay cached, as in production. Before each run the benchmark waits, untimed, until ComfyUI
answers again, so that every run starts from an idle ComfyUI whatever the run before left behind
(see the findings: a job that returns during ComfyUI's pause leaves its remainder to the next).
ComfyUI's execution time comes from the history entry (`execution_start` -> `execution_success`
timestamps, sent on the websocket too). The worker's parts are timed in place by wrapping its
real calls (client `is_ready`, `submit`, `history`, `download`, `run_prompt`, `_connect_ws`,
`_handle`; `probe_video`, `write_poster`; the handler's clean-up); ComfyUI's full garbage
collections are logged inside ComfyUI by a benchmark-only probe (bench/comfy_nodes); /history
reads during the prompt (the worker polls it after 5 s without a websocket message) are off the
critical path and not counted. "Transfers" are what a client must do with the result: fetch the
MP4, and for the worker also probe it (PyAV + sha256) and write the poster. Memory: resident set
of the process running the `JobHandler` (the benchmark process, before matplotlib is imported)
and of ComfyUI.

Machine: {m.get('cores')} cores ({m.get('cpu')}) shared with other work (1-minute load average
{m.get('load_avg_1m')} at the end), Python {m.get('python')}, torch {m.get('torch')}, no GPU. On tiny
weights the execution is CPU sampling and decoding and varies with the load; the added time is
the point, not the absolute numbers.

## Results

{chr(10).join(table)}

![per-job overhead](benchmarks-overhead.png)

## Targets

{chr(10).join(checks)}

## Findings

{FINDINGS}
`python -m bench.protocol` ({report.comfyui_version}, trivial prompt, what a client waits for after
ComfyUI's `execution_success`; ms, median / max):
{proto}
{RECOMMENDATIONS}
"""
    md_path.write_text(text)


FINDINGS = """\
- **What stands in the way of the 50 ms target is ComfyUI's own end of the prompt, not the
  worker.** After `execution_success`, ComfyUI's prompt thread writes the history, queues
  `executing`/null and then, when 10 s have passed since its last collection (main.py,
  `prompt_worker`, `gc_collect_interval`; with jobs longer than 10 s that is after every job),
  runs `gc.collect()` and `soft_empty_cache()`. A full collection holds the GIL, so ComfyUI's
  server thread can neither send the queued messages nor answer a request until it ends. The
  "gc.collect()" row is measured inside ComfyUI (bench/comfy_nodes logs every full collection):
  it is most of the "execution_success -> executing/null received" row, which the reference
  client pays exactly like the worker. When the message got out before the collection
  started, the collection delays instead the client's next request to ComfyUI (the websocket
  close handshake, `GET /history` or `GET /view`); `python -m bench.protocol` shows that with a
  trivial prompt (table below): only prompts more than 10 s apart see it.
- **The client's own time is small** (the "added - transfers - ComfyUI's pause" row):
  websocket connect ~1 ms, `POST /prompt` with ComfyUI's validation 5-20 ms, queue pick-up ~0,
  `/history` a few ms, clean-up a few ms, the rest (validation, template fill, thread hops) ~10
  ms. The websocket read timeout (`WS_POLL_S` 0.25 s; 1.0 s before) does not delay completion:
  `recv()` returns as soon as a message arrives; the timeout only bounds how late a cancel or
  the deadline is noticed. `/history` is polled only after 5 s without any message, during the
  prompt, off the critical path. There is no per-job `/object_info` fetch (read once at start,
  the "worker start" row).
- With jobs queued back to back, what is left of the pause when a job returns is paid by the
  next job's first request (the worker's readiness check `GET /system_stats`, else
  `POST /prompt`): the pause costs throughput once per job whatever the client does; what the
  client decides is whether it also sits between `execution_success` and the result.
- **The worker's real extra work is the poster and the probe** (transfers in the table):
  decoding the first frame and writing the JPEG, demuxing every packet and hashing the file;
  they are the price of the measured facts and the poster the contract asks for.
- The wall-time ratio of each round is dominated by how long ComfyUI itself ran (identical jobs
  differ by tens of percent on this shared CPU); the ratio at equal ComfyUI execution time
  compares the clients alone.
- Warm jobs reload nothing; on tiny weights the cold job costs little more than a warm one (the
  files are a few MB); with the real 19B checkpoint it is the model load.
"""

RECOMMENDATIONS = """\
## Recommended changes (ltx_worker/comfy/client.py, ltx_worker/handler.py)

ComfyUI's pause cannot be removed from the client side when it holds back `executing`/null
itself; what the worker can do is never ask ComfyUI anything between the end of the prompt and
its result, so that a pause that starts after the message went out overlaps the worker's own
work (probe, poster) instead of adding to it, and drop the `/view` transfer on a local ComfyUI.
`bench/proposed_client.py` implements this as a subclass of `ComfyClient` (the third column):

1. `ComfyClient._connect_ws` / the `ws.close()` calls in `run_prompt` and `_follow`: close with
   `ws.close(timeout=0)` (send the close frame, do not wait for ComfyUI's answer). Applied to
   `ComfyClient` after this run, so later runs show it in the worker column too.
2. `ComfyClient._handle`: keep, for our prompt id, each `executed` message's `output` by node id
   and the `execution_start` / `execution_cached` / `execution_success` messages (they carry the
   history entry's timestamps); `run_prompt` then returns the entry built from them
   (`{"outputs": ..., "status": {"status_str": "success", "messages": [...]}}`) and calls
   `GET /history` only when no `execution_success` was seen (reconnect, a missed message).
3. `ComfyClient.download` (or the handler): when `Settings.comfy_output_path` is known (it is
   under entrypoint.sh, which sets COMFYUI_DIR), move the MP4 out of ComfyUI's output folder
   (`os.replace`, copy across filesystems) instead of streaming it through `GET /view`; keep
   `/view` for a remote ComfyUI.
4. `JobHandler.__call__`: run `_cleanup`'s `POST /history` delete in the background after the
   result is built, and have the next job wait for it before it starts, so the isolation
   guarantee holds without a request to a paused ComfyUI on the job's path.

For ComfyUI itself (not this repository): the pause would leave the job's path if the prompt
thread let its server send `executing`/null before collecting (e.g. a short sleep or running
the collection while the queue waits for the next prompt); on a GPU worker
`soft_empty_cache()` runs in the same place.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0 when every target is met by the worker, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m bench.overhead", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10,
                        help="warm rounds (worker, reference[, proposed]) (default 10)")
    parser.add_argument("--comfyui-dir", default=os.environ.get("COMFYUI_DIR"),
                        help="ComfyUI tree (default $COMFYUI_DIR, else the installed one)")
    parser.add_argument("--model", help="default ltx-2-t2v when ComfyUI has LTX-2, else ltxv-t2v")
    parser.add_argument("--quality", choices=["fast", "pro"], default="fast")
    parser.add_argument("--aspect-ratio", choices=["16:9", "9:16", "1:1"], default="1:1",
                        help="1:1 (704x704) by default: the smallest 720p job")
    parser.add_argument("--duration", type=int, default=2)
    parser.add_argument("--no-proposed", dest="proposed", action="store_false",
                        help="skip the worker with the proposed client (bench/proposed_client.py)")
    parser.add_argument("--write-docs", action="store_true",
                        help="write docs/benchmarks.md and docs/benchmarks-overhead.png")
    parser.add_argument("--protocol-prompts", type=int, default=4,
                        help="with --write-docs: prompts per bench.protocol variant (default 4; 0 skips)")
    parser.add_argument("--json", type=Path, help="write the raw per-run numbers here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")

    t0 = time.monotonic()
    report = run_benchmark(args)
    report.elapsed_s = time.monotonic() - t0
    s = summarize(report)
    print_table(report, s)
    if args.json:
        args.json.write_text(json.dumps({**asdict(report), "summary": s}, indent=2, default=str))
    if args.write_docs:
        command = f"COMFYUI_DIR={report.comfyui_dir} " if args.comfyui_dir else ""
        command += f".venv/bin/python -m bench.overhead --pairs {args.pairs} --write-docs"
        write_docs(report, s, DOCS / "benchmarks.md", DOCS / "benchmarks-overhead.png", command)
        print(f"wrote {DOCS / 'benchmarks.md'} and {DOCS / 'benchmarks-overhead.png'}")
    return 0 if all(c[2] for k, c in s["checks"].items() if not k.startswith("proposed")) else 1


if __name__ == "__main__":
    raise SystemExit(main())
