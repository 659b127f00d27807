"""Real servers on loopback that the tests point the worker at.

- `MotoS3`: moto in server mode (``moto_server``), an S3-compatible endpoint in its own process
  that a test can stop and start again on the same port.
- `WebhookReceiver`: an HTTP server that records every request and answers with a scripted
  list of statuses, or never answers at all.
- `RunPodJobApi`: a stand-in for RunPod's job API as the SDK's worker loop uses it
  (RUNPOD_WEBHOOK_GET_JOB / POST_OUTPUT / PING and the job-stop long-poll derived from the
  job-take URL): it hands out queued jobs and records what comes back.
- `LoraServer`: LoRA files over HTTP with ETag / Last-Modified, counting full and conditional
  requests, reached as ``public.test`` (`RESOLVE_PUBLIC_TEST`).
- `RunPodStandIn`: RunPod's endpoint API as a studio backend calls it (/v2/{endpoint}/run, runsync,
  status, cancel, health, purge-queue; bearer key checked; 429 with Retry-After on demand), each
  job playing a script of status frames built from `progress`, `job_output` and `failed`.
- `RunPodWorkerStandIn`: the same endpoint API handing its jobs to a real worker loop through a
  `RunPodJobApi`; each status is what that loop has taken and posted so far.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import requests

from support import free_port


class MotoS3:
    """``moto_server`` on 127.0.0.1:`port` (a fresh free port when omitted)."""

    def __init__(self, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> MotoS3:
        """Start the server and wait until it answers (raises after 30 s)."""
        exe = Path(sys.executable).parent / "moto_server"
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/moto-api/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError("moto_server did not start:\n" + self.log_path.read_text()[-2000:])

    def stop(self) -> None:
        """Stop the server (its buckets are lost)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def client(self):
        """A boto3 S3 client of this server (test credentials)."""
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )

    def settings(self, bucket: str) -> dict:
        """BUCKET_* settings (as `load_settings` keywords) for `bucket` on this server."""
        return {
            "bucket_endpoint_url": self.url,
            "bucket_name": bucket,
            "bucket_access_key_id": "test",
            "bucket_secret_access_key": "test",
            "bucket_region": "us-east-1",
            "bucket_path_style": True,
            "bucket_max_attempts": 2,
        }


@dataclass
class Delivery:
    """One request a `WebhookReceiver` got."""

    path: str
    headers: dict
    body: bytes
    at: float


@dataclass
class WebhookReceiver:
    """Records POSTs; answers them with `statuses` in turn (the last one repeats).

    Attributes:
        hang: never answer (hold the connection) while set.
    """

    statuses: list[int] = field(default_factory=lambda: [200])
    hang: bool = False
    deliveries: list[Delivery] = field(default_factory=list)

    def start(self) -> WebhookReceiver:
        """Serve on a free loopback port in a daemon thread."""
        receiver = self
        release = self._release = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.deliveries.append(
                    Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                )
                if receiver.hang:
                    release.wait(120)
                    return
                n = len(receiver.deliveries) - 1
                status = receiver.statuses[min(n, len(receiver.statuses) - 1)]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/video"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Release hanging requests and stop serving."""
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


