"""Storage goes away mid-suite: the job fails with UPLOAD_FAILED (retryable) and leaves no file in
OUTPUT_DIR (issue 23, finding 8: a bucket outage must not fill the disk; a retry makes the video
again); after the storage server is back, the next job succeeds and leaves nothing either. Uses
its own moto server."""

from __future__ import annotations

import os

from ltx_worker.config import load_settings
from ltx_worker.handler import JobHandler

from standins import MotoS3
from support import run_job


def test_upload_failed_while_storage_is_down_then_recovers(comfy, tmp_path):
    server = MotoS3(tmp_path / "moto.log").start()
    try:
        server.client().create_bucket(Bucket="videos")
        out_dir = tmp_path / "out"
        handler = JobHandler(
            load_settings(comfy_port=comfy.port, output_dir=out_dir, **server.settings("videos"))
        ).start()
        model = "ltx-2-t2v" if comfy.has_ltx2 else "ltxv-t2v"
        job = {"model": model, "prompt": "a lantern in the fog", "duration": 2, "aspect_ratio": "1:1", "seed": 1}

        server.stop()
        failed = run_job(handler, job, job_id="down-1")
        assert failed["error_code"] == "UPLOAD_FAILED" and failed["retryable"] is True, failed
        assert "videos" in failed["message"] and "test" not in failed["message"]  # no credentials
        assert not os.path.exists(out_dir / "down-1.mp4") and not os.path.exists(out_dir / "down-1.jpg")

        server.start()
        server.client().create_bucket(Bucket="videos")  # moto keeps no state across restarts
        ok = run_job(handler, job, job_id="up-2")
        assert "error" not in ok, ok
        assert server.client().head_object(Bucket="videos", Key=ok["video_key"])["ContentLength"] > 0
        assert not list(out_dir.iterdir())  # uploaded, then removed
    finally:
        server.stop()
