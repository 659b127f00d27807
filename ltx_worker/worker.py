"""The worker process: configuration, ComfyUI check, then the RunPod SDK's loop (or local API).

`main` is what ``python handler.py`` and ``ltx-worker serve`` run: read the configuration, wait for
the local ComfyUI server, check the workflow templates against it, then hand the async job
handler to ``runpod.serverless.start`` (which reads its own flags, e.g. ``--rp_serve_api``, from
sys.argv).
"""

from __future__ import annotations

import logging
import sys

import runpod

from .config import ConfigError, load_settings
from .errors import WorkerError
from .handler import JobHandler


def main() -> None:
    """Start the worker (blocks until the SDK's loop or local API ends)."""
    try:
        settings = load_settings()
    except ConfigError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        force=True)  # `import runpod` already configured the root logger
    try:
        handler = JobHandler(settings).start()
    except WorkerError as err:  # e.g. MODEL_MISSING: refuse to take jobs, say exactly why
        logging.getLogger("ltx_worker").error("the worker cannot take jobs: [%s] %s", err.code.value, err.message)
        sys.exit(1)
    if settings.warmup:
        handler.warm_up()
    runpod.serverless.start({"handler": handler})

