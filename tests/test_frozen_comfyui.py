"""Deadlines hold whatever ComfyUI does: a frozen ComfyUI (SIGSTOP) cannot keep a job past its
deadline, the job asks RunPod to replace the worker, and no library text reaches the result.

The frozen ComfyUI is a private one started here (never the session's: a stopped server would
stall every later test); silent and slow stand-in servers check the client's per-call limits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from ltx_worker.comfy.client import CANCEL_GRACE_S, ComfyClient, OutputFile
from ltx_worker.comfy.process import start_comfyui, write_extra_model_paths
from ltx_worker.config import PROJECT_ROOT, load_settings
from ltx_worker.errors import ErrorCode, WorkerError
from ltx_worker.handler import JobHandler

from support import free_port, run_job

NODE_DIRS = [PROJECT_ROOT / "tests" / "comfy_nodes", PROJECT_ROOT / "custom_nodes"]

#: Text of requests / urllib3 / websocket-client exceptions that must never reach a job result.
LIBRARY_TEXT = ("HTTPConnectionPool", "timed out.", "Max retries", "urllib3", "Read timed out",
                "WebSocketTimeoutException", "WebSocketException", "WebSocketBadStatus", "ConnectionError",
                "ReadTimeout", "NewConnectionError", "Errno", "socket.timeout")


def assert_no_library_text(message: str) -> None:
    leaked = [t for t in LIBRARY_TEXT if t in message]
    assert not leaked, f"library text {leaked} in {message!r}"


class StandIn:
    """A TCP server on 127.0.0.1 that takes connections and then answers nothing ("silent"),
    or sends HTTP headers and then one byte of a long body every 0.2 s ("drip")."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.conns.append(conn)
            if self.mode == "drip":
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
            while not self.stop.is_set():
                conn.sendall(b" ")
                time.sleep(0.2)
        except OSError:
            pass

    def close(self) -> None:
        self.stop.set()
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent():
    server = StandIn("silent")
    yield server
    server.close()


def test_the_per_call_timeout_shrinks_with_the_time_left():
    client = ComfyClient("http://127.0.0.1:1", request_timeout_s=30)
    assert client.call_timeout(None) == (30, False)
    assert client.call_timeout(time.monotonic() + 100) == (30, False)
    first, by_deadline = client.call_timeout(time.monotonic() + 3)
    assert by_deadline and 2.9 < first <= 3
    time.sleep(0.3)
    second, _ = client.call_timeout(time.monotonic() + 3 - 0.3)
    assert second < first - 0.25
    with pytest.raises(WorkerError) as err:
        client.call_timeout(time.monotonic() - 0.1)
    assert err.value.code is ErrorCode.TIMEOUT
    grace, by_deadline = client.call_timeout(time.monotonic() - 0.5, grace=CANCEL_GRACE_S)
    assert by_deadline and 0 < grace <= CANCEL_GRACE_S - 0.5


@pytest.mark.timeout(60)
def test_every_call_to_a_silent_server_ends_at_the_deadline(silent, tmp_path):
    """A server that takes the connection and never answers: each call ends at the deadline
    with TIMEOUT in our words, never after the 30 s request timeout."""
    client = ComfyClient(f"http://127.0.0.1:{silent.port}", request_timeout_s=30)
    calls = {
        "history": lambda d: client.history("p", deadline=d),
        "queue": lambda d: client.queue(deadline=d),
        "submit": lambda d: client.submit({}, deadline=d),
        "upload": lambda d: client.upload_input(b"png", "x.png", deadline=d),
        "download": lambda d: client.download(OutputFile("a.mp4", "", "output"), tmp_path / "a.mp4", deadline=d),
        "websocket": lambda d: client._connect_ws(d),
        "wait_ready": lambda d: client.wait_ready(60, deadline=d),
    }
    for name, call in calls.items():
        t0 = time.monotonic()
        with pytest.raises(WorkerError) as err:
            call(t0 + 0.6)
        took = time.monotonic() - t0
        assert err.value.code is ErrorCode.TIMEOUT, (name, err.value)
        assert err.value.refresh_worker, name
        assert took < 0.6 + 0.5, (name, took)
        assert_no_library_text(err.value.message)
    t0 = time.monotonic()
    assert client.is_ready(deadline=t0 + 0.4) is False
    assert time.monotonic() - t0 < 0.9
    # the cancel calls get CANCEL_GRACE_S past the deadline, both together; unanswered: False
    t0 = time.monotonic()
    assert client.cancel("p", deadline=t0 - 1) is False
    assert time.monotonic() - t0 < CANCEL_GRACE_S + 0.5
    # without a deadline the request timeout holds, as COMFY_UNAVAILABLE in our words
    client.timeout = 0.5
    with pytest.raises(WorkerError) as err:
        client.history("p")
    assert err.value.code is ErrorCode.COMFY_UNAVAILABLE and "did not answer" in err.value.message
    assert_no_library_text(err.value.message)