class RunPodJobApi:
    """RunPod's job API as the SDK's worker loop sees it, on loopback.

    `env()` gives the RUNPOD_* variables for ``python handler.py``. Jobs put with `add_job` are
    handed out by job-take one at a time; job-stop answers ``{"jobsToStop": [...]}`` for ids
    given to `stop_job`; every POST to job-done is recorded in `posts` as
    ``(job_id, payload dict, monotonic time)``.
    """

    def __init__(self) -> None:
        self.jobs: list[dict] = []
        self.to_stop: list[str] = []
        self.posts: list[tuple[str, dict, float]] = []
        self.taken: list[tuple[str, float]] = []
        self.stop_polls = 0
        self.pings = 0
        self._cond = threading.Condition()

    def add_job(self, job_id: str, job_input: dict) -> None:
        """Queue a job for the next job-take."""
        with self._cond:
            self.jobs.append({"id": job_id, "input": job_input})
            self._cond.notify_all()

    def stop_job(self, job_id: str) -> None:
        """Name `job_id` on the job-stop channel (as RunPod does for a cancel)."""
        with self._cond:
            self.to_stop.append(job_id)
            self._cond.notify_all()

    def results(self, job_id: str) -> list[dict]:
        """Every payload posted for `job_id`, in order."""
        return [p for j, p, _ in self.posts if j == job_id]

    def final(self, job_id: str) -> dict | None:
        """The last non-progress payload posted for `job_id`, if any."""
        done = [p for p in self.results(job_id) if p.get("status") != "IN_PROGRESS"]
        return done[-1] if done else None

    def wait_final(self, job_id: str, timeout_s: float) -> dict | None:
        """Wait up to `timeout_s` for the job's final payload."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while (final := self.final(job_id)) is None and time.monotonic() < deadline:
                self._cond.wait(0.2)
        return final

    def start(self) -> RunPodJobApi:
        """Serve on a free loopback port in a daemon thread."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: dict | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a worker shutting down drops its stop-channel long poll (tests/test_shutdown.py)

            def do_GET(self) -> None:  # noqa: N802
                path = urlparse(self.path).path
                if "/job-take/" in path:
                    with api._cond:
                        job = api.jobs.pop(0) if api.jobs else None
                        if job:
                            api.taken.append((job["id"], time.monotonic()))
                    if job is None:
                        time.sleep(0.2)  # like RunPod's short poll when the queue is empty
                        self._send(204)
                    else:
                        self._send(200, job)
                elif "/job-stop/" in path:
                    with api._cond:
                        api.stop_polls += 1
                        api._cond.wait_for(lambda: api.to_stop, timeout=2)
                        ids, api.to_stop = api.to_stop, []
                    self._send(200, {"jobsToStop": ids}) if ids else self._send(204)
                elif "/ping/" in path:
                    api.pings += 1
                    self._send(200, {})
                else:
                    self._send(404, {})

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "/job-done/" in url.path:
                    job_id = url.path.rstrip("/").rsplit("/", 1)[-1]
                    with api._cond:
                        api.posts.append((job_id, json.loads(body), time.monotonic()))
                        api._cond.notify_all()
                    self._send(200, {})
                else:
                    self._send(404, {})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def env(self) -> dict:
        """The SDK's environment variables pointing at this stand-in."""
        q = "?gpu=cpu-test"
        return {
            "RUNPOD_POD_ID": "test-pod",
            "RUNPOD_WEBHOOK_GET_JOB": f"{self.base}/v2/job-take/$RUNPOD_POD_ID{q}",
            "RUNPOD_WEBHOOK_POST_OUTPUT": f"{self.base}/v2/job-done/$RUNPOD_POD_ID/$ID{q}",
            "RUNPOD_WEBHOOK_PING": f"{self.base}/v2/ping/$RUNPOD_POD_ID{q}",
            "RUNPOD_PING_INTERVAL": "1000",
            "RUNPOD_AI_API_KEY": "test-key",
        }

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def worker_env(**extra: str) -> dict:
    """os.environ plus `extra`, for a worker subprocess."""
    return dict(os.environ, **extra)


class TcpProxy:
    """A loopback TCP proxy in front of `target_port` that can cut websocket connections.

    Only for a fault a real ComfyUI cannot be made to produce on demand: its websocket closing
    mid-job. Bytes pass through unchanged; `drop_websockets()` closes every connection whose
    request was ``GET /ws``, as a network drop or a proxy timeout would.
    """

    def __init__(self, target_port: int) -> None:
        import socket

        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.ws_conns: list = []
        self.ws_opened = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src, dst, from_client: bool) -> None:
        first = True
        try:
            while data := src.recv(65536):
                if first and from_client and data.startswith(b"GET /ws"):
                    with self._lock:
                        self.ws_conns.append((src, dst))
                        self.ws_opened += 1
                first = False
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.close()
                except OSError:
                    pass

    def drop_websockets(self) -> int:
        """Close every open websocket connection (both sides); returns how many."""
        import socket

        with self._lock:
            conns, self.ws_conns = self.ws_conns, []
        for pair in conns:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                except OSError:
                    pass
        return len(conns)

    def close(self) -> None:
        """Stop accepting connections."""
        self.listener.close()


#: Python that makes the name ``public.test`` resolve to loopback for the SDK's SSRF check (the one
#: fake of the LoRA tests: a test cannot own a public address); every other name keeps the real check.
RESOLVE_PUBLIC_TEST = """
from runpod.serverless.utils import rp_ssrf
_real = rp_ssrf.resolve_and_validate
rp_ssrf.resolve_and_validate = lambda host, port: ["127.0.0.1"] if host == "public.test" else _real(host, port)
"""


