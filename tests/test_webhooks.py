"""Signed webhook deliveries to a real HTTP receiver on loopback (no ComfyUI needed)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from standardwebhooks import Webhook

from ltx_worker.delivery.webhooks import EVENT_SUCCEEDED, WebhookSender, check_webhook_url
from ltx_worker.errors import WorkerError

from standins import WebhookReceiver

SECRET = "whsec_" + base64.b64encode(b"a-test-secret-of-32-bytes-length").decode()


@pytest.fixture
def receiver():
    rec = WebhookReceiver().start()
    yield rec
    rec.stop()


@pytest.fixture
def loopback_allowed(monkeypatch):
    """The receiver is on loopback: open the RunPod SDK's escape hatch for these tests."""
    monkeypatch.setenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", "true")


def test_one_signed_delivery_that_verifies(receiver, loopback_allowed):
    report = WebhookSender(SECRET).deliver(receiver.url, EVENT_SUCCEEDED, {"job_id": "j1", "n": 1})
    assert report.delivered and report.attempts == 1 and report.status == 200
    assert len(receiver.deliveries) == 1
    got = receiver.deliveries[0]
    event = Webhook(SECRET).verify(got.body, got.headers)  # raises when the signature is wrong
    assert event["type"] == EVENT_SUCCEEDED and event["data"] == {"job_id": "j1", "n": 1}
    assert got.headers["webhook-id"] == report.webhook_id


def test_a_tampered_body_does_not_verify(receiver, loopback_allowed):
    WebhookSender(SECRET).deliver(receiver.url, EVENT_SUCCEEDED, {"job_id": "j2"})
    got = receiver.deliveries[0]
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(SECRET).verify(got.body.replace(b"j2", b"j3"), got.headers)


def test_two_500s_then_200_lands_on_the_third_attempt(loopback_allowed):
    rec = WebhookReceiver(statuses=[500, 500, 200]).start()
    try:
        report = WebhookSender(SECRET, max_total_s=20).deliver(rec.url, EVENT_SUCCEEDED, {"x": 1})
    finally:
        rec.stop()
    assert report.delivered and report.attempts == 3 and report.status == 200
    ids = {d.headers["webhook-id"] for d in rec.deliveries}
    assert len(rec.deliveries) == 3 and len(ids) == 1  # one event id across retries
    for d in rec.deliveries:
        Webhook(SECRET).verify(d.body, d.headers)


def test_a_4xx_answer_is_not_retried(loopback_allowed):
    rec = WebhookReceiver(statuses=[404]).start()
    try:
        report = WebhookSender(SECRET).deliver(rec.url, EVENT_SUCCEEDED, {})
    finally:
        rec.stop()
    assert not report.delivered and report.attempts == 1 and report.status == 404


def test_a_receiver_that_never_answers_costs_at_most_the_bound(loopback_allowed):
    rec = WebhookReceiver(hang=True).start()
    sender = WebhookSender(SECRET, attempt_timeout_s=1.0, max_attempts=10, max_total_s=3.0)
    t0 = time.monotonic()
    try:
        report = sender.deliver(rec.url, EVENT_SUCCEEDED, {})
    finally:
        rec.stop()
    elapsed = time.monotonic() - t0
    assert not report.delivered and report.status is None
    assert elapsed < 3.0 + 1.5, elapsed


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data", "http://10.0.0.5/x",
    "http://192.168.1.1/x", "http://[::1]/x", "ftp://example.com/x", "file:///etc/passwd",
])
def test_private_and_non_http_webhook_urls_are_refused(url, monkeypatch):
    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    with pytest.raises(WorkerError) as err:
        check_webhook_url(url)
    assert err.value.code.value == "INVALID_INPUT" and "webhook_url" in err.value.message


def test_delivery_to_a_private_address_makes_no_connection(receiver, monkeypatch):
    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    report = WebhookSender(SECRET).deliver(receiver.url, EVENT_SUCCEEDED, {})
    assert not report.delivered and "SSRF" in report.error
    assert receiver.deliveries == []


def test_the_event_body_is_compact_json(receiver, loopback_allowed):
    WebhookSender(SECRET).deliver(receiver.url, EVENT_SUCCEEDED, {"a": [1, 2]})
    body = json.loads(receiver.deliveries[0].body)
    assert set(body) == {"type", "timestamp", "data"}
