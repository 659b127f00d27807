"""Keep ComfyUI running: start it, and start it again whenever it exits (SPEC.md, entrypoint.sh
"restarts ComfyUI if it dies").

``python -m ltx_worker.comfy.supervisor [--cwd DIR] [--pidfile FILE] -- <command...>`` runs the command
(entrypoint.sh passes ComfyUI's ``python main.py ...``), restarts it after it exits with a
backoff that doubles while it keeps dying young (1 s up to 30 s; reset once it has lived 60 s),
and on SIGTERM/SIGINT stops it and exits. The current child's pid is written to `--pidfile`.

While ComfyUI is down, a running job fails fast with COMFY_UNAVAILABLE (the client notices
the websocket drop) and the handler waits for ComfyUI to answer again before the next prompt.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger("ltx_worker.comfy.supervisor")


class Supervisor:
    """Runs `cmd` in `cwd` and restarts it when it exits, until `stop` is called.

    Args:
        cmd: the command (argv list).
        cwd: its working directory.
        pidfile: where the running child's pid is written (optional).
        backoff_s, max_backoff_s: first and largest pause before a restart (seconds).
        stable_s: a child that lived this long resets the backoff (seconds).
    """

    def __init__(
        self,
        cmd: list[str],
        cwd: Path | None = None,
        pidfile: Path | None = None,
        *,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        stable_s: float = 60.0,
    ) -> None:
        self.cmd, self.cwd, self.pidfile = cmd, cwd, pidfile
        self.backoff_s, self.max_backoff_s, self.stable_s = backoff_s, max_backoff_s, stable_s
        self.restarts = 0
        self.child: subprocess.Popen | None = None
        self._stopping = threading.Event()

    def run(self) -> int:
        """Supervise until `stop`; returns 0."""
        pause = self.backoff_s
        while not self._stopping.is_set():
            started = time.monotonic()
            self.child = subprocess.Popen(self.cmd, cwd=self.cwd)
            if self.pidfile:
                self.pidfile.write_text(str(self.child.pid))
            code = self.child.wait()
            if self._stopping.is_set():
                break
            lived = time.monotonic() - started
            if lived >= self.stable_s:
                pause = self.backoff_s
            self.restarts += 1
            log.warning("ComfyUI exited with %s after %.0f s; restart %d in %.0f s",
                        code, lived, self.restarts, pause)
            self._stopping.wait(pause)
            pause = min(pause * 2, self.max_backoff_s)
        return 0

    def stop(self, *_: object) -> None:
        """Stop the child (SIGTERM, then SIGKILL after 10 s) and end `run`."""
        self._stopping.set()
        child = self.child
        if child and child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


def main(argv: list[str] | None = None) -> int:
    """Command line entry (see the module doc)."""
    parser = argparse.ArgumentParser(prog="python -m ltx_worker.comfy.supervisor")
    parser.add_argument("--cwd", type=Path)
    parser.add_argument("--pidfile", type=Path)
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the command to supervise")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given")
    logging.basicConfig(level=logging.INFO, format="[supervisor] %(message)s")
    sup = Supervisor(cmd, args.cwd, args.pidfile)
    signal.signal(signal.SIGTERM, sup.stop)
    signal.signal(signal.SIGINT, sup.stop)
    return sup.run()


if __name__ == "__main__":
    sys.exit(main())