def public_test_on_loopback(monkeypatch) -> None:
    """`RESOLVE_PUBLIC_TEST` in this process, undone with `monkeypatch`; private downloads stay refused."""
    from runpod.serverless.utils import rp_ssrf

    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    real = rp_ssrf.resolve_and_validate
    monkeypatch.setattr(rp_ssrf, "resolve_and_validate",
                        lambda host, port: ["127.0.0.1"] if host == "public.test" else real(host, port))


class LoraServer(ThreadingHTTPServer):
    """Serves `files` (path -> bytes) with an ETag and Last-Modified on loopback; counts full
    (`full`) and conditional (`conditional`, answered 304) requests. `url` names it
    ``public.test``, which the tests resolve to loopback (RESOLVE_PUBLIC_TEST) so that the
    worker's SSRF check stays on for every other name. `lie_about_length` leaves out
    Content-Length; `drip_s` sleeps between 4 KiB chunks."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.full = 0
        self.conditional = 0
        self.lie_about_length: int | None = None
        self.drip_s = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/redirect-to-loopback":
                    server.full += 1
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{server.server_address[1]}/a.safetensors")
                    self.end_headers()
                    return
                body = server.files.get(self.path.split("?")[0])
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    server.conditional += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                server.full += 1
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Sat, 05 Dec 2026 10:00:00 GMT")
                if server.lie_about_length is None:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(0, len(body), 4096):
                        self.wfile.write(body[i:i + 4096])
                        if server.drip_s:
                            time.sleep(server.drip_s)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://public.test:{self.server_address[1]}{path}"


# RunPod's endpoint API (the studio's side) --------------------------------------------------------

#: The endpoint id and API key `RunPodStandIn` takes unless told others.
RUNPOD_ENDPOINT, RUNPOD_KEY = "ep-standin", "rp-test-key"


def progress(stage: str, step: int, steps: int, percent: float) -> dict:
    """The worker's progress payload (README "Progress") as RunPod's IN_PROGRESS ``output``."""
    label = stage.replace("_", " ")
    return {"stage": stage, "step": step, "steps": steps, "percent": percent,
            "message": f"{label}: step {step}/{steps}" if steps else label}


def job_output(job_id: str, external_id: str | None) -> dict:
    """A success output of the worker's shape (README "Job output")."""
    settings = {"model": "ltx-2.3-i2v", "family": "ltx23", "mode": "i2v", "variant": None, "control": None,
                "quality": "fast", "resolution": "720p", "aspect_ratio": "16:9", "duration": 10.0, "width": 1280,
                "height": 704, "frames": 241, "fps": 24, "camera_lora": None, "camera_strength": None,
                "image_strength": 0.7, "audio": True, "enhance_prompt": False, "loras": [], "transition": False,
                "prompt": "a lighthouse at dusk", "negative_prompt": "blurry", "template": "ltx23_i2v_fast",
                "comfyui_version": "0.33.0", "inputs": {"image": {"width": 640, "height": 480}}}
    return {"video_url": f"https://bucket.example/{job_id}.mp4", "video_key": f"{job_id}.mp4", "video_path": None,
            "poster_url": f"https://bucket.example/{job_id}.jpg", "poster_key": f"{job_id}.jpg", "poster_path": None,
            "video": {"width": 1280, "height": 704, "fps": 24.0, "frames": 241, "duration_s": 10.042,
                      "has_audio": True, "bytes": 5123456, "sha256": "ab" * 32, "content_type": "video/mp4"},
            "seed": 42, "prompt": "a lighthouse at dusk", "settings": settings,
            "timings": {"inputs_s": 0.2, "generation_s": 95.1, "upload_s": 0.3, "total_s": 95.6},
            "cost": {"gpu_seconds": 95.6, "price_per_gpu_hour": None, "usd": None}, "prompt_id": "p-1",
            "external_id": external_id}


def failed(code: str, message: str, retryable: bool | None = None) -> dict:
    """RunPod's FAILED status of the worker's ``WorkerError.to_output()`` (the SDK pops "error")."""
    from ltx_worker.errors import RETRYABLE, ErrorCode  # the worker's table (the client's is held to it)

    retryable = RETRYABLE[ErrorCode(code)] if retryable is None else retryable
    error = json.dumps({"code": code, "message": message, "retryable": retryable})
    return {"status": "FAILED", "error": error, "output": {"error_code": code, "message": message,
                                                           "retryable": retryable}}


