"""`python handler.py` as RunPod starts it: the SDK's own worker loop against a loopback stand-in
of RunPod's job API (RUNPOD_WEBHOOK_GET_JOB / POST_OUTPUT / PING), with storage on moto.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from standardwebhooks import Webhook

from ltx_worker.config import PROJECT_ROOT

from media_samples import edit_clip, tone_wav
from standins import RunPodJobApi
from support import data_uri

SECRET = "whsec_" + base64.b64encode(b"worker-loop-secret-32-bytes-long").decode()


@pytest.fixture(scope="module")
def worker(comfy, s3, receiver, tmp_path_factory):
    """The worker process in RunPod's loop, and the job API stand-in it talks to; jobs may name
    the loopback webhook receiver (signed with SECRET)."""
    api = RunPodJobApi().start()
    out = tmp_path_factory.mktemp("loop")
    env = dict(
        os.environ,
        **api.env(),
        COMFY_PORT=str(comfy.port),
        OUTPUT_DIR=str(out / "output"),
        PROGRESS_INTERVAL_S="0.05",
        BUCKET_ENDPOINT_URL=s3.url,
        BUCKET_NAME="videos",
        BUCKET_ACCESS_KEY_ID="test",
        BUCKET_SECRET_ACCESS_KEY="test",
        BUCKET_REGION="us-east-1",
        BUCKET_PATH_STYLE="true",
        BUCKET_KEY_PREFIX="loop/",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS="true",  # the receiver is on loopback
    )
    log_path = out / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "handler.py"], cwd=PROJECT_ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    yield api, proc, log_path
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    api.stop()


def test_progress_then_the_final_output_reach_runpod(worker, comfy, s3):
    api, proc, log_path = worker
    model = "ltx-2-t2v" if comfy.has_ltx2 else "ltxv-t2v"
    api.add_job("loop-job-1", {"model": model, "prompt": "waves on a rocky shore", "duration": 2, "seed": 5,
                                   "aspect_ratio": "1:1"})
    final = api.wait_final("loop-job-1", timeout_s=240)
    assert final is not None, "no result posted:\n" + log_path.read_text()[-3000:]
    output = final["output"]
    assert "error" not in output, output
    assert output["video_key"] == "loop/loop-job-1.mp4"
    assert output["video_url"].startswith(s3.url) and output["video"]["frames"] == 49
    assert s3.client().head_object(Bucket="videos", Key="loop/loop-job-1.mp4")["ContentType"] == "video/mp4"

    progress = [p["output"] for p in api.results("loop-job-1") if p.get("status") == "IN_PROGRESS"]
    assert len(progress) >= 4, progress
    percents = [p["percent"] for p in progress]
    assert percents == sorted(percents) and percents[0] < 20 and percents[-1] >= 95
    stages = {p["stage"] for p in progress}
    assert {"queued", "stage_1", "decode", "upload"} <= stages, stages
    if comfy.has_ltx2:
        assert {"upscale", "stage_2"} <= stages
    assert any(p["steps"] > 0 for p in progress)  # sampler steps are forwarded
    assert api.pings >= 1 and proc.poll() is None


@pytest.mark.parametrize("kind", ["retake", "extend", "audio-to-video"])
def test_the_version_3_jobs_run_in_the_loop_with_storage_webhook_and_progress(worker, comfy, s3, receiver, kind):
    """Issue 19's three jobs (a retake, an extend, audio to video without a start image) through
    the SDK's worker loop: the MP4 in the bucket, one signed webhook event, progress in order."""
    api, proc, log_path = worker
    clip = data_uri(edit_clip(96, 24, (64, 40)), "video/mp4")
    job = {
        "retake": {"model": "ltx-2.3-edit", "video_url": clip, "retake": {"start_s": 1.0, "duration_s": 2.0}},
        "extend": {"model": "ltx-2.3-edit", "video_url": clip, "extend": {"duration_s": 2.0, "context_s": 1.0}},
        "audio-to-video": {"model": "ltx-2.3-t2v", "audio_url": data_uri(tone_wav(2.0, rate=16_000), "audio/wav"),
                           "aspect_ratio": "1:1"},
    }[kind]
    job_id = f"loop-{kind}"
    api.add_job(job_id, {**job, "prompt": "waves on a rocky shore", "seed": 5, "webhook_url": receiver.url})
    final = api.wait_final(job_id, timeout_s=240)
    assert final is not None, "no result posted:\n" + log_path.read_text()[-3000:]
    output = final["output"]
    assert "error" not in output, output
    assert s3.client().head_object(Bucket="videos", Key=f"loop/{job_id}.mp4")["ContentType"] == "video/mp4"
    events = [Webhook(SECRET).verify(d.body, d.headers) for d in receiver.deliveries
              if d.headers["webhook-id"].startswith(f"msg_{job_id}_")]
    assert len(events) == 1 and events[0]["type"] == "video.succeeded"
    progress = [p["output"] for p in api.results(job_id) if p.get("status") == "IN_PROGRESS"]
    stages = [p["stage"] for p in progress]
    percents = [p["percent"] for p in progress]
    assert percents == sorted(percents) and stages[0] == "inputs" and "decode" in stages
    if kind != "audio-to-video":
        assert "splice" in stages and output["settings"]["edit"]["kind"].startswith(kind)
        assert output["video"]["frames"] == output["settings"]["edit"]["output_frames"]
    else:
        assert output["settings"]["variant"] == "audio" and output["video"]["has_audio"]