@pytest.mark.timeout(30)
def test_a_body_that_trickles_in_is_cut_at_the_deadline():
    server = StandIn("drip")
    try:
        client = ComfyClient(f"http://127.0.0.1:{server.port}", request_timeout_s=30)
        t0 = time.monotonic()
        with pytest.raises(WorkerError) as err:
            client.history("p", deadline=t0 + 1.0)  # every read gets a byte: only the watchdog ends it
        assert time.monotonic() - t0 < 1.6
        assert err.value.code is ErrorCode.TIMEOUT
        assert_no_library_text(err.value.message)
    finally:
        server.close()


def test_a_refused_connection_is_our_sentence():
    client = ComfyClient(f"http://127.0.0.1:{free_port()}", request_timeout_s=2)
    for call in (lambda: client.history("p"), lambda: client._connect_ws(None)):
        with pytest.raises(WorkerError) as err:
            call()
        assert err.value.code is ErrorCode.COMFY_UNAVAILABLE and "refused" in err.value.message
        assert_no_library_text(err.value.message)


@pytest.fixture
def private_comfy(comfyui_dir, tiny_models, tmp_path):
    """A ComfyUI of this test alone: it gets frozen (SIGSTOP), then thawed and killed."""
    port = free_port()
    extra = write_extra_model_paths(tmp_path / "extra.yaml", tiny_models, NODE_DIRS)
    log_path = tmp_path / "comfyui.log"
    proc = start_comfyui(comfyui_dir, port=port, log_path=log_path, extra_model_paths=extra,
                         input_dir=tmp_path / "in", output_dir=tmp_path / "out")
    try:
        try:
            ComfyClient(f"http://127.0.0.1:{port}").wait_ready(120)
        except WorkerError:
            raise RuntimeError("ComfyUI did not start:\n" + log_path.read_text()[-4000:]) from None
        yield {"port": port, "proc": proc, "dir": tmp_path, "url": f"http://127.0.0.1:{port}"}
    finally:
        try:
            os.kill(proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        proc.kill()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass


def running(url: str) -> bool:
    try:
        return bool(requests.get(url + "/queue", timeout=2).json()["queue_running"])
    except requests.RequestException:
        return False


#: The job's deadline: ComfyUI is frozen 2.5 s after the submit, well inside it.
DEADLINE_S = 6


@pytest.mark.timeout(120)
def test_a_frozen_comfyui_cannot_hold_a_job_past_its_deadline(private_comfy):
    c = private_comfy
    handler = JobHandler(load_settings(comfy_port=c["port"], output_dir=c["dir"] / "results",
                                       comfy_input_dir=c["dir"] / "in", comfy_output_dir=c["dir"] / "out")).start()
    # a long job: LTX-2 pro at 1080p (minutes on a CPU), else the longest the tree serves
    served = set(handler.served) if getattr(handler, "served", None) else None
    choices = [("ltx-2-t2v", "pro"), ("ltx-2-t2v", "fast"), ("ltxv-t2v", "pro"), ("ltxv-t2v", "fast")]
    model, quality = next(pick for pick in choices if served is None or pick in served)
    job = {"model": model, "quality": quality, "resolution": "1080p", "duration": 10, "seed": 7,
           "prompt": "a lighthouse in a storm at night", "deadline_s": DEADLINE_S}
    box: dict = {}

    def target() -> None:
        box["result"] = run_job(handler, job, job_id="frozen-1")
        box["at"] = time.monotonic()

    submitted = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.monotonic() + 8
    while not running(c["url"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running(c["url"]), "the prompt never started in ComfyUI"
    time.sleep(max(0.0, submitted + 2.5 - time.monotonic()))
    assert "result" not in box, f"the job ended before ComfyUI was frozen: {box['result']}"
    os.kill(c["proc"].pid, signal.SIGSTOP)
    thread.join(20)
    assert "result" in box, "the job hung on the frozen ComfyUI"
    took = box["at"] - submitted
    result = box["result"]
    print(f"frozen ComfyUI: TIMEOUT after {took:.1f} s (deadline {DEADLINE_S} s): {result.get('message')}")
    assert result["error_code"] == "TIMEOUT", result
    assert took < DEADLINE_S + 5, took
    assert result["retryable"] is True and result.get("refresh_worker") is True, result
    assert_no_library_text(result["message"])
    assert_no_library_text(result["error"])