class RunPodStandIn:
    """RunPod's endpoint API on loopback; `script(input, job_id, attempt)` gives each job its status frames
    (the last one repeats); `throttle` answers that many next requests 429 with `retry_after`.

    Args:
        endpoint: the endpoint id it serves (``/v2/{endpoint}/...``; another answers 404).
        key: the API key it takes (``Authorization: Bearer <key>``; another answers 401).
    """

    def __init__(self, endpoint: str = RUNPOD_ENDPOINT, key: str = RUNPOD_KEY) -> None:
        self.endpoint, self.key = endpoint, key
        self.jobs: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.submissions: dict[str, int] = {}
        self.throttle, self.retry_after = 0, "1"
        self.runsync_frames = 99
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def script(self, job: dict, job_id: str, attempt: int) -> list[dict]:
        """The status frames of a job, chosen by its prompt ("fail CODE", "flaky", "crash", "timed out",
        "forever"; anything else completes); a test may replace it on the instance."""
        prompt = job.get("prompt", "")
        head = [{"status": "IN_QUEUE"}, {"status": "IN_PROGRESS"},
                {"status": "IN_PROGRESS", "output": progress("inputs", 0, 0, 1.0)},
                {"status": "IN_PROGRESS", "output": progress("inputs", 0, 0, 1.0)},
                {"status": "IN_PROGRESS", "output": progress("stage_1", 5, 8, 34.4)},
                {"status": "IN_PROGRESS", "output": progress("stage_2", 2, 3, 74.0)}]
        if prompt.startswith("fail "):
            return head[:2] + [failed(prompt.split()[1], f"the worker says {prompt.split()[1]}")]
        if prompt.startswith("flaky") and attempt == 1:
            return head[:3] + [failed("OUT_OF_MEMORY", "stage 2 ran out of GPU memory")]
        if prompt.startswith("crash"):
            sdk = json.dumps({"error_type": "<class 'RuntimeError'>", "error_message": "boom",
                              "error_traceback": "Traceback (most recent call last): secret"})
            return [{"status": "FAILED", "error": sdk}]
        if prompt.startswith("timed out"):
            return head[:2] + [{"status": "TIMED_OUT"}]
        if prompt.startswith("forever"):
            return head[:3]
        return head + [{"status": "COMPLETED", "output": job_output(job_id, job.get("external_id"))}]

    def _frame(self, job_id: str, advance: int = 1) -> dict:
        job = self.jobs[job_id]
        job["at"] = min(job["at"] + advance, len(job["frames"]) - 1)
        return {"id": job_id, "delayTime": 5, "executionTime": 100, **job["frames"][job["at"]]}

    def _handle(self, method: str, path: str, headers, body: dict | None) -> tuple[int, dict, dict]:
        self.requests.append({"method": method, "path": path, "headers": dict(headers), "body": body})
        if self.throttle:
            self.throttle -= 1
            return 429, {"Retry-After": self.retry_after}, {"error": "rate limited"}
        if headers.get("Authorization") != f"Bearer {self.key}":
            return 401, {}, {"error": "Unauthorized"}
        parts = path.split("?")[0].strip("/").split("/")
        if parts[:2] != ["v2", self.endpoint] or len(parts) < 3:
            return 404, {}, {"error": "no such endpoint"}
        op, arg = parts[2], parts[3] if len(parts) > 3 else None
        if op in ("run", "runsync") and method == "POST":
            job_id = f"job-{uuid.uuid4().hex[:8]}"
            key = (body["input"].get("external_id") or job_id)
            self.submissions[key] = attempt = self.submissions.get(key, 0) + 1
            self.jobs[job_id] = {"input": body["input"], "at": -1,
                                 "frames": self.script(body["input"], job_id, attempt)}
            return 200, {}, self._frame(job_id, self.runsync_frames if op == "runsync" else 1)
        if op == "status" and method == "GET" and arg in self.jobs:
            return 200, {}, self._frame(arg)
        if op == "cancel" and method == "POST" and arg in self.jobs:
            self.jobs[arg]["frames"].append({"status": "CANCELLED"})
            return 200, {}, self._frame(arg, len(self.jobs[arg]["frames"]))
        if op == "health" and method == "GET":
            states = [j["frames"][max(j["at"], 0)]["status"] for j in self.jobs.values()]
            return 200, {}, {"jobs": {"completed": states.count("COMPLETED"), "failed": states.count("FAILED"),
                                      "inProgress": states.count("IN_PROGRESS"), "inQueue": states.count("IN_QUEUE"),
                                      "retried": 0}, "workers": {"idle": 1, "running": states.count("IN_PROGRESS")}}
        if op == "purge-queue" and method == "POST":
            queued = [j for j in self.jobs.values() if j["frames"][max(j["at"], 0)]["status"] == "IN_QUEUE"]
            for job in queued:
                job["frames"][max(job["at"], 0):] = [{"status": "CANCELLED"}]
            return 200, {}, {"removed": len(queued), "status": "completed"}
        return 404, {}, {"error": f"no route {method} {path}"}

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with standin.lock:
                    code, headers, data = standin._handle(self.command, self.path, self.headers, body)
                payload = json.dumps(data).encode()
                self.send_response(code)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()

    def posts(self, op: str) -> list[dict]:
        """The POST requests made to `op` ("run", "runsync", "cancel", ...), oldest first."""
        return [r for r in self.requests if r["method"] == "POST" and r["path"].split("?")[0].endswith(f"/{op}")]


