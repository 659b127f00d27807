"""Runner: the ComfyUI to measure against, the sides, the cold job and the warm rounds.

`run_benchmark` starts a throw-away ComfyUI (`bench.comfy_server`: CPU, tiny generated weights,
the gc probe) or attaches to a running one (``--comfy-url``), builds the worker's
`JobHandler` through the seam (`bench.overhead.seam`), runs one cold job (unless ``--no-cold``),
then ``--pairs`` warm rounds (worker, reference client, worker + proposed client), and returns the `Report`. Each run
gets its own seed and prompt suffix (the same graph twice would come straight out of ComfyUI's
cache); before each run it waits, untimed, until ComfyUI answers, so every run starts from an
idle ComfyUI whatever the run before left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import requests

from ltx_worker.config import Settings, load_settings
from ltx_worker.graph import title_of

from ..comfy_server import LocalComfy, start_local_comfy
from ..protocol import format_results, measure
from ..reference_client import ReferenceClient
from .measure import LogWatch, Report, Run, reference_run, worker_run
from .seam import JobTrace, TimedStorage, timed_client

PROMPT = "A paper boat drifts across a rain puddle on a city street, reflections of neon signs"


@dataclass
class Target:
    """The ComfyUI the benchmark runs against.

    Attributes:
        url: its HTTP base URL.
        version: its ``comfyui_version``.
        comfyui_dir: its tree (as given; "" when attached without one).
        input_dir, output_dir: its folders when known (the clean-up of every side uses them).
        log_path: its log when known (model-load lines are counted in it).
        pid: its process when known (resident memory).
        cold_start_s: process start -> ``/system_stats`` answers (None: attached).
        local: the server the benchmark started (stopped at the end), else None.
    """

    url: str
    version: str
    comfyui_dir: str
    input_dir: Path | None
    output_dir: Path | None
    log_path: Path | None
    pid: int | None
    cold_start_s: float | None
    local: LocalComfy | None = None

    def gc_intervals(self, since: float, until: float) -> list[tuple[float, float]] | None:
        """ComfyUI's full collections in [since, until] (epoch s); None when not logged."""
        return self.local.gc_intervals(since, until) if self.local else None

    def stop(self) -> None:
        """Stop the ComfyUI the benchmark started (an attached one keeps running)."""
        if self.local is not None:
            self.local.stop()


def start_target(comfyui_dir: str | None) -> Target:
    """A new throw-away ComfyUI (`bench.comfy_server.start_local_comfy`)."""
    server = start_local_comfy(Path(comfyui_dir) if comfyui_dir else None)
    return Target(server.url, server.version, str(server.comfyui_dir), server.base / "input",
                  server.output_dir, server.log_path, server.proc.pid, server.cold_start_s, server)


def attach_target(url: str, comfyui_dir: str | None = None, log_path: Path | None = None,
                  input_dir: Path | None = None, output_dir: Path | None = None) -> Target:
    """A ComfyUI already running at `url` (e.g. the test session's).

    Raises:
        requests.RequestException: it does not answer ``/system_stats``.
    """
    url = url.rstrip("/")
    stats = requests.get(url + "/system_stats", timeout=30)
    stats.raise_for_status()
    version = stats.json().get("system", {}).get("comfyui_version", "unknown")
    return Target(url, version, comfyui_dir or "", input_dir, output_dir, log_path,
                  _listening_pid(urlsplit(url).port), None)


def _listening_pid(port: int | None) -> int | None:
    """The process listening on TCP `port` here, when the system lets us see it."""
    try:
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
                return conn.pid
    except (psutil.Error, OSError):
        pass
    return None


