"""The worker process: configuration, ComfyUI check, then the RunPod SDK's loop (or local API).

`main` is what ``python handler.py`` and ``ltx-worker serve`` run: read the configuration, wait for
the local ComfyUI server, check the workflow templates against it, then hand the async job
handler to ``runpod.serverless.start`` (which reads its own flags, e.g. ``--rp_serve_api``, from
sys.argv).

SIGTERM (RunPod scaling the worker down; entrypoint.sh forwards it) and SIGINT end the process
within seconds (`Shutdown`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

import runpod
import uvicorn
from runpod.serverless.modules import rp_scale

from .config import ConfigError, load_settings
from .errors import ErrorCode, WorkerError
from .handler import JobHandler
from .models.prefetch import check_fetch_profiles, prefetch_models

log = logging.getLogger("ltx_worker")

#: Seconds a signal leaves running jobs to stop their prompt and report, before the rest ends.
JOB_STOP_S = 5.0


class Shutdown:
    """Ends the worker on SIGTERM/SIGINT, interrupting a job in flight and reporting it.

    runpod 1.12's own handlers only stop taking jobs: its worker loop waits for the running job
    to finish and for its long polls (the stop channel's up to 90 s), and the local API (uvicorn)
    waits for open requests. Here a signal instead cancels the running jobs, as a RunPod stop
    does (the handler interrupts the prompt in ComfyUI and removes the job's files); each one
    returns a retryable CANCELLED error, which the SDK reports. After that (at most `JOB_STOP_S`)
    the local API is told to exit, and anything else (the worker loop, a local test job) ends by
    cancelling every task of the event loop, so that ``runpod.serverless.start`` raises
    CancelledError. Outside an event loop (start-up) the signal raises SystemExit.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.jobs: set[asyncio.Task] = set()
        self.server: uvicorn.Server | None = None  # the local API's, once signalled

    def install(self) -> None:
        """Handle SIGTERM/SIGINT here, also where the SDK's worker loop and uvicorn set their own."""
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)

        def scaler_shutdown(scaler: rp_scale.JobScaler, signum: int, frame: object) -> None:
            scaler.kill_worker()  # the SDK's own: take no more jobs
            self.on_signal(signum, frame)

        def server_exit(server: uvicorn.Server, signum: int, frame: object) -> None:
            self.server = server
            self.on_signal(signum, frame)

        rp_scale.JobScaler.handle_shutdown = scaler_shutdown  # type: ignore[method-assign]
        uvicorn.Server.handle_exit = server_exit  # type: ignore[method-assign]

    def wrap(self, handler: Callable[[dict], Awaitable[dict]]) -> Callable[[dict], Awaitable[dict]]:
        """`handler` as the SDK gets it: its running jobs are known, and one cancelled by a
        signal returns a CANCELLED error (a RunPod stop still raises, as the SDK expects).

        A `JobHandler` also gets that error as its `stop_reason`: the video.failed event it sends
        for the cancelled job (before the CancelledError reaches here) carries the same error.
        """
        if isinstance(handler, JobHandler):
            handler.stop_reason = self.stopped_error

        async def handle(job: dict) -> dict:
            task = asyncio.current_task()
            self.jobs.add(task)
            try:
                return await handler(job)
            except asyncio.CancelledError:
                err = self.stopped_error()
                if err is None:
                    raise
                task.uncancel()  # the job is over; let the SDK post its result
                return err.to_output()
            finally:
                self.jobs.discard(task)

        return handle

    def stopped_error(self) -> WorkerError | None:
        """The retryable CANCELLED error of a job a signal stopped; None while no signal came."""
        if self.signum is None:
            return None
        return WorkerError(
            ErrorCode.CANCELLED,
            f"the worker was stopped ({signal.Signals(self.signum).name}, e.g. RunPod scaling down) while the "
            "job ran; its prompt was interrupted in ComfyUI. Submit the job again.",
            retryable=True,
        )

    def on_signal(self, signum: int, frame: object = None) -> None:
        """The signal handler (see the class doc)."""
        first = self.signum is None
        self.signum = self.signum or signum
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not serving yet
            raise SystemExit(128 + signum) from None
        if first:
            log.warning("%s: stopping the worker (%d job(s) running)", signal.Signals(signum).name, len(self.jobs))
            loop.call_soon_threadsafe(loop.create_task, self._stop())

    async def _stop(self) -> None:
        jobs = set(self.jobs)
        for task in jobs:
            task.cancel()
        pending = (await asyncio.wait(jobs, timeout=JOB_STOP_S))[1] if jobs else set()
        if self.server is not None:  # the local API: uvicorn's own shutdown, now that no job runs
            self.server.should_exit, self.server.force_exit = True, bool(pending)
            return
        me = asyncio.current_task()
        for task in asyncio.all_tasks():
            if task is not me:
                task.cancel()


def main() -> None:
    """Start the worker (blocks until the SDK's loop or local API ends, or a signal)."""
    try:
        settings = load_settings()
        check_fetch_profiles(settings)  # the profile names against models.txt's (config knows none)
    except ConfigError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        force=True)  # `import runpod` already configured the root logger
    shutdown = Shutdown()
    shutdown.install()
    try:
        prefetch_models(settings)  # MODELS_FETCH_PROFILES: missing model files onto the volume first
        handler = JobHandler(settings).start()
    except WorkerError as err:  # e.g. MODEL_MISSING: refuse to take jobs, say exactly why
        log.error("the worker cannot take jobs: [%s] %s", err.code.value, err.message)
        sys.exit(1)
    try:
        if settings.warmup:
            handler.warm_up()
        runpod.serverless.start({"handler": shutdown.wrap(handler)})
    except asyncio.CancelledError:
        if shutdown.signum is None:
            raise
    if shutdown.signum is not None:
        log.warning("worker stopped by %s", signal.Signals(shutdown.signum).name)
        sys.exit(128 + shutdown.signum)
