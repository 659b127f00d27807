"""RunPod serverless entry point: ``python handler.py`` (worker loop) or with ``--rp_serve_api``.

Reads the configuration, waits for the local ComfyUI server, checks the workflow templates
against it, then hands the async job handler to the RunPod SDK (`ltx_worker.worker.main`).
The logic is in ltx_worker/.
"""

from ltx_worker.worker import main

if __name__ == "__main__":
    main()
