"""`python handler.py --rp_serve_api`: RunPod's local API in front of the worker and a real ComfyUI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests

from ltx_worker.config import PROJECT_ROOT

from media_samples import edit_clip
from support import data_uri, free_port


@pytest.fixture(scope="module")
def local_api(comfy, tmp_path_factory):
    port = free_port()
    out_dir = tmp_path_factory.mktemp("api-out")
    log = open(out_dir / "api.log", "wb")  # noqa: SIM115
    env = dict(os.environ, COMFY_PORT=str(comfy.port), OUTPUT_DIR=str(out_dir))
    proc = subprocess.Popen(
        [sys.executable, "handler.py", "--rp_serve_api", "--rp_api_host", "127.0.0.1",
         "--rp_api_port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/docs", timeout=1)
            break
        except requests.ConnectionError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    else:
        proc.kill()
    if proc.poll() is not None:
        pytest.fail("local API did not start:\n" + (out_dir / "api.log").read_text()[-3000:])
    yield url
    proc.terminate()
    proc.wait(10)


def t2v_input(comfy) -> dict:
    model = "ltx-2-t2v" if comfy.has_ltx2 else "ltxv-t2v"
    return {"model": model, "prompt": "a paper boat on a puddle", "duration": 2, "seed": 3, "aspect_ratio": "1:1"}


def test_runsync_returns_the_video(comfy, local_api):
    resp = requests.post(local_api + "/runsync", json={"input": t2v_input(comfy)}, timeout=600)
    body = resp.json()
    assert body["status"] == "COMPLETED", body
    out = body["output"]
    assert out["video"]["frames"] == 49 and out["video"]["width"] == 704
    assert os.path.isfile(out["video_path"])


def test_run_then_status_gives_the_same_shape(comfy, local_api):
    job_id = requests.post(local_api + "/run", json={"input": t2v_input(comfy)}, timeout=30).json()["id"]
    body = requests.post(f"{local_api}/status/{job_id}", timeout=600).json()  # POST in the SDK
    assert body["status"] == "COMPLETED", body
    assert {"video_path", "video", "seed", "settings", "timings", "prompt_id"} <= set(body["output"])


def test_bad_input_fails_with_a_structured_error(local_api):
    body = requests.post(local_api + "/runsync", json={"input": {"model": "ltx-2-t2v", "prompt": "a"}},
                         timeout=60).json()
    assert body["status"] == "FAILED"
    error = json.loads(body["error"])
    assert error["code"] == "INVALID_INPUT" and error["retryable"] is False
    assert "prompt" in error["message"]


def test_an_edit_runs_through_the_local_api(local_api):
    """A retake (issue 19) through `--rp_serve_api`'s /runsync: the source's length and size."""
    job = {"model": "ltx-2.3-edit", "prompt": "the sea turns stormy", "seed": 3,
           "video_url": data_uri(edit_clip(96, 24, (64, 40)), "video/mp4"),
           "retake": {"start_s": 1.0, "duration_s": 2.0, "replace": "video"}}
    body = requests.post(local_api + "/runsync", json={"input": job}, timeout=600).json()
    assert body["status"] == "COMPLETED", body
    out = body["output"]
    assert (out["video"]["frames"], out["video"]["width"], out["video"]["height"]) == (96, 64, 40)
    assert out["settings"]["edit"]["replace"] == "video" and os.path.isfile(out["video_path"])
