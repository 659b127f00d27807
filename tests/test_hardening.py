"""Hardening (issue 23): findings 8, 10, 11 and 12, each reproduced for real.

* 8: a job's files in OUTPUT_DIR are gone whatever the ending (here: a poster that cannot be
  written, after the MP4 was downloaded; the upload failure, deadline, cancel and SIGTERM endings
  are checked in tests/test_upload_failure.py, test_faults.py and test_shutdown.py);
* 3 (the last part): a cancel that comes while an input upload is in flight: the file ComfyUI
  writes after the handler's clean-up is removed once the upload's thread returns;
* 10: `WorkerError.details` is scrubbed like its message (ComfyUI's raw error text carries paths);
* 11: ComfyUI starts with an allowlisted environment: no secret of the worker in
  ``/proc/<pid>/environ`` of the supervised child or of `start_comfyui`'s process;
* 12: models.txt refuses ``.``/``..`` in destinations and repository paths (the prefetch's pin
  rule is in tests/test_prefetch.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ltx_worker.comfy.process import start_comfyui
from ltx_worker.comfy.types import _node_error_to_worker_error
from ltx_worker.config import load_settings
from ltx_worker.errors import ErrorCode, WorkerError
from ltx_worker.handler import JobHandler
from ltx_worker.models.manifest import ModelsFileError, parse_models_txt
from ltx_worker.paths import PROJECT_ROOT

from support import free_port, make_test_image, proc_cmdline, run_job

SECRETS = {"BUCKET_SECRET_ACCESS_KEY": "s3-secret-value", "WEBHOOK_SECRET": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0",
           "HF_TOKEN": "hf_secret_token", "RUNPOD_AI_API_KEY": "rp_secret_key", "BUCKET_ACCESS_KEY_ID": "AKIA0"}


# -- 8: OUTPUT_DIR empty after a failure ----------------------------------------------------------
def test_a_failed_poster_leaves_no_file_of_the_job(comfy, tmp_path):
    """The poster's name is taken by a folder (a real fault: write_poster cannot save there), so
    the job fails with OUTPUT_MISSING after its MP4 was downloaded into OUTPUT_DIR; on 56505c5's
    code ``poster-fail.mp4`` stayed there."""
    out_dir = tmp_path / "out"
    handler = JobHandler(load_settings(comfy_port=comfy.port, output_dir=out_dir, comfy_input_dir=comfy.input_dir,
                                       comfy_output_dir=comfy.output_dir)).start()
    (out_dir / "poster-fail.jpg").mkdir(parents=True)
    model = "ltx-2-t2v" if comfy.has_ltx2 else "ltxv-t2v"
    job = {"model": model, "prompt": "a lantern in the fog", "duration": 2, "aspect_ratio": "1:1", "seed": 1}
    result = run_job(handler, job, job_id="poster-fail")
    assert result["error_code"] == ErrorCode.OUTPUT_MISSING.value, result
    left = sorted(p.name for p in out_dir.iterdir())
    assert left == ["poster-fail.jpg"], left  # only the folder the test put there
    assert not [p for p in (comfy.output_dir / "ltxw").glob("poster-fail*")]


def test_a_rerun_of_the_same_job_makes_its_video_again(comfy, tmp_path):
    """RunPod may run a job again under the same id with the same input. ComfyUI caches a prompt
    it ran before: with the same SaveVideo prefix it answered the rerun with the first run's
    file, which the first run's clean-up had removed (OUTPUT_MISSING, every time). Each run now
    saves under a name of its own; the upstream nodes still come from ComfyUI's cache."""
    handler = JobHandler(load_settings(comfy_port=comfy.port, output_dir=tmp_path / "out",
                                       comfy_input_dir=comfy.input_dir, comfy_output_dir=comfy.output_dir)).start()
    model = "ltx-2-t2v" if comfy.has_ltx2 else "ltxv-t2v"
    job = {"model": model, "prompt": "a paper boat", "duration": 2, "aspect_ratio": "1:1", "seed": 3}
    first = run_job(handler, job, job_id="rerun")
    again = run_job(handler, job, job_id="rerun")
    assert "error" not in first and "error" not in again, again
    assert Path(again["video_path"]).stat().st_size == again["video"]["bytes"]
    assert not [p for p in (comfy.output_dir / "ltxw").glob("rerun*")]


