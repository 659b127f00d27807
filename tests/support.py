"""Helpers shared by the tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import io
import shutil
import socket
from pathlib import Path
from types import ModuleType

from PIL import Image, ImageDraw

from ltx_worker.handler import JobHandler
from ltx_worker.paths import PROJECT_ROOT

#: The project's node pack (custom_nodes/ltx_worker_nodes).
PACK = PROJECT_ROOT / "custom_nodes" / "ltx_worker_nodes"


def pack_module(name: str) -> ModuleType:
    """A module of the node pack that imports nothing of ComfyUI (``presets``, ``guidance``),
    loaded from its file without ComfyUI, as ``ltxw_pack_<name>``."""
    spec = importlib.util.spec_from_file_location(f"ltxw_pack_{name}", PACK / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def proc_cmdline(pid: int | str) -> list[str]:
    """A process's command line from /proc (arguments, with a trailing empty string), or [] when
    the process is gone or unreadable."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_test_image(width: int = 640, height: int = 360, seed: int = 0) -> bytes:
    """A PNG picture with large shapes and colours (a start image whose first frame is checked)."""
    img = Image.new("RGB", (width, height), (20 + 40 * seed % 200, 60, 140))
    draw = ImageDraw.Draw(img)
    for i in range(6):
        x = (i * 97 + seed * 53) % width
        draw.ellipse([x, height // 6, x + width // 4, height // 6 + height // 2],
                     fill=((i * 70 + seed * 30) % 255, 200 - i * 25, (i * 40) % 255))
    draw.rectangle([0, height * 3 // 4, width, height], fill=(230, 210, 60))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def data_uri(data: bytes, mime: str) -> str:
    """`data` as a ``data:<mime>;base64,...`` URI (a URL field's inline form)."""
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def run_job(handler: JobHandler, job_input: dict, job_id: str = "test-job") -> dict:
    """Run one job through the handler the way the RunPod SDK does (awaiting the coroutine)."""
    return asyncio.run(handler({"id": job_id, "input": job_input}))


def assert_refused(out: dict, field: str, words: str = "") -> None:
    """`out` is an INVALID_INPUT, not retryable, naming `field` (and `words`), without a trace."""
    assert out.get("error_code") == "INVALID_INPUT", out
    assert out["retryable"] is False
    assert out["message"].startswith(field) or f"{field}:" in out["message"], out["message"]
    assert words.lower() in out["message"].lower(), out["message"]
    assert "Traceback" not in out["error"]


def browser_parts() -> tuple[str | None, str | None, list[str]]:
    """Headless Chromium for the browser tests: ``(chromium, chromedriver, missing)``, the paths
    found (None when absent) and what is missing, in words (``scripts/install_chromium.sh``
    installs them; selenium comes with the test extras)."""
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                    None)
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:  # pragma: no cover - the test extras install it
        selenium = None
    missing = [what for what, ok in (("chromium", chromium), ("chromedriver", driver),
                                     ("selenium (pip install -e '.[test]')", selenium)) if not ok]
    return chromium, driver, missing

