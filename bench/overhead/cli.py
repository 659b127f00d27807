"""The command: ``python -m bench.overhead [options]`` (options: ``--help``; the method:
`bench.overhead`). Prints the table and the worker / reference wall-time ratio on stdout,
progress on stderr; exit status 0 when the worker meets every target, 1 otherwise."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from ltx_worker.config import PROJECT_ROOT

from . import __doc__ as package_doc

DOCS = PROJECT_ROOT / "docs"


def parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = argparse.ArgumentParser(prog="python -m bench.overhead", description=package_doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=10, help="warm rounds (worker, reference[, proposed]) (default 10)")
    p.add_argument("--comfyui-dir", default=os.environ.get("COMFYUI_DIR"),
                   help="ComfyUI tree to start (default $COMFYUI_DIR, else the installed one)")
    p.add_argument("--comfy-url", help="use the ComfyUI running here (e.g. http://127.0.0.1:8188) instead of "
                   "starting one; it must have the model's (tiny) weights")
    p.add_argument("--comfy-log", type=Path, help="with --comfy-url: its log (model-load lines are counted)")
    p.add_argument("--comfy-input-dir", type=Path, help="with --comfy-url: its input folder (clean-up)")
    p.add_argument("--comfy-output-dir", type=Path, help="with --comfy-url: its output folder (clean-up; "
                   "the proposed client moves the MP4 out of it)")
    p.add_argument("--model", help="default ltx-2-t2v when ComfyUI has LTX-2, else ltxv-t2v")
    p.add_argument("--quality", choices=["fast", "pro"], default="fast")
    p.add_argument("--aspect-ratio", choices=["16:9", "9:16", "1:1"], default="1:1",
                   help="1:1 (704x704) by default: the smallest 720p job")
    p.add_argument("--duration", type=int, default=2, help="seconds of video (default 2, the least)")
    p.add_argument("--no-audio", dest="audio", action="store_false",
                   help='jobs with "audio": false (LTX-2.x: no sound track to generate; a smaller job)')
    p.add_argument("--no-cold", dest="cold", action="store_false",
                   help="no cold job first (a smoke run: round 1's worker job then loads what it needs)")
    p.add_argument("--no-proposed", dest="proposed", action="store_false",
                   help="skip the worker with the proposed client (bench/overhead/proposed.py)")
    p.add_argument("--write-docs", action="store_true",
                   help="write docs/benchmarks.md and docs/benchmarks-overhead.png")
    p.add_argument("--protocol-prompts", type=int, default=4,
                   help="with --write-docs: prompts per bench.protocol variant (default 4; 0 skips)")
    p.add_argument("--json", type=Path, help="write the raw per-run numbers here")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def _command(args: argparse.Namespace, comfyui_dir: str) -> str:
    """The command line docs/benchmarks.md gives to reproduce the run."""
    command = ""
    if args.comfyui_dir:
        command = f"COMFYUI_DIR={comfyui_dir} "
    elif os.environ.get("COMFYUI_ARCHIVE"):  # scripts/install_comfyui.sh installs it (README)
        command = f"COMFYUI_ARCHIVE={os.environ['COMFYUI_ARCHIVE']} "
    command += f".venv/bin/python -m bench.overhead --pairs {args.pairs}"
    if args.model:
        command += f" --model {args.model}"
    if not args.audio:
        command += " --no-audio"
    return command + " --write-docs"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0 when the worker meets every target, 1 otherwise."""
    from .docs import write_docs
    from .report import print_table, summarize
    from .runner import run_benchmark

    p = parser()
    args = p.parse_args(argv)
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    if args.write_docs and (args.comfy_url or not args.cold):
        p.error("--write-docs measures a ComfyUI it starts itself and its cold job; drop --comfy-url, --no-cold")
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    report = run_benchmark(args, log)
    s = summarize(report)
    print_table(report, s)
    if args.json:
        args.json.write_text(json.dumps({**asdict(report), "summary": s}, indent=2, default=str))
    if args.write_docs:
        write_docs(report, s, DOCS / "benchmarks.md", DOCS / "benchmarks-overhead.png",
                   _command(args, report.comfyui_dir))
        print(f"wrote {DOCS / 'benchmarks.md'} and {DOCS / 'benchmarks-overhead.png'}")
    return 0 if all(c[2] for k, c in s["checks"].items() if not k.startswith("proposed")) else 1
