"""What an edit costs beside a fresh video, on tiny weights on the CPU (issue 19).

    python -m bench.edit_cost [--side 704] [--rounds 1]

Starts a throw-away CPU ComfyUI with the tiny weights (`bench.comfy_server`), then runs through
the worker's `JobHandler`, side by side in one run: a retake of 3 s at 20 s in a 30 s source
(`ltx-2.3-edit` fast; the source is made here, `--side` pixels square, 24 fps, with sound) and a
fresh 3 s `ltx-2.3-t2v` fast job at 720p 1:1 (704x704). A warm-up job loads the models first.
It prints a table of wall seconds, the worker's CPU seconds (this process: source checks, window
cut, splice, upload), ComfyUI's CPU seconds, and the ratio of the edit's total CPU to the t2v's.

Tiny random weights make the transformer nearly free, so these figures weigh the worker's own
video work (decode, re-encode, splice of a 30 s source) against ComfyUI's graph, which on a GPU
with real weights is the other way round: read them as the edit's overhead, not its GPU cost.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import resource
import sys
import tempfile
import time
from pathlib import Path

import psutil

from ltx_worker.config import load_settings
from ltx_worker.handler import JobHandler

from .comfy_server import start_local_comfy


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _source(seconds: float, side: int) -> bytes:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from media_samples import edit_clip  # the suite's smooth source with a tone

    return edit_clip(int(seconds * 24), 24, (side, side))


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print its table; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.edit_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=704, help="the source's side in pixels (default 704)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each job (default 1)")
    args = parser.parse_args(argv)
    comfy = start_local_comfy()
    try:
        out = Path(tempfile.mkdtemp(prefix="ltxw-edit-cost-"))
        settings = load_settings(comfy_port=comfy.port, output_dir=out, comfy_input_dir=comfy.base / "input",
                                 comfy_output_dir=comfy.base / "output")
        handler = JobHandler(settings).start()
        clip = "data:video/mp4;base64," + base64.b64encode(_source(30.0, args.side)).decode()
        jobs = {
            "retake 3 s of a 30 s source (ltx-2.3-edit fast)": {
                "model": "ltx-2.3-edit", "prompt": "a wave breaks over the rocks", "video_url": clip,
                "retake": {"start_s": 20.0, "duration_s": 3.0}},
            "fresh 3 s t2v (ltx-2.3-t2v fast, 704x704)": {
                "model": "ltx-2.3-t2v", "prompt": "a wave breaks over the rocks", "duration": 3,
                "aspect_ratio": "1:1"},
        }
        asyncio.run(handler({"id": "warm", "input": {**jobs["fresh 3 s t2v (ltx-2.3-t2v fast, 704x704)"],
                                                     "duration": 2}}))
        rows = []
        for name, job in jobs.items():
            for n in range(args.rounds):
                cpu0, comfy0, t0 = _cpu_self(), _cpu_of(comfy.proc.pid), time.monotonic()
                result = asyncio.run(handler({"id": f"cost-{n}-{len(rows)}", "input": {**job, "seed": n}}))
                if "error" in result:
                    print(f"{name}: {result['error']}", file=sys.stderr)
                    return 1
                rows.append((name, time.monotonic() - t0, _cpu_self() - cpu0, _cpu_of(comfy.proc.pid) - comfy0))
        print("| job | wall s | worker CPU s | ComfyUI CPU s | total CPU s |")
        print("|---|---|---|---|---|")
        for name, wall, worker, comfy_cpu in rows:
            print(f"| {name} | {wall:.1f} | {worker:.1f} | {comfy_cpu:.1f} | {worker + comfy_cpu:.1f} |")
        edit = sum(r[2] + r[3] for r in rows if r[0].startswith("retake"))
        fresh = sum(r[2] + r[3] for r in rows if r[0].startswith("fresh"))
        print(f"\nedit / fresh total CPU: {edit / fresh:.2f}")
    finally:
        comfy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
