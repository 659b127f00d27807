"""RunPod serverless entry point: ``python handler.py`` (worker loop) or with ``--rp_serve_api``.

Reads the configuration, waits for the local ComfyUI server, checks the workflow templates
against it, then hands the async job handler to the RunPod SDK. The logic is in ltx_worker/.
"""

import logging

import runpod

from ltx_worker.config import load_settings
from ltx_worker.handler import JobHandler


def main() -> None:
    """Start the worker (blocks until the SDK's loop or local API ends)."""
    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = JobHandler(settings).start()
    runpod.serverless.start({"handler": handler})


if __name__ == "__main__":
    main()
