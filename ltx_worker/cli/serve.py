"""``ltx-worker serve``: RunPod's local API in front of the worker and a running ComfyUI.

The same as ``python handler.py --rp_serve_api --rp_api_host HOST --rp_api_port PORT``: the
handler waits for ComfyUI, checks the templates, then RunPod's SDK serves ``POST /run``,
``POST /runsync``, ``/status/<id>`` and its docs at ``http://HOST:PORT/docs``, exactly as the
deployed worker answers (job input and output: README.md). Configuration comes from the
environment (COMFY_HOST, COMFY_PORT, OUTPUT_DIR, BUCKET_*, ...); ``--comfy-url`` sets
COMFY_HOST/COMFY_PORT for this run. Stops on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlsplit


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` command."""
    p = subparsers.add_parser("serve", help="RunPod's local API (/run, /runsync, /status) for the worker",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--comfy-url", help="ComfyUI's http://host:port (default COMFY_HOST/COMFY_PORT)")
    p.add_argument("--log-level", choices=("ERROR", "WARN", "INFO", "DEBUG"),
                   help="the RunPod SDK's log level (--rp_log_level)")
    p.set_defaults(func=cmd_serve)


def rp_argv(args: argparse.Namespace) -> list[str]:
    """The RunPod SDK arguments ``serve`` stands for (after the program name)."""
    argv = ["--rp_serve_api", "--rp_api_host", args.host, "--rp_api_port", str(args.port)]
    if args.log_level:
        argv += ["--rp_log_level", args.log_level]
    return argv


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the worker (`worker.main`, what handler.py runs) with ``--rp_serve_api`` in this
    process; returns when the server stops.

    Returns 2 for a bad ``--comfy-url``; otherwise what the worker ends with (0 on Ctrl-C).
    """
    if args.comfy_url:
        parts = urlsplit(args.comfy_url)
        if parts.scheme != "http" or not parts.hostname:
            print(f"error: --comfy-url: expected http://host:port, got {args.comfy_url!r}", file=sys.stderr)
            return 2
        os.environ["COMFY_HOST"] = parts.hostname
        os.environ["COMFY_PORT"] = str(parts.port or 80)
    from ..worker import main  # the same start-up as handler.py, not a copy of it

    sys.argv = ["handler.py", *rp_argv(args)]  # the RunPod SDK parses sys.argv itself
    try:
        main()
    except KeyboardInterrupt:
        return 0
    except SystemExit as exit_:  # main() exits 1/2 when the worker cannot start
        return int(exit_.code or 0)
    return 0
