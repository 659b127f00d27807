"""Shared fixtures: one real ComfyUI server per test session, on tiny generated weights.

The ComfyUI tree is $COMFYUI_DIR, or what scripts/install_comfyui.sh installs (the registry's
0.3.75 here). Tiny models are generated into a session folder and found through an
extra_model_paths.yaml that also loads the test-only text-encoder node (tests/comfy_nodes) and the
project's own node pack (custom_nodes/ltx_worker_nodes, which the LTX-2 templates use).
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from ltx_worker.comfy.client import ComfyClient
from ltx_worker.comfy.process import start_comfyui, tree_version, write_extra_model_paths
from ltx_worker.config import PROJECT_ROOT, load_settings
from ltx_worker.handler import JobHandler

from media_samples import png_bytes
from support import free_port
from template_files import snapshot_033

SHARED = PROJECT_ROOT.parent / "shared"
TEST_NODES = PROJECT_ROOT / "tests" / "comfy_nodes"
#: The project's node pack folder (custom_nodes/ltx_worker_nodes), loaded like any node pack.
PACK_NODES = PROJECT_ROOT / "custom_nodes"


@dataclass
class ComfyServer:
    """A running ComfyUI for the session."""

    url: str
    port: int
    comfyui_dir: Path
    version: str
    input_dir: Path
    output_dir: Path
    models_dir: Path
    log_path: Path
    object_info: dict
    lora_cache_dir: Path  # one of its loras folders: the worker's LORA_CACHE_DIR in LoRA tests

    @property
    def has_ltx2(self) -> bool:
        """Whether this ComfyUI has the LTX-2 nodes."""
        return "LTXAVTextEncoderLoader" in self.object_info


@pytest.fixture(scope="session")
def comfyui_dir() -> Path:
    """The ComfyUI tree under test ($COMFYUI_DIR or the installed default)."""
    env = dict(os.environ, PYTHON=sys.executable)
    out = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "install_comfyui.sh")],
        env=env, check=True, capture_output=True, text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory, comfyui_dir: Path) -> Path:
    """A models folder with tiny weights for every family the tree supports."""
    models = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, "-m", "ltx_worker.tinymodels", "--comfyui-dir", str(comfyui_dir),
         "--models-dir", str(models)],
        check=True, capture_output=True, text=True,
    )
    return models


@pytest.fixture(scope="session")
def comfy(tmp_path_factory: pytest.TempPathFactory, comfyui_dir: Path, tiny_models: Path) -> ComfyServer:
    """One real ComfyUI server (CPU) for the whole session."""
    base = tmp_path_factory.mktemp("comfy")
    lora_cache = base / "lora-cache"
    extra = write_extra_model_paths(base / "extra_model_paths.yaml", tiny_models, [TEST_NODES, PACK_NODES],
                                    [lora_cache])
    port = free_port()
    log_path = base / "comfyui.log"
    proc = start_comfyui(
        comfyui_dir, port=port, log_path=log_path, extra_model_paths=extra,
        input_dir=base / "input", output_dir=base / "output", user_dir=base / "user",
    )
    client = ComfyClient(f"http://127.0.0.1:{port}")
    try:
        client.wait_ready(120)
    except Exception:
        proc.kill()
        raise RuntimeError("ComfyUI did not start:\n" + log_path.read_text()[-4000:]) from None
    yield ComfyServer(
        url=client.base_url, port=port, comfyui_dir=comfyui_dir, version=tree_version(comfyui_dir),
        input_dir=base / "input", output_dir=base / "output", models_dir=tiny_models,
        log_path=log_path, object_info=client.object_info(), lora_cache_dir=lora_cache,
    )
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def job_handler(comfy: ComfyServer, tmp_path_factory: pytest.TempPathFactory) -> JobHandler:
    """The worker's handler bound to the session's ComfyUI."""
    settings = load_settings(comfy_port=comfy.port, output_dir=tmp_path_factory.mktemp("out"),
                             comfy_input_dir=comfy.input_dir, comfy_output_dir=comfy.output_dir)
    return JobHandler(settings).start()


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory):
    """A real S3-compatible server (moto in server mode) for the session, with bucket "videos"."""
    from standins import MotoS3

    server = MotoS3(tmp_path_factory.mktemp("moto") / "moto.log").start()
    server.client().create_bucket(Bucket="videos")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def object_info() -> dict:
    """ComfyUI 0.33.0's ``/object_info`` snapshot with the node pack's entry (offline schema
    checks; `template_files.snapshot_033`). A module may define its own ``object_info``."""
    return snapshot_033()


@pytest.fixture(scope="module")
def receiver():
    """A real webhook receiver on loopback for the module (`standins.WebhookReceiver`)."""
    from standins import WebhookReceiver

    rec = WebhookReceiver().start()
    yield rec
    rec.stop()


@pytest.fixture(scope="module")
def offline_handler(tmp_path_factory):
    """A handler on a port where nothing listens (never started): a job that reached ComfyUI
    would fail with COMFY_UNAVAILABLE instead of the refusal a test expects."""
    settings = load_settings(comfy_port=free_port(), output_dir=tmp_path_factory.mktemp("out"),
                             comfy_request_timeout_s=2)
    return JobHandler(settings)  # never started: ComfyUI is not there


@pytest.fixture(scope="module")
def counting_server():
    """A real HTTP server on 127.0.0.1 that counts the requests it gets (it must get none)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            body = png_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
