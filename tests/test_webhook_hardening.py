"""Webhook hardening (security issue, webhook half): a hostile answer, a job-chosen host, an SSRF
refusal's text and a cancelled job, each against real loopback servers (no ComfyUI needed).

- Finding 1: the answer's body is never read (gzip bomb, endless body, drip of the body) and a
  wall-clock watchdog cuts an attempt (drip of the headers, a server that never answers), so the
  job's result comes back within WEBHOOK_MAX_TOTAL_S + 1 s and the worker's memory hardly grows.
- Finding 6: a job's webhook_url must name a host of WEBHOOK_ALLOWED_HOSTS (default: WEBHOOK_URL's).
- Finding 7: an SSRF refusal says so in general words; the resolved address goes to the log only.
- Finding 9: a job cancelled by RunPod or stopped by SIGTERM sends video.failed / CANCELLED.

Memory is measured with tracemalloc (peak of the Python heap during the delivery, all threads)
and `resource.getrusage` (growth of the process's peak RSS); `FIGURES` lines print both with
the seconds taken (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import gc
import json
import logging
import resource
import signal
import socket
import threading
import time
import tracemalloc
import zlib
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from standardwebhooks import Webhook

from ltx_worker.config import ConfigError, load_settings
from ltx_worker.delivery.webhooks import EVENT_FAILED, WebhookSender, check_webhook_url
from ltx_worker.errors import WorkerError
from ltx_worker.handler import JobHandler
from ltx_worker.worker import Shutdown

from standins import WebhookReceiver
from support import free_port

SECRET = "whsec_" + base64.b64encode(b"hardening-test-secret-32-bytes!!").decode()
MAX_TOTAL_S = 1.0  # WEBHOOK_MAX_TOTAL_S of these tests
ATTEMPT_S = 0.6  # WEBHOOK_ATTEMPT_TIMEOUT_S
DRIP_FOR_S = 6.0  # how long a dripping server drips before it gives up (the old code waited it out)
MB = 1 << 20


# -- hostile servers ----------------------------------------------------------------------------

@functools.cache
def bomb(size: int = 200 * MB) -> bytes:
    """A gzip stream of `size` zero bytes (about 200 KB; made once, in 0.6 s)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MB)
    return b"".join(packer.compress(zeros) for _ in range(size // MB)) + packer.flush()


class Hostile:
    """A raw TCP server on loopback that answers every connection with `behaviour`.

    Behaviours: ``gzip_bomb`` (200 OK, Content-Encoding gzip, 200 MB inflated), ``endless_body``
    (200 OK, then a body without end, capped at 128 MB so that the old code finishes),
    ``drip_body`` (200 OK, then one body byte every 0.25 s), ``drip_headers`` (the status line and
    headers one byte every 0.25 s), ``silent`` (accepts, never reads, never answers) and
    ``redirect`` (301 to `location`).
    """

    def __init__(self, behaviour: str, location: str = "") -> None:
        self.behaviour, self.location = behaviour, location
        self.connections = 0
        self.stop_event = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/video"
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop_event.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            body += chunk

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        end = time.monotonic() + DRIP_FOR_S
        for byte in data:
            if self.stop_event.is_set() or time.monotonic() > end:
                return
            conn.sendall(bytes([byte]))
            time.sleep(0.25)

    def _answer(self, conn: socket.socket) -> None:
        try:
            if self.behaviour == "silent":
                self.stop_event.wait(30)
                return
            self._read_request(conn)
            if self.behaviour == "gzip_bomb":
                body = bomb()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
            elif self.behaviour == "endless_body":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
                chunk = b"x" * 65536
                for _ in range(128 * MB // len(chunk)):
                    if self.stop_event.is_set():
                        break
                    conn.sendall(chunk)
            elif self.behaviour == "drip_body":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                self._drip(conn, b"x" * 100000)
            elif self.behaviour == "drip_headers":
                self._drip(conn, b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 60000 + b"\r\n\r\n")
            elif self.behaviour == "redirect":
                conn.sendall(b"HTTP/1.1 301 Moved Permanently\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
                             % self.location.encode())
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.sock.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


HOSTILE = ["gzip_bomb", "endless_body", "drip_body", "drip_headers", "silent", "redirect"]


@pytest.fixture
def loopback_allowed(monkeypatch):
    """The servers are on loopback: open the RunPod SDK's escape hatch for these tests."""
    monkeypatch.setenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", "true")


@pytest.fixture
def hostile(request, loopback_allowed):
    """The hostile server named by the test's parameter (and, for `redirect`, the receiver it
    points at, which must get nothing)."""
    if request.param == "gzip_bomb":
        bomb()  # made before the measurement
    target = WebhookReceiver().start() if request.param == "redirect" else None
    server = Hostile(request.param, location=target.url if target else "")
    yield SimpleNamespace(server=server, target=target, name=request.param)
    server.stop()
    if target:
        target.stop()


@contextmanager
def measured(label: str):
    """Seconds taken, tracemalloc's peak and the peak-RSS growth (MB) of the block, printed."""
    gc.collect()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures: dict = {}
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        yield figures
    finally:
        figures["s"] = round(time.monotonic() - t0, 2)
        figures["heap_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / MB, 2)
        tracemalloc.stop()
        figures["maxrss_growth_mb"] = round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024, 1)
        print(f"\nFIGURES {label}: {figures}")


def _handler(tmp_path, **settings) -> JobHandler:
    """A handler never started: its ComfyUI port has nothing (or `comfy_port`'s stand-in) on it."""
    base = dict(comfy_port=free_port(), output_dir=tmp_path, webhook_secret=SECRET, comfy_request_timeout_s=1,
                comfy_recover_timeout_s=0.1, webhook_attempt_timeout_s=ATTEMPT_S, webhook_max_total_s=MAX_TOTAL_S)
    return JobHandler(load_settings(**{**base, **settings}))


def _invalid_job(url: str, job_id: str = "job-hostile") -> dict:
    """A job refused at validation (empty prompt): its video.failed event still goes to `url`."""
    return {"id": job_id, "input": {"model": "ltx-2-t2v", "prompt": "", "webhook_url": url}}


# -- finding 1: the answer cannot hold the delivery or the result -------------------------------

@pytest.mark.parametrize("hostile", HOSTILE, indirect=True)
def test_a_hostile_answer_does_not_hold_the_delivery(hostile):
    sender = WebhookSender(SECRET, attempt_timeout_s=ATTEMPT_S, max_attempts=5, max_total_s=MAX_TOTAL_S)
    with measured(f"deliver {hostile.name}") as fig:
        report = sender.deliver(hostile.server.url, EVENT_FAILED, {"job_id": "j"})
    assert fig["s"] < MAX_TOTAL_S + 1, (fig, report)
    assert fig["heap_peak_mb"] < 20, fig
    assert hostile.server.connections >= 1
    if hostile.name == "redirect":
        assert report.status == 301 and not report.delivered and report.attempts == 1
        assert hostile.target.deliveries == []  # not followed
    elif hostile.name in ("drip_headers", "silent"):
        assert not report.delivered and report.status is None, report
    else:  # the status line came: 200 is enough, the body is not read
        assert report.delivered and report.status == 200, report


@pytest.mark.parametrize("hostile", HOSTILE, indirect=True)
def test_a_hostile_answer_does_not_hold_the_job_result(hostile, tmp_path):
    handler = _handler(tmp_path)
    with measured(f"handler {hostile.name}") as fig:
        result = asyncio.run(handler(_invalid_job(hostile.server.url)))
    assert result["error_code"] == "INVALID_INPUT" and "webhook" in result, result
    assert fig["s"] < MAX_TOTAL_S + 1, (fig, result["webhook"])
    assert fig["heap_peak_mb"] < 20, fig
    if hostile.name == "redirect":
        assert hostile.target.deliveries == []


def test_the_request_asks_for_an_unencoded_answer(loopback_allowed):
    rec = WebhookReceiver().start()
    try:
        WebhookSender(SECRET).deliver(rec.url, EVENT_FAILED, {"job_id": "j"})
    finally:
        rec.stop()
    assert rec.deliveries[0].headers["accept-encoding"] == "identity"


def test_the_result_never_waits_past_the_bound_even_when_delivery_hangs(tmp_path, monkeypatch):
    """Whatever the sending thread does (here: blocked in name resolution for 30 s), the handler
    returns within WEBHOOK_MAX_TOTAL_S plus its margin and says the delivery timed out."""
    from runpod.serverless.utils import rp_ssrf

    release, calls = threading.Event(), []

    def slow_dns(host: str, port: int) -> list[str]:
        calls.append(host)
        if len(calls) > 1:  # the first is the check at job start; the delivery's hangs
            release.wait(10)
        return ["127.0.0.1"]

    monkeypatch.setenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", "true")
    monkeypatch.setattr(rp_ssrf, "resolve_and_validate", slow_dns)
    handler = _handler(tmp_path, webhook_max_total_s=0.5)
    url = f"http://slow-dns.test:{free_port()}/hook"
    t0 = time.monotonic()
    try:
        result = asyncio.run(handler(_invalid_job(url)))
    finally:
        release.set()
    took = time.monotonic() - t0
    assert took < 0.5 + 1, took
    assert result["webhook"]["delivered"] is False and "WEBHOOK_MAX_TOTAL_S" in result["webhook"]["error"]


# -- finding 6: a job's webhook_url must name an allowed host -----------------------------------

def test_a_job_webhook_url_outside_the_allowlist_is_refused_naming_the_field(tmp_path, loopback_allowed):
    rec = WebhookReceiver().start()
    try:
        handler = _handler(tmp_path, webhook_allowed_hosts="127.0.0.1")
        outside = rec.url.replace("127.0.0.1", "localhost")
        result = asyncio.run(handler(_invalid_job(outside)))
        assert result["error_code"] == "INVALID_INPUT" and result["message"].startswith("webhook_url"), result
        assert "WEBHOOK_ALLOWED_HOSTS" in result["message"] and "webhook" not in result
        assert rec.deliveries == []
        inside = asyncio.run(handler(_invalid_job(rec.url, job_id="job-inside")))
        assert inside["webhook"]["delivered"] is True, inside
    finally:
        rec.stop()
    event = Webhook(SECRET).verify(rec.deliveries[0].body, rec.deliveries[0].headers)
    assert event["data"]["job_id"] == "job-inside"


def test_the_allowlist_defaults_to_the_host_of_webhook_url(tmp_path, loopback_allowed):
    rec = WebhookReceiver().start()
    try:
        handler = _handler(tmp_path, webhook_url=rec.url)
        assert handler.settings.webhook_allowed_host_list == ["127.0.0.1"]
        result = asyncio.run(handler(_invalid_job(rec.url.replace("127.0.0.1", "localhost"))))
        assert result["error_code"] == "INVALID_INPUT" and result["message"].startswith("webhook_url")
        assert rec.deliveries == []
        default = asyncio.run(handler({"id": "job-default", "input": {"model": "ltx-2-t2v", "prompt": ""}}))
        assert default["webhook"]["delivered"] is True
    finally:
        rec.stop()


def test_allowed_host_patterns():
    from ltx_worker.config_rules import host_matches

    assert host_matches("hooks.example.com", ["hooks.example.com"])
    assert host_matches("HOOKS.Example.COM.", ["hooks.example.com"])
    assert host_matches("a.b.example.com", ["*.example.com"])
    assert not host_matches("example.com", ["*.example.com"])
    assert not host_matches("evil-example.com", ["*.example.com"])
    assert not host_matches("hooks.example.com.evil.net", ["hooks.example.com"])
    assert host_matches("::1", ["[::1]"])
    settings = load_settings(webhook_allowed_hosts=" Hooks.Example.com, *.studio.io ,")
    assert settings.webhook_allowed_host_list == ["hooks.example.com", "*.studio.io"]


@pytest.mark.parametrize("env, needle", [
    ({"webhook_allowed_hosts": "https://hooks.example.com"}, "WEBHOOK_ALLOWED_HOSTS"),
    ({"webhook_allowed_hosts": "*"}, "WEBHOOK_ALLOWED_HOSTS"),
    ({"webhook_allowed_hosts": "a.example.com", "webhook_url": "https://b.example.com/h",
      "webhook_secret": SECRET}, "WEBHOOK_URL"),
])
def test_bad_allowlists_are_refused_at_start(env, needle):
    with pytest.raises(ConfigError, match=needle):
        load_settings(**env)


def test_an_open_allowlist_is_warned_about_at_start(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="ltx_worker.delivery.webhooks"):
        _handler(tmp_path)
    assert any("WEBHOOK_ALLOWED_HOSTS" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ltx_worker.delivery.webhooks"):
        _handler(tmp_path, webhook_allowed_hosts="hooks.example.com")
    assert not any("WEBHOOK_ALLOWED_HOSTS" in r.getMessage() for r in caplog.records)


# -- finding 7: SSRF refusals do not echo the resolved address ----------------------------------

ADDRESSES = ("127.0.0.1", "::1", "10.1.2.3")


@pytest.mark.parametrize("url", ["http://localhost:1/", "http://10.1.2.3/", "http://[::1]/"])
def test_ssrf_refusals_name_no_address(url, tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    with pytest.raises(WorkerError) as err:
        check_webhook_url(url)
    result = asyncio.run(_handler(tmp_path)(_invalid_job(url)))
    with caplog.at_level(logging.WARNING, logger="ltx_worker.delivery.webhooks"):
        report = WebhookSender(SECRET).deliver(url, EVENT_FAILED, {})
    assert err.value.message.startswith("webhook_url: refused") and result["error_code"] == "INVALID_INPUT"
    assert not report.delivered and report.attempts == 1 and "SSRF" in report.error
    for text in (err.value.message, json.dumps(result), report.error):
        assert not any(a in text for a in ADDRESSES), text
    assert any("non-public address" in r.getMessage() for r in caplog.records)  # the detail: logged


# -- finding 9: a cancelled or stopped job sends video.failed / CANCELLED -----------------------

@pytest.fixture
def hung_comfy():
    """A ComfyUI stand-in that accepts connections and never answers."""
    server = Hostile("silent")
    yield server
    server.stop()


async def _until(check, timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < end, "the job never reached ComfyUI"
        await asyncio.sleep(0.02)


def _t2v(url: str) -> dict:
    return {"model": "ltx-2-t2v", "prompt": "a calm sea at dawn", "duration": 2, "webhook_url": url,
            "external_id": "studio-9"}


def _cancelled_events(rec: WebhookReceiver) -> list[dict]:
    return [Webhook(SECRET).verify(d.body, d.headers) for d in rec.deliveries]


def test_a_cancelled_job_sends_video_failed_cancelled(tmp_path, hung_comfy, loopback_allowed):
    rec = WebhookReceiver().start()
    handler = _handler(tmp_path, comfy_port=hung_comfy.port, job_deadline_s=1.0)

    async def scenario() -> float:
        task = asyncio.create_task(handler({"id": "job-cancel-1", "input": _t2v(rec.url)}))
        await _until(lambda: hung_comfy.connections >= 1)  # the job is waiting on ComfyUI
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task  # re-raised after the event, as the SDK expects
        return time.monotonic() - t0

    try:
        took = asyncio.run(scenario())
    finally:
        rec.stop()
    events = _cancelled_events(rec)
    assert len(events) == 1 and events[0]["type"] == "video.failed"
    data = events[0]["data"]
    assert data["job_id"] == "job-cancel-1" and data["external_id"] == "studio-9"
    assert data["error"]["code"] == "CANCELLED" and data["error"]["retryable"] is False
    assert took < MAX_TOTAL_S + 1, took


def test_a_cancelled_job_waits_on_an_unanswering_webhook_only_within_the_bound(tmp_path, hung_comfy):
    silent = Hostile("silent")
    handler = _handler(tmp_path, comfy_port=hung_comfy.port, job_deadline_s=1.0,
                       webhook_max_total_s=0.8, webhook_attempt_timeout_s=0.5)

    async def scenario() -> float:
        task = asyncio.create_task(handler({"id": "job-cancel-2", "input": _t2v(silent.url)}))
        await _until(lambda: hung_comfy.connections >= 1)
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - t0

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", "true")
        try:
            took = asyncio.run(scenario())
        finally:
            silent.stop()
    assert silent.connections >= 1 and took < 0.8 + 1, took


def test_a_sigterm_stopped_job_sends_a_retryable_cancelled_event(tmp_path, hung_comfy, loopback_allowed):
    """worker.Shutdown's path (SIGTERM/SIGINT): the job task is cancelled by `Shutdown._stop`;
    the handler sends the event that the wrapper's own result also reports, then the wrapper
    returns that result. Here the local-API path (`Shutdown.server` set) ends `_stop` without
    cancelling the test's own task."""
    rec = WebhookReceiver().start()
    handler = _handler(tmp_path, comfy_port=hung_comfy.port, job_deadline_s=1.0)
    shutdown = Shutdown()
    shutdown.server = SimpleNamespace(should_exit=False, force_exit=False)
    wrapped = shutdown.wrap(handler)

    async def scenario() -> dict:
        task = asyncio.create_task(wrapped({"id": "job-stopped-1", "input": _t2v(rec.url)}))
        await _until(lambda: hung_comfy.connections >= 1)
        shutdown.on_signal(signal.SIGTERM)
        return await asyncio.wait_for(task, 5)

    try:
        out = asyncio.run(scenario())
    finally:
        rec.stop()
    assert out["error_code"] == "CANCELLED" and out["retryable"] is True, out
    events = _cancelled_events(rec)
    assert len(events) == 1 and events[0]["data"]["job_id"] == "job-stopped-1"
    assert events[0]["data"]["error"] == json.loads(out["error"])  # the same error as the result's
    assert shutdown.server.should_exit is True
