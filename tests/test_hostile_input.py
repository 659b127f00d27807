"""Hostile input: hundreds of generated malformed jobs (hypothesis) and SSRF attempts.

Every generated job must end in a clean error with a code (or, for the rare valid one, in
COMFY_UNAVAILABLE: the handler points at a port where nothing listens); nothing may raise.
"""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltx_worker.config import load_settings
from ltx_worker.contract.job import JobInput, parse_job_input
from ltx_worker.errors import ErrorCode, WorkerError
from ltx_worker.handler import JobHandler

from support import free_port, make_test_image

FIELDS = list(JobInput.model_fields)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
    st.text(max_size=60), st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=3000),
    st.sampled_from(["ltx-2-t2v", "ltx-2-i2v", "ltxv-t2v", "fast", "pro", "720p", "1080p", "16:9",
                     "dolly-in", "jib_up", "none", "data:image/png;base64,AAAA", "file:///etc/passwd",
                     "http://169.254.169.254/", "\x00\x07", "a\u202eb", "../../etc/passwd"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=6)
job_inputs = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS + ["extra", "Model", ""]), values, max_size=10),
    st.fixed_dictionaries({"model": st.sampled_from(["ltx-2-t2v", "ltx-2-i2v"]),
                           "prompt": st.text(max_size=2100)},
                          optional={f: values for f in FIELDS if f not in ("model", "prompt")}),
    values,
)


@pytest.fixture(scope="module")
def offline_handler(tmp_path_factory):
    settings_ = load_settings(comfy_port=free_port(), output_dir=tmp_path_factory.mktemp("out"),
                              comfy_request_timeout_s=1, comfy_recover_timeout_s=0.1)
    return JobHandler(settings_)  # never started: ComfyUI is not there


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=job_inputs)
def test_validation_gives_a_coded_error_or_a_job(raw):
    try:
        parse_job_input(raw)
    except WorkerError as err:
        assert err.code is ErrorCode.INVALID_INPUT and err.retryable is False
        assert err.message and "Traceback" not in err.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(raw=job_inputs)
def test_the_handler_answers_every_input_with_a_coded_error(offline_handler, raw, monkeypatch):
    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    out = asyncio.run(offline_handler({"id": "fuzz", "input": raw}))
    assert "error" in out, out
    error = json.loads(out["error"])
    assert error["code"] in {c.value for c in ErrorCode} and isinstance(error["retryable"], bool)
    assert "Traceback" not in out["error"] and "/tmp/" not in out["error"]


class _Counting(ThreadingHTTPServer):
    """A loopback server that counts connections (none may arrive) and can redirect."""

    def __init__(self, redirect_to: str | None = None) -> None:
        server = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.hits += 1
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.end_headers()
                    return
                body = make_test_image(64, 64)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/img.png"


def i2v(url: str) -> dict:
    return {"model": "ltx-2-i2v", "prompt": "a lighthouse at dusk", "image_urls": [url]}


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/img.png", "http://localhost:{port}/img.png", "http://[::1]:{port}/x",
    "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/x.png", "http://172.16.0.1/x.png",
    "http://192.168.0.10/x.png", "http://100.64.0.1/x.png", "http://0.0.0.0:{port}/x.png",
    "ftp://example.com/x.png", "file:///etc/passwd", "gopher://127.0.0.1:{port}/x",
])
def test_ssrf_targets_are_refused_without_a_connection(offline_handler, monkeypatch, url):
    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    target = _Counting()
    try:
        out = asyncio.run(offline_handler({"id": "ssrf", "input": i2v(url.format(port=target.server_address[1]))}))
    finally:
        target.shutdown()
    assert out["error_code"] in ("INVALID_INPUT", "INPUT_FETCH_FAILED"), out
    assert "image_urls" in out["message"]
    assert target.hits == 0


def test_a_redirect_to_a_private_address_is_refused(offline_handler, monkeypatch):
    """The first hop must look public for the redirect to be followed at all; with no internet
    here, "public.test" is made to resolve to a loopback server (the one fake in this file),
    while the redirect target, a second loopback server, gets the SDK's real checks."""
    from runpod.serverless.utils import rp_ssrf

    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    inner = _Counting()
    outer = _Counting(redirect_to=inner.url)
    real = rp_ssrf.resolve_and_validate

    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "public.test" else real(host, port)

    monkeypatch.setattr(rp_ssrf, "resolve_and_validate", resolve)
    try:
        url = f"http://public.test:{outer.server_address[1]}/start.png"
        out = asyncio.run(offline_handler({"id": "redirect", "input": i2v(url)}))
    finally:
        inner.shutdown()
        outer.shutdown()
    assert outer.hits == 1 and inner.hits == 0
    assert out["error_code"] in ("INVALID_INPUT", "INPUT_FETCH_FAILED") and "image_urls" in out["message"]


def test_an_image_larger_than_the_cap_is_cut_off_while_downloading(tmp_path, monkeypatch):
    """A body without Content-Length is read only up to MAX_IMAGE_BYTES."""
    monkeypatch.setenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", "true")
    sent = {"bytes": 0}

    class Endless(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(10_000):
                    self.wfile.write(b"\xff" * 65536)
                    sent["bytes"] += 65536
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler = JobHandler(load_settings(comfy_port=free_port(), output_dir=tmp_path, max_image_bytes=1 << 20,
                                       comfy_recover_timeout_s=0.1))
    try:
        out = asyncio.run(handler({"id": "big", "input": i2v(f"http://127.0.0.1:{server.server_address[1]}/x")}))
    finally:
        server.shutdown()
    assert out["error_code"] == "INVALID_INPUT" and "image_urls[0]" in out["message"], out
    assert sent["bytes"] < 64 << 20  # stopped long before the 655 MB the server would send
