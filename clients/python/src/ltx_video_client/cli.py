"""``ltx-video``: submit, follow, cancel and price jobs on an ltx-worker RunPod endpoint.

    ltx-video submit JOB [--wait]        # JOB: a JSON file, - (stdin) or inline JSON; prints the job id
    ltx-video status JOB_ID
    ltx-video wait JOB_ID [--timeout S]  # a progress line on stderr, then the output JSON
    ltx-video cancel JOB_ID
    ltx-video quote JOB [--gpu H100] [--table bench.json] [--source-s S] [--source-fps F] [--json]

The endpoint and key come from LTX_ENDPOINT_ID and RUNPOD_API_KEY (LTX_RUNPOD_BASE_URL or
``--base-url`` for another API address). Exit status: 0 done; 1 the job failed (its code and
message on stderr); 2 the job or the command line is invalid; 3 RunPod's API failed; 4 the wait
timed out (the job goes on).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .client import DEFAULT_BASE_URL, LTXClient
from .errors import APIError, InvalidInputError, JobFailed, WaitTimeoutError
from .outputs import Progress
from .quote import quote, quote_dict


def _job(text: str) -> dict[str, Any]:
    """A job from a file path, ``-`` (stdin) or inline JSON; a RunPod body's ``input`` is unwrapped."""
    raw = sys.stdin.read() if text == "-" else text if text.lstrip().startswith("{") else Path(text).read_text()
    job = json.loads(raw)
    return job["input"] if isinstance(job, dict) and set(job) == {"input"} else job


def _client(args: argparse.Namespace) -> LTXClient:
    endpoint, key = os.environ.get("LTX_ENDPOINT_ID", ""), os.environ.get("RUNPOD_API_KEY", "")
    if not endpoint or not key:
        raise SystemExit("ltx-video: set LTX_ENDPOINT_ID and RUNPOD_API_KEY")
    return LTXClient(endpoint, key, base_url=args.base_url)


class ProgressLine:
    """Draws ``[######....]  42.0%  stage 1: step 5/8`` on one terminal line (stderr)."""

    def __init__(self, stream=None, width: int = 30) -> None:
        self.stream, self.width, self.drawn = stream or sys.stderr, width, False

    def __call__(self, progress: Progress) -> None:
        """Redraw the line for `progress`."""
        filled = int(self.width * progress.percent / 100)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {progress.percent:5.1f}%  {progress.message}"
        self.stream.write("\r" + line[:110].ljust(110))
        self.stream.flush()
        self.drawn = True

    def end(self) -> None:
        """End the line (when one was drawn)."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _wait(client: LTXClient, job: Any, timeout_s: float | None) -> int:
    line = ProgressLine()
    try:
        output = client.wait(job, on_progress=line, timeout_s=timeout_s)
    finally:
        line.end()
    _print(output.model_dump(mode="json"))
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line (module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(prog="ltx-video", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("LTX_RUNPOD_BASE_URL", DEFAULT_BASE_URL),
                        help="RunPod's endpoint API (default %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("submit", help="check and queue a job; prints its id")
    p.add_argument("job", help="a JSON file, - for stdin, or inline JSON")
    p.add_argument("--wait", action="store_true", help="then wait for it, showing progress")
    p.add_argument("--timeout", type=float, help="seconds --wait waits at most")
    for name, what in (("status", "RunPod's status object of a job"), ("cancel", "cancel a job")):
        sub.add_parser(name, help=what).add_argument("job_id")
    p = sub.add_parser("wait", help="wait for a job, showing progress; prints its output")
    p.add_argument("job_id")
    p.add_argument("--timeout", type=float, help="seconds to wait at most")
    p = sub.add_parser("quote", help="expected GPU seconds and US$ of a job (no request)")
    p.add_argument("job", help="a JSON file, - for stdin, or inline JSON")
    p.add_argument("--gpu", default="H100", help="GPU to price (default %(default)s)")
    p.add_argument("--table", help="a bench/gpu_cost --json file (default $LTX_GPU_COST_JSON)")
    p.add_argument("--usd-per-s", type=float, help="your own price per GPU second")
    p.add_argument("--source-s", type=float, help="an edit's source video length in seconds (default: unknown, "
                                                  "the context is priced in full)")
    p.add_argument("--source-fps", type=float, default=24.0, help="an edit's source frame rate (default 24)")
    p.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    try:
        if args.command == "quote":
            q = quote(_job(args.job), args.gpu, table=args.table, usd_per_s=args.usd_per_s, source_s=args.source_s,
                      source_fps=args.source_fps)
            if args.json:
                _print(quote_dict(q))
            else:
                print(f"{q.gpu_seconds:.1f} GPU s on {q.gpu} = ${q.usd:.4f}  ({q.basis})")
                for note in q.notes:
                    print(f"  {note}")
            return 0
        with _client(args) as client:
            if args.command == "submit":
                handle = client.submit(_job(args.job))
                print(handle.job_id)
                return _wait(client, handle, args.timeout) if args.wait else 0
            if args.command == "wait":
                return _wait(client, args.job_id, args.timeout)
            status = client.status(args.job_id) if args.command == "status" else client.cancel(args.job_id)
            _print(status.raw())
            return 0
    except (InvalidInputError, ValueError, OSError) as err:  # json errors are ValueErrors
        print(f"ltx-video: {err}", file=sys.stderr)
        return 2
    except JobFailed as err:
        print(f"ltx-video: job failed: {err} (retryable: {str(err.retryable).lower()})", file=sys.stderr)
        return 1
    except WaitTimeoutError as err:
        print(f"ltx-video: {err}", file=sys.stderr)
        return 4
    except APIError as err:
        print(f"ltx-video: {err}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
