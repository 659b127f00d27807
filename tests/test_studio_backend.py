"""The example studio backend (examples/studio_backend) against RunPod's endpoint API on loopback.

`create_app` runs under FastAPI's TestClient with a SQLite file in tmp_path and the client
(clients/python) pointed at `standins.RunPodStandIn`. The worker does not run: its signed events
are built with the worker's own `webhook_event` and body layout (ltx_worker/delivery) and signed
with Standard Webhooks, as the worker signs them. The end-to-end run through the real worker loop
and the page in headless Chromium are not here (examples/studio_backend/README.md).
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from standardwebhooks import Webhook

from ltx_worker.delivery.result import webhook_event

from standins import RUNPOD_ENDPOINT, RUNPOD_KEY, RunPodStandIn, failed, job_output, progress

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))
sys.path.insert(0, str(ROOT))

from examples.studio_backend import Settings, create_app  # noqa: E402
from examples.studio_backend.db import Generation, SeenWebhook  # noqa: E402

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
TASK = {"model": "ltx-2.3-i2v", "prompt": "a lighthouse at dusk", "quality": "fast", "resolution": "720p",
        "duration": 10, "camera_lora": None, "seed": 7, "image_urls": ["https://example.com/a.jpg"]}
RUNNING = [{"status": "IN_QUEUE"}, {"status": "IN_PROGRESS"},
           {"status": "IN_PROGRESS", "output": progress("inputs", 0, 0, 1.0)},
           {"status": "IN_PROGRESS", "output": progress("stage_1", 5, 8, 34.4)},
           {"status": "IN_PROGRESS", "output": progress("stage_2", 2, 3, 74.0)}]


def _script(job: dict, job_id: str, attempt: int) -> list[dict]:
    """Jobs stay running (the webhook ends them) unless the prompt asks RunPod to end them."""
    if job["prompt"].startswith("done"):
        return RUNNING + [{"status": "COMPLETED", "output": job_output(job_id, job.get("external_id"))}]
    if job["prompt"].startswith("oom"):
        return RUNNING[:3] + [failed("OUT_OF_MEMORY", "stage 2 ran out of GPU memory")]
    return RUNNING


@pytest.fixture
def standin():
    server = RunPodStandIn(RUNPOD_ENDPOINT, RUNPOD_KEY)
    server.script = _script
    yield server
    server.close()


@pytest.fixture
def app(tmp_path, standin):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'studio.db'}", ltx_endpoint_id=RUNPOD_ENDPOINT,
                        runpod_api_key=RUNPOD_KEY, runpod_base_url=standin.url, webhook_secret=SECRET,
                        public_url="https://studio.example/")
    app = create_app(settings)
    with TestClient(app) as client:
        app.http = client
        yield app


def _event(job_id: str, job_input: dict, result: dict, *, age_s: float = 0,
           msg_id: str | None = None, secret: str = SECRET) -> tuple[bytes, dict]:
    """The worker's webhook request for a finished job: its body (WebhookSender's layout) and signed headers."""
    event_type, data = webhook_event({"id": job_id, "input": job_input}, result)
    when = datetime.now(tz=UTC) - timedelta(seconds=age_s)
    body = json.dumps({"type": event_type, "timestamp": when.isoformat(), "data": data}, separators=(",", ":"))
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    return body.encode(), {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
                           "webhook-signature": Webhook(secret).sign(msg_id, when, body),
                           "content-type": "application/json"}


def _submit(app, task: dict = TASK) -> tuple[dict, dict]:
    """POST the task; the answer and the job RunPod got."""
    answer = app.http.post("/api/generations/studio/ai-video", json=task)
    assert answer.status_code == 201, answer.text
    with app.state.sessions() as session:
        return answer.json(), session.get(Generation, answer.json()["id"]).input


def _rows(app, table) -> int:
    with app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_submit_progress_then_signed_webhook(app, standin):
    created, _ = _submit(app)
    assert created["status"] == "queued" and created["quote"]["basis"]["kind"] == "estimate"
    assert created["quote"]["gpu"] == "H100" and created["quote"]["usd"] > 0
    (run,) = standin.posts("run")
    sent = run["body"]["input"]
    assert sent["webhook_url"] == "https://studio.example/webhooks/ltx" and sent["external_id"] == created["id"]
    assert run["headers"]["Authorization"] == f"Bearer {RUNPOD_KEY}" and sent["seed"] == 7
    path = f"/api/generations/{created['id']}"
    seen = [app.http.get(path).json() for _ in range(5)]
    assert [g["status"] for g in seen] == ["running"] * 5
    assert [(g["progress"] or {}).get("percent") for g in seen] == [None, 1.0, 34.4, 74.0, 74.0]
    assert seen[-1]["progress"]["message"] == "stage 2: step 2/3"
    job_id = seen[-1]["runpod_job_id"]

    body, headers = _event(job_id, sent, job_output(job_id, created["id"]))
    assert app.http.post("/webhooks/ltx", content=body, headers=headers).json() == {"status": "recorded"}
    done = app.http.get(path).json()
    assert done["status"] == "completed" and done["video_url"] == f"https://bucket.example/{job_id}.mp4"
    assert done["progress"]["percent"] == 100.0 and done["error"] is None
    assert done["cost"] == {"gpu_seconds": 95.6, "usd": round(95.6 * created["quote"]["price"]["usd_per_s"], 6),
                            "source": "quote price"}
    status_calls = len([r for r in standin.requests if "/status/" in r["path"]])
    assert status_calls == 5  # a finished generation is not asked about again

    replay = app.http.post("/webhooks/ltx", content=body, headers=headers)
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
    # another event for the finished generation (a new webhook-id): signed, but it changes nothing
    again, other = _event(job_id, sent, {"error": json.dumps({"code": "INTERNAL", "message": "x", "retryable": False})})
    assert app.http.post("/webhooks/ltx", content=again, headers=other).json() == {"status": "already finished"}
    assert app.http.get(path).json() == done


def test_a_bad_task_is_refused_before_anything_is_sent(app, standin):
    answer = app.http.post("/api/generations/studio/ai-video", json={**TASK, "duration": 25})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "INVALID_INPUT" and error["fields"][0].startswith("duration:")
    rule = app.http.post("/api/generations/studio/ai-video",
                         json={**TASK, "model": "ltx-2.5-i2v", "resolution": "2160p", "duration": 15})
    assert rule.status_code == 422
    assert rule.json()["error"]["message"].startswith("duration: 15 s at 2160p is over LTX-2.5 (22B)'s limit")
    ours = app.http.post("/api/generations/studio/ai-video", json={**TASK, "webhook_url": "https://evil.example/"})
    assert ours.status_code == 422 and ours.json()["error"]["fields"] == [
        "webhook_url: set by the studio backend, not by the task"]
    assert app.http.post("/api/generations/studio/ai-video", json=["not", "an", "object"]).status_code == 422
    assert standin.requests == [] and _rows(app, Generation) == 0


def test_unsigned_tampered_and_stale_webhooks_record_nothing(app):
    created, sent = _submit(app)
    job_id = app.http.get(f"/api/generations/{created['id']}").json()["runpod_job_id"]
    output = job_output(job_id, created["id"])
    body, headers = _event(job_id, sent, output)
    tampered = body.replace(b"bucket.example", b"evil.example")
    stale_body, stale = _event(job_id, sent, output, age_s=600)
    _, wrong_secret = _event(job_id, sent, output, secret="whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==")
    unsigned = {"content-type": "application/json"}
    for content, sent_headers in ((tampered, headers), (stale_body, stale), (body, wrong_secret), (body, unsigned)):
        answer = app.http.post("/webhooks/ltx", content=content, headers=sent_headers)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "WEBHOOK_REFUSED"
    assert _rows(app, SeenWebhook) == 0
    gen = app.http.get(f"/api/generations/{created['id']}").json()
    assert gen["status"] == "running" and gen["video_url"] is None and gen["error"] is None
    assert app.http.post("/webhooks/ltx", content=body, headers=headers).json() == {"status": "recorded"}
    assert _rows(app, SeenWebhook) == 1


def test_a_failed_event_records_the_error(app):
    created, sent = _submit(app)
    job_id = app.http.get(f"/api/generations/{created['id']}").json()["runpod_job_id"]
    error = {"code": "UPLOAD_FAILED", "message": "the bucket said 403", "retryable": True}
    body, headers = _event(job_id, sent, {"error": json.dumps(error), "error_code": "UPLOAD_FAILED"})
    assert app.http.post("/webhooks/ltx", content=body, headers=headers).json() == {"status": "recorded"}
    gen = app.http.get(f"/api/generations/{created['id']}").json()
    assert gen["status"] == "failed" and gen["error"] == error and gen["video_url"] is None
    body, headers = _event("job-someone-else", {**sent, "external_id": "gen_unknown"}, job_output("x", None))
    assert app.http.post("/webhooks/ltx", content=body, headers=headers).json() == {"status": "ignored"}


def test_runpod_status_ends_a_generation_whose_webhook_was_lost(app):
    done, _ = _submit(app, {**TASK, "prompt": "done without a webhook"})
    oom, _ = _submit(app, {**TASK, "prompt": "oom on stage 2"})
    for _ in range(6):
        last = app.http.get(f"/api/generations/{done['id']}").json()
        failure = app.http.get(f"/api/generations/{oom['id']}").json()
    assert last["status"] == "completed" and last["video_url"].endswith(f"{last['runpod_job_id']}.mp4")
    assert failure["status"] == "failed" and failure["error"] == {
        "code": "OUT_OF_MEMORY", "message": "stage 2 ran out of GPU memory", "retryable": True}
    assert app.http.get("/api/generations/gen_nope").status_code == 404


def test_the_page(app):
    page = app.http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<form" in page.text and "<video" in page.text and "/api/generations/studio/ai-video" in page.text
    assert "<script src" not in page.text  # no external scripts, no build step