def settle(url: str) -> None:
    """Wait (at most 30 s) until ComfyUI answers again: its post-prompt pause is over."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/system_stats", timeout=30).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)


def _settings(target: Target, out_dir: Path) -> Settings:
    parts = urlsplit(target.url)
    return load_settings(comfy_host=parts.hostname, comfy_port=parts.port, output_dir=out_dir,
                         comfy_input_dir=target.input_dir, comfy_output_dir=target.output_dir,
                         webhook_url=None)


def _job_input(args: argparse.Namespace, model: str, n: int) -> dict:
    """Job `n` (its own prompt suffix and seed) of the kind `args` describe."""
    job = {"model": model, "prompt": f"{PROMPT} (take {n})", "quality": args.quality,
           "resolution": "720p", "aspect_ratio": args.aspect_ratio, "duration": args.duration,
           "seed": 1000 + n}
    if not args.audio:
        job["audio"] = False
    return job


@dataclass
class WorkerSide:
    """A `JobHandler` built through the seam, and the trace its client, storage and sink fill."""

    handler: Any
    trace: JobTrace

    @classmethod
    def build(cls, settings: Settings, client_class: type, **client_kwargs: Any) -> WorkerSide:
        """`JobHandler(settings, client=..., storage=..., progress_sink=...)`, started."""
        from ltx_worker.delivery.storage import LocalStorage
        from ltx_worker.handler import JobHandler  # the worker, imported as the SDK's process does

        trace = JobTrace()
        client = timed_client(client_class, settings.comfy_url, settings.comfy_request_timeout_s,
                              trace=trace, **client_kwargs)
        handler = JobHandler(settings, client=client, storage=TimedStorage(LocalStorage(), trace),
                             progress_sink=trace.on_progress).start()
        return cls(handler, trace)

    def run(self, loop: asyncio.AbstractEventLoop, target: Target, logwatch: LogWatch, side: str,
            index: int, job_input: dict) -> Run:
        """One job, awaited as the RunPod SDK awaits it; its parts (`measure.worker_run`).

        Raises:
            RuntimeError: the job failed. seam.SeamError: the seam saw too little.
        """
        settle(target.url)
        self.trace.reset()
        logwatch.mark()
        started, t0 = time.time(), time.perf_counter()
        result = loop.run_until_complete(self.handler({"id": f"bench-{index}-{job_input['seed']}",
                                                       "input": job_input}))
        wall = time.perf_counter() - t0
        if "error" in result:
            raise RuntimeError(f"{side} job failed: {result['error']}")
        self.trace.require(f"{side} run {index}")
        run = worker_run(side, index, self.trace, result, started, wall, target.gc_intervals, logwatch.count())
        for key in ("video_path", "poster_path"):
            if result.get(key):
                Path(result[key]).unlink(missing_ok=True)
        return run


def _rebind(template: Any, graph: dict, values: dict) -> dict:
    """A copy of the worker's filled `graph` with `values` set through the template's bindings."""
    graph = json.loads(json.dumps(graph))
    titles = [title_of(node) for node in graph.values()]
    for param, value in values.items():
        for title, input_name in template.params.get(param, []):
            if title in titles:  # nodes the job removed (the enhancer when it is off) are skipped
                graph[template.node_id(graph, title)]["inputs"][input_name] = value
    return graph


def _run_reference(ref: ReferenceClient, template: Any, worker_graph: dict, target: Target,
                   logwatch: LogWatch, job_input: dict, index: int, out_dir: Path) -> Run:
    """The worker's last graph (own seed, prompt, file prefix) through the reference client;
    afterwards, untimed, its history entry and saved file are removed as the worker's are."""
    graph = _rebind(template, worker_graph, {"seed": job_input["seed"], "prompt": job_input["prompt"],
                                             "filename_prefix": f"bench-ref/{index}"})
    settle(target.url)
    logwatch.mark()
    done = ref.run(graph, template.node_id(graph, template.output), out_dir / f"ref-{index}.mp4")
    run = reference_run(index, done, graph, target.gc_intervals, logwatch.count())
    done.video_path.unlink(missing_ok=True)
    ref.http.post(f"{target.url}/history", json={"delete": [done.prompt_id]}, timeout=30)
    if target.output_dir is not None:
        for path in (target.output_dir / "bench-ref").glob(f"{index}_*"):
            path.unlink(missing_ok=True)
    return run


def _rss_mb(pid: int | None, children: bool = False) -> float | None:
    """Resident memory of process `pid` (and its children when asked), MB; None when unknown."""
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        procs = [proc, *(proc.children(recursive=True) if children else [])]
        return sum(p.memory_info().rss for p in procs) / 2**20
    except psutil.Error:
        return None