class RunPodWorkerStandIn(RunPodStandIn):
    """`RunPodStandIn` whose jobs run on the real worker: ``/run`` and ``/runsync`` queue the job's
    input on `job_api` (a started `RunPodJobApi` that ``python handler.py`` takes jobs from), and
    each status is read from what the worker loop did: IN_QUEUE until it takes the job,
    IN_PROGRESS with its last progress payload as ``output``, then COMPLETED with its output or
    FAILED with its ``error`` (as RunPod reports the SDK's job-done post). ``/cancel`` names the
    job on the job-stop channel (and drops it from the queue when not yet taken); it then stays
    CANCELLED, as RunPod's does.

    Args:
        job_api: the job API the worker loop is pointed at.
        endpoint, key: as `RunPodStandIn`'s.
    """

    def __init__(self, job_api: RunPodJobApi, endpoint: str = RUNPOD_ENDPOINT, key: str = RUNPOD_KEY) -> None:
        self.job_api = job_api
        super().__init__(endpoint, key)

    def script(self, job: dict, job_id: str, attempt: int) -> list[dict]:
        """Queue the job for the worker loop; its frames are then read live (`live`)."""
        self.job_api.add_job(job_id, job)
        return [{"status": "IN_QUEUE"}]

    def live(self, job_id: str) -> dict:
        """The job's status now, from what the worker loop took and posted for it."""
        api = self.job_api
        with api._cond:
            taken = any(taken_id == job_id for taken_id, _ in api.taken)
            posts = api.results(job_id)
        final = next((p for p in reversed(posts) if p.get("status") != "IN_PROGRESS"), None)
        if final is not None:
            if "error" in final:
                output = {"output": final["output"]} if "output" in final else {}
                return {"status": "FAILED", "error": final["error"], **output}
            return {"status": "COMPLETED", "output": final.get("output")}
        if not taken:
            return {"status": "IN_QUEUE"}
        progress = [p["output"] for p in posts if p.get("status") == "IN_PROGRESS" and "output" in p]
        return {"status": "IN_PROGRESS", **({"output": progress[-1]} if progress else {})}

    def _frame(self, job_id: str, advance: int = 1) -> dict:
        job = self.jobs[job_id]
        if job["frames"][-1]["status"] not in ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"):
            job["frames"] = [self.live(job_id)]
        job["at"] = len(job["frames"]) - 1
        return {"id": job_id, "delayTime": 0, "executionTime": 0, **job["frames"][-1]}

    def _handle(self, method: str, path: str, headers, body: dict | None) -> tuple[int, dict, dict]:
        parts = path.split("?")[0].strip("/").split("/")
        job_id = parts[3] if method == "POST" and len(parts) > 3 and parts[2] == "cancel" else None
        was = self._frame(job_id)["status"] if job_id in self.jobs else None
        code, headers_out, data = super()._handle(method, path, headers, body)
        if code == 200 and was in ("IN_QUEUE", "IN_PROGRESS"):  # a cancel the stand-in accepted
            api = self.job_api
            with api._cond:
                api.jobs = [j for j in api.jobs if j["id"] != job_id]
            api.stop_job(job_id)
        return code, headers_out, data
