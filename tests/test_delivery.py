"""Delivery of a real job: S3-compatible storage (moto server), signed webhook, inline output.

Jobs run through the worker's handler against the session's real ComfyUI on tiny weights.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import time

import pytest
import requests
from PIL import Image
from standardwebhooks import Webhook

from ltx_worker.config import load_settings
from ltx_worker.delivery.result import deliver_files, job_cost
from ltx_worker.handler import JobHandler

from standins import WebhookReceiver
from support import run_job

SECRET = "whsec_" + base64.b64encode(b"delivery-test-secret-32-bytes-ok").decode()


def t2v(comfy, **extra) -> dict:
    model = "ltx-2-t2v" if comfy.has_ltx2 else "ltxv-t2v"
    return {"model": model, "prompt": "a red kite over a green hill", "duration": 2, "seed": 11,
            "aspect_ratio": "1:1", **extra}


@pytest.fixture(scope="module")
def stored(comfy, s3, receiver, tmp_path_factory):
    """One successful job delivered to the bucket with a webhook, run once for the module."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", "true")  # the receiver is on loopback
    out_dir = tmp_path_factory.mktemp("stored-out")
    settings = load_settings(
        comfy_port=comfy.port, output_dir=out_dir, webhook_secret=SECRET,
        bucket_key_prefix="jobs/", inline_max_bytes=64 << 20,  # room for the MP4 whatever the tiny weights paint
        **s3.settings("videos"),
    )
    handler = JobHandler(settings).start()
    job_input = t2v(comfy, webhook_url=receiver.url, external_id="studio-42", return_base64=True)
    result = run_job(handler, job_input, job_id="job-abc_1")
    yield {"result": result, "out_dir": out_dir, "handler": handler}
    mp.undo()


def test_the_video_object_is_at_the_job_key_with_its_content_type(stored, s3):
    result = stored["result"]
    assert "error" not in result, result
    assert result["video_key"] == "jobs/job-abc_1.mp4" and result["poster_key"] == "jobs/job-abc_1.jpg"
    head = s3.client().head_object(Bucket="videos", Key=result["video_key"])
    assert head["ContentType"] == "video/mp4"
    assert head["ContentLength"] == result["video"]["bytes"]
    body = s3.client().get_object(Bucket="videos", Key=result["video_key"])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == result["video"]["sha256"]


def test_the_presigned_url_downloads_the_same_bytes(stored):
    result = stored["result"]
    assert "X-Amz-Signature" in result["video_url"]
    resp = requests.get(result["video_url"], timeout=30)
    assert resp.status_code == 200
    assert hashlib.sha256(resp.content).hexdigest() == result["video"]["sha256"]


def test_the_poster_is_a_decodable_jpeg_of_the_video_size(stored, s3):
    result = stored["result"]
    head = s3.client().head_object(Bucket="videos", Key=result["poster_key"])
    assert head["ContentType"] == "image/jpeg"
    img = Image.open(io.BytesIO(requests.get(result["poster_url"], timeout=30).content))
    img.load()
    assert img.format == "JPEG" and img.size == (result["video"]["width"], result["video"]["height"])


def test_facts_are_measured_and_local_copies_are_gone(stored):
    result = stored["result"]
    facts = result["video"]
    assert facts["content_type"] == "video/mp4" and facts["frames"] == result["settings"]["frames"]
    assert facts["duration_s"] == pytest.approx(facts["frames"] / facts["fps"], abs=0.01)
    assert result["video_path"] is None and result["poster_path"] is None
    assert list(stored["out_dir"].iterdir()) == []  # deleted once uploaded
    assert set(result["timings"]) == {"inputs_s", "generation_s", "upload_s", "total_s"}
    assert result["prompt_id"] and result["external_id"] == "studio-42"


def test_inline_base64_when_asked_and_under_the_cap(stored):
    result = stored["result"]
    raw = base64.b64decode(result["video_base64"])
    assert hashlib.sha256(raw).hexdigest() == result["video"]["sha256"]


def test_exactly_one_signed_success_event(stored, receiver):
    result = stored["result"]
    events = [Webhook(SECRET).verify(d.body, d.headers) for d in receiver.deliveries
              if d.headers["webhook-id"].startswith("msg_job-abc_1_")]
    assert len(events) == 1
    event = events[0]
    assert event["type"] == "video.succeeded"
    assert event["data"]["job_id"] == "job-abc_1" and event["data"]["external_id"] == "studio-42"
    assert event["data"]["output"]["video"]["sha256"] == result["video"]["sha256"]
    assert result["webhook"]["delivered"] is True and result["webhook"]["attempts"] == 1


