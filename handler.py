"""RunPod serverless entry point: ``python handler.py`` (worker loop) or with ``--rp_serve_api``.

Reads the configuration, waits for the local ComfyUI server, checks the workflow templates
against it, then hands the async job handler to the RunPod SDK. The logic is in ltx_worker/.
"""

import logging
import sys

import runpod

from ltx_worker.config import ConfigError, load_settings
from ltx_worker.errors import WorkerError
from ltx_worker.handler import JobHandler


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


if __name__ == "__main__":
    main()