# -- 3: a cancel while an upload is in flight ------------------------------------------------------
class _SlowUploads(BaseHTTPRequestHandler):
    """A ComfyUI stand-in's ``POST /upload/image``: takes 1 s, then puts the file in the input
    folder (as ComfyUI does) and answers. The only route the job reaches before its cancel."""

    input_dir: Path
    written: threading.Event

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(1.0)
        name = "ltxw-upload-race-start.png"
        (self.input_dir / name).write_bytes(b"written after the clean-up")
        self.written.set()
        body = json.dumps({"name": name, "subfolder": "", "type": "input"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_cancel_during_an_upload_leaves_no_input_file(tmp_path):
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    written = threading.Event()
    handler_cls = type("Uploads", (_SlowUploads,), {"input_dir": input_dir, "written": written})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler = JobHandler(load_settings(comfy_port=server.server_address[1], output_dir=tmp_path / "out",
                                       comfy_input_dir=input_dir, comfy_output_dir=tmp_path / "output"))
    image = "data:image/png;base64," + base64.b64encode(make_test_image(64, 64)).decode()
    job = {"id": "upload-race", "input": {"model": "ltx-2-i2v", "prompt": "a kite", "image_urls": [image]}}

    async def cancel_mid_upload() -> None:
        task = asyncio.create_task(handler(job))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(cancel_mid_upload())
        assert written.wait(5), "the upload never reached the stand-in"
        end = time.monotonic() + 5  # the upload's thread reads the answer, then cleans up again
        while list(input_dir.iterdir()) and time.monotonic() < end:
            time.sleep(0.02)
        assert not list(input_dir.iterdir()), "the file ComfyUI wrote after the clean-up stayed"
    finally:
        server.shutdown()


# -- 10: details scrubbed -------------------------------------------------------------------------
def test_details_are_scrubbed_like_the_message():
    body = {"node_errors": {"5": {"class_type": "LoadImage", "errors": [{
        "type": "custom", "message": "bad",
        "details": "Invalid image file: /root/.cache/ltx-worker/comfyui-783545/input/secret-name.png"}]}}}
    err = _node_error_to_worker_error(body, {"5": {"class_type": "LoadImage", "inputs": {}}})
    assert err.code is ErrorCode.WORKFLOW_INVALID
    out = err.to_output()
    assert "/root" not in str(out) and "secret-name.png" in str(out["details"]), out
    nested = WorkerError(ErrorCode.INTERNAL, "x", details={"a": ["/home/u/x/y.txt", {"k": "token=abc123"}], "n": 3})
    assert nested.details == {"a": ["y.txt", {"k": "token=<redacted>"}], "n": 3}


# -- 11: ComfyUI's environment --------------------------------------------------------------------
def _environ(pid: int, timeout_s: float = 10.0) -> dict[str, str]:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except (FileNotFoundError, PermissionError):
            raw = b""
        if raw:
            return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
        time.sleep(0.05)
    raise AssertionError(f"no environment readable for pid {pid}")


def _wait_for(path: Path, timeout_s: float = 10.0) -> str:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_the_supervised_comfyui_gets_no_secret(tmp_path):
    pidfile = tmp_path / "comfy.pid"
    env = dict(os.environ, **SECRETS, MY_NODE_SETTING="kept", CUDA_VISIBLE_DEVICES="0")
    sup = subprocess.Popen(
        [sys.executable, "-m", "ltx_worker.comfy.supervisor", "--pidfile", str(pidfile), "--env-allow",
         "MY_NODE_SETTING", "--", sys.executable, "-c", "import time; time.sleep(60)"],
        cwd=PROJECT_ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        child = _environ(int(_wait_for(pidfile)))
    finally:
        sup.terminate()
        sup.wait(15)
    assert not set(SECRETS) & set(child), sorted(child)
    assert not [v for v in child.values() if any(s in v for s in SECRETS.values())]
    assert child["MY_NODE_SETTING"] == "kept" and child["CUDA_VISIBLE_DEVICES"] == "0"
    assert child["PATH"] == os.environ["PATH"]


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_start_comfyui_passes_no_secret(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "main.py").write_text("import time\ntime.sleep(60)\n")
    proc = start_comfyui(tree, port=free_port(), log_path=tmp_path / "log", env=dict(os.environ, **SECRETS))
    try:
        child = _environ(proc.pid)
    finally:
        proc.kill()
        proc.wait(10)
    assert not set(SECRETS) & set(child), sorted(child)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_the_session_comfyui_holds_only_allowlisted_names(comfy):
    """The suite's own ComfyUI (started by conftest with `start_comfyui`): every variable in its
    /proc environ is on the allowlist."""
    from ltx_worker.comfy.process import ENV_NAMES, ENV_PREFIXES

    pids = [p for p in os.listdir("/proc") if p.isdigit() and "main.py" in proc_cmdline(p)
            and str(comfy.port) in proc_cmdline(p)]
    assert pids, "the session's ComfyUI process was not found"
    names = set(_environ(int(pids[0])))
    assert all(n in ENV_NAMES or n.startswith(ENV_PREFIXES) for n in names), sorted(names)


# -- 12: models.txt paths -------------------------------------------------------------------------
@pytest.mark.parametrize("line", [
    "../x.safetensors org/a@main:x.safetensors - - fast",
    "loras/.. org/a@main:x.safetensors - - fast",
    "./x.safetensors org/a@main:x.safetensors - - fast",
    "../.. org/a@main:x.safetensors - - fast",
    "loras/x.safetensors org/a@main:../x.safetensors - - fast",
    "loras/x.safetensors org/a@main:a/./x.safetensors - - fast",
])
def test_models_txt_refuses_dot_folders(line):
    with pytest.raises(ModelsFileError, match="plain name|parts plain names"):
        parse_models_txt(line)