def test_a_failed_job_sends_one_signed_failure_event(stored, comfy, receiver):
    handler = stored["handler"]
    result = run_job(handler, {"model": "ltx-2-t2v", "prompt": "a", "webhook_url": receiver.url},
                     job_id="job-bad")
    assert result["error_code"] == "INVALID_INPUT"
    events = [Webhook(SECRET).verify(d.body, d.headers) for d in receiver.deliveries
              if d.headers["webhook-id"].startswith("msg_job-bad_")]
    assert len(events) == 1
    assert events[0]["type"] == "video.failed"
    assert events[0]["data"]["error"]["code"] == "INVALID_INPUT"
    assert "prompt" in events[0]["data"]["error"]["message"]


def test_a_webhook_that_never_answers_does_not_hold_the_result(comfy, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", "true")
    rec = WebhookReceiver(hang=True).start()
    settings = load_settings(comfy_port=comfy.port, output_dir=tmp_path, webhook_secret=SECRET,
                             webhook_attempt_timeout_s=1, webhook_max_total_s=2)
    handler = JobHandler(settings)  # no ComfyUI call is needed for a job refused at validation
    t0 = time.monotonic()
    try:
        result = run_job(handler, {"model": "ltx-2-t2v", "prompt": "", "webhook_url": rec.url})
    finally:
        rec.stop()
    assert result["error_code"] == "INVALID_INPUT"
    assert result["webhook"]["delivered"] is False
    assert time.monotonic() - t0 < 2 + 1.5


def test_webhook_url_is_refused_without_a_secret_or_to_a_private_address(comfy, tmp_path, monkeypatch):
    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    no_secret = JobHandler(load_settings(comfy_port=comfy.port, output_dir=tmp_path))
    result = run_job(no_secret, t2v(comfy, webhook_url="https://example.com/hook"))
    assert result["error_code"] == "INVALID_INPUT" and "WEBHOOK_SECRET" in result["message"]
    signed = JobHandler(load_settings(comfy_port=comfy.port, output_dir=tmp_path, webhook_secret=SECRET))
    result = run_job(signed, t2v(comfy, webhook_url="http://169.254.169.254/latest"))
    assert result["error_code"] == "INVALID_INPUT" and "webhook_url" in result["message"]


def test_inline_base64_over_the_cap_is_left_out_with_a_warning(stored, job_handler, comfy, tmp_path):
    """`_deliver_files` on a real MP4 (made by a job) with a 1-byte inline cap."""
    result = run_job(job_handler, t2v(comfy), job_id="inline-local")
    assert "error" not in result, result
    video = tmp_path / "copy.mp4"
    shutil.copy(result["video_path"], video)
    tight = JobHandler(load_settings(comfy_port=comfy.port, output_dir=tmp_path, inline_max_bytes=1))
    out = deliver_files(tight.storage, video, tmp_path / "copy.jpg", "copy", True, tight.settings.inline_max_bytes)
    assert "video_base64" not in out and "INLINE_MAX_BYTES" in out["warnings"][0]


def test_public_base_url_mode_gives_plain_urls(s3, tmp_path):
    from ltx_worker.delivery.storage import S3Storage

    settings = load_settings(output_dir=tmp_path, bucket_public_base_url="https://cdn.example.com/v/",
                             bucket_key_prefix="p/", **s3.settings("videos"))
    f = tmp_path / "x y.jpg"
    Image.new("RGB", (8, 8)).save(f, format="JPEG")
    stored = S3Storage(settings).put(f, "x y.jpg", "image/jpeg")
    assert stored.url == "https://cdn.example.com/v/p/x%20y.jpg" and stored.key == "p/x y.jpg"
    assert s3.client().head_object(Bucket="videos", Key="p/x y.jpg")["ContentType"] == "image/jpeg"


def test_the_result_carries_gpu_seconds_and_the_cost_when_priced(stored, comfy, tmp_path):
    cost = stored["result"]["cost"]
    assert cost["gpu_seconds"] == stored["result"]["timings"]["total_s"] and cost["usd"] is None
    priced = JobHandler(load_settings(comfy_port=comfy.port, output_dir=tmp_path, gpu_price_per_hour=3.6))
    assert job_cost(10.0, priced.settings.gpu_price_per_hour) == {
        "gpu_seconds": 10.0, "price_per_gpu_hour": 3.6, "usd": 0.01}
