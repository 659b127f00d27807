"""Keep ComfyUI running: start it, and start it again whenever it exits (SPEC.md, entrypoint.sh
"restarts ComfyUI if it dies").

``python -m ltx_worker.comfy.supervisor [--cwd DIR] [--pidfile FILE] -- <command...>`` runs the command
(entrypoint.sh passes ComfyUI's ``python main.py ...``), restarts it after it exits with a
backoff that doubles while it keeps dying young (1 s up to 30 s; reset once it has lived 60 s),
and on SIGTERM/SIGINT stops it (SIGTERM; SIGKILL only if it is still there 10 s later) and exits.
The child is started with a parent-death signal (Linux PR_SET_PDEATHSIG): if the supervisor is
killed outright, ComfyUI is killed with it. The current child's pid is written to `--pidfile`.
The child gets an allowlisted environment (`process.comfy_environment`, plus the names given with
``--env-allow``): the worker's secrets (bucket keys, webhook secret, HF_TOKEN) never reach it.

While ComfyUI is down, a running job fails fast with COMFY_UNAVAILABLE (the client notices
the websocket drop) and the handler waits for ComfyUI to answer again before the next prompt.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .process import comfy_environment, die_with_parent

log = logging.getLogger("ltx_worker.comfy.supervisor")


class Supervisor:
    """Runs `cmd` in `cwd` and restarts it when it exits, until `stop` is called.

    Only `run` waits on the child (one place reaps it); `stop` merely sets a flag and sends the
    child SIGTERM, so it is safe in a signal handler: waiting there would deadlock on the
    `subprocess.Popen` lock that `run`, interrupted inside ``wait``, holds. The child gets SIGKILL
    when the supervisor dies (`die_with_parent`), so ComfyUI never runs unsupervised.

    Args:
        cmd: the command (argv list).
        cwd: its working directory.
        pidfile: where the running child's pid is written (optional).
        backoff_s, max_backoff_s: first and largest pause before a restart (seconds).
        stable_s: a child that lived this long resets the backoff (seconds).
        kill_after_s: a child still running this long after `stop` gets SIGKILL (seconds).
        env: the child's environment; `process.comfy_environment()` (the allowlist) when None.
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
        kill_after_s: float = 10.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.cmd, self.cwd, self.pidfile = cmd, cwd, pidfile
        self.env = comfy_environment() if env is None else env
        self.backoff_s, self.max_backoff_s, self.stable_s = backoff_s, max_backoff_s, stable_s
        self.kill_after_s = kill_after_s
        self.restarts = 0
        self.child: subprocess.Popen | None = None
        self.stop_requested_at: float | None = None  # time.monotonic() of the first `stop`

    @property
    def stopping(self) -> bool:
        """Whether `stop` has been called."""
        return self.stop_requested_at is not None

    def run(self) -> int:
        """Supervise until `stop`; returns 0 once the child has exited."""
        pause = self.backoff_s
        while not self.stopping:
            started = time.monotonic()
            self.child = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, preexec_fn=die_with_parent())
            if self.stopping:  # stop() ran while the child was starting: it may have missed it
                self._terminate(self.child)
            if self.pidfile:
                self.pidfile.write_text(str(self.child.pid))
            code = self._wait(self.child)
            if self.stopping:
                log.info("ComfyUI stopped (exit %s) %.1f s after the stop request", code,
                         time.monotonic() - (self.stop_requested_at or 0.0))
                break
            lived = time.monotonic() - started
            if lived >= self.stable_s:
                pause = self.backoff_s
            self.restarts += 1
            log.warning("ComfyUI exited with %s after %.0f s; restart %d in %.0f s",
                        code, lived, self.restarts, pause)
            self._sleep(pause)
            pause = min(pause * 2, self.max_backoff_s)
        return 0

    def stop(self, *_: object) -> None:
        """End `run`: SIGTERM the child now (`run` waits for it, and sends SIGKILL when it is
        still there `kill_after_s` later). Never blocks; usable as a signal handler."""
        if self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()
        if self.child is not None:
            self._terminate(self.child)

    @staticmethod
    def _terminate(child: subprocess.Popen) -> None:
        if child.returncode is None:  # not reaped yet, so the pid is still the child's
            try:
                os.kill(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def _wait(self, child: subprocess.Popen) -> int:
        """Wait for `child` to exit (the only place that reaps it); SIGKILL it when it outlives
        a stop request by `kill_after_s`."""
        killed = False
        while True:
            try:
                return child.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                if not killed and self.stop_requested_at is not None \
                        and time.monotonic() - self.stop_requested_at > self.kill_after_s:
                    log.warning("ComfyUI still runs %.1f s after SIGTERM; sending SIGKILL", self.kill_after_s)
                    child.kill()
                    killed = True

    def _sleep(self, seconds: float) -> None:
        """Sleep up to `seconds`, returning early once `stop` is called."""
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))


def main(argv: list[str] | None = None) -> int:
    """Command line entry (see the module doc)."""
    parser = argparse.ArgumentParser(prog="python -m ltx_worker.comfy.supervisor")
    parser.add_argument("--cwd", type=Path)
    parser.add_argument("--pidfile", type=Path)
    parser.add_argument("--env-allow", action="append", default=[], metavar="NAMES",
                        help="comma-separated environment variables the child gets beside the allowlist")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the command to supervise")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given")
    logging.basicConfig(level=logging.INFO, format="[supervisor] %(message)s")
    allow = [name for value in args.env_allow for name in value.split(",")]
    sup = Supervisor(cmd, args.cwd, args.pidfile, env=comfy_environment(allow=allow))
    signal.signal(signal.SIGTERM, sup.stop)
    signal.signal(signal.SIGINT, sup.stop)
    return sup.run()


if __name__ == "__main__":
    sys.exit(main())