def run_benchmark(args: argparse.Namespace, log: Callable[[str], None]) -> Report:
    """Run the benchmark `args` describe (``bench.overhead.cli``); returns the report.

    Raises:
        RuntimeError: ComfyUI did not start, cannot run the model, or a job failed.
        seam.SeamError: the worker no longer shows what the benchmark measures.
    """
    import ltx_worker.handler  # noqa: F401  (its RunPod SDK import sets the root logger to INFO)
    from ltx_worker.comfy.client import ComfyClient

    from .proposed import ProposedComfyClient

    for name in ("", "ltx_worker"):  # progress lines only: the SDK's and the worker's INFO off
        logging.getLogger(name).setLevel(logging.WARNING)
    t_start = time.monotonic()
    if args.comfy_url:
        target = attach_target(args.comfy_url, args.comfyui_dir, args.comfy_log, args.comfy_input_dir,
                               args.comfy_output_dir)
        log(f"[bench] ComfyUI {target.version} at {target.url} (already running)")
    else:
        log("[bench] starting ComfyUI (tiny weights, CPU)...")
        target = start_target(args.comfyui_dir)
        log(f"[bench] ComfyUI {target.version} ready in {target.cold_start_s:.1f} s at {target.url}")
    out_dir = Path(tempfile.mkdtemp(prefix="ltxw-bench-out-"))  # the worker's videos and posters
    try:
        settings = _settings(target, out_dir)
        t0 = time.perf_counter()
        worker = WorkerSide.build(settings, ComfyClient)
        worker_start = time.perf_counter() - t0
        served = {m for m, _ in worker.handler.served}
        model = args.model or next((m for m in ("ltx-2-t2v", "ltxv-t2v") if m in served), "ltx-2-t2v")
        if (model, args.quality) not in set(worker.handler.served):
            raise RuntimeError(f"ComfyUI {target.version} cannot run {model} {args.quality}; "
                               f"it runs {sorted(worker.handler.served)}")
        template = worker.handler.templates.get(model, args.quality)
        sides = {"worker": worker}
        if args.proposed:
            sides["proposed"] = WorkerSide.build(settings, ProposedComfyClient, output_dir=target.output_dir)
        logwatch = LogWatch(target.log_path)
        ref = ReferenceClient(target.url)
        loop = asyncio.new_event_loop()
        n = 0
        try:
            cold = None
            if args.cold:
                cold = worker.run(loop, target, logwatch, "worker", 0, _job_input(args, model, n))
                log(f"[bench] cold job: {cold.wall_s:.1f} s (ComfyUI {cold.comfy_s:.1f} s)")
            rounds: list[dict[str, Run]] = []
            for i in range(1, args.pairs + 1):
                runs: dict[str, Run] = {}
                for side in ("worker", "reference", "proposed"):
                    n += 1
                    if side == "reference":
                        runs[side] = _run_reference(ref, template, worker.trace.graph or {}, target, logwatch,
                                                    _job_input(args, model, n), i, out_dir)
                    elif side in sides:
                        runs[side] = sides[side].run(loop, target, logwatch, side, i, _job_input(args, model, n))
                rounds.append(runs)
                log(f"[bench] round {i}/{args.pairs}: " + ", ".join(
                    f"{k} {r.wall_s:.2f} s (+{r.added_s * 1e3:.0f} ms)" for k, r in runs.items()))
        finally:
            loop.close()
        protocol = None
        if args.write_docs and args.protocol_prompts > 0 and target.local is not None:
            log(f"[bench] ComfyUI's pause after a prompt ({args.protocol_prompts} prompts per variant)...")
            protocol = format_results(target.version, measure(target.local, args.protocol_prompts))
        report = Report(
            comfyui_version=target.version, comfyui_dir=target.comfyui_dir, comfy_url=target.url,
            attached=target.local is None, model=model,
            job={k: v for k, v in _job_input(args, model, 0).items() if k not in ("prompt", "seed")},
            cold_start_s=target.cold_start_s, worker_start_s=worker_start, cold=cold, rounds=rounds,
            worker_rss_mb=_rss_mb(os.getpid()) or 0.0,
            worker_peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            comfy_rss_mb=_rss_mb(target.pid, children=True), protocol=protocol,
        )
    finally:
        target.stop()
        shutil.rmtree(out_dir, ignore_errors=True)
    report.machine = machine()
    report.elapsed_s = time.monotonic() - t_start
    return report


def machine() -> dict:
    """The machine the numbers come from: cpu, cores, python, torch, 1-minute load average."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        torch = version("torch")  # ComfyUI's torch, for the record (not imported: seconds)
    except PackageNotFoundError:
        torch = "-"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch, "load_avg_1m": round(os.getloadavg()[0], 2)}
