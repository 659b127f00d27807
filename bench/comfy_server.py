"""A throw-away local ComfyUI for the benchmarks: CPU, tiny generated weights, its own folders.

The same recipe as the test session (tests/conftest.py): the tree is $COMFYUI_DIR or what
scripts/install_comfyui.sh installs, tiny weights are written by ``ltx_worker.tinymodels``, and an
extra_model_paths.yaml adds the test-only text-encoder node (tests/comfy_nodes), the project's
node pack (custom_nodes/) and a benchmark-only probe that logs ComfyUI's full garbage collections
(bench/comfy_nodes). Nothing here is used by the worker itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from ltx_worker.comfy.process import start_comfyui, tree_version, write_extra_model_paths
from ltx_worker.config import PROJECT_ROOT

TEST_NODES = PROJECT_ROOT / "tests" / "comfy_nodes"
PACK_NODES = PROJECT_ROOT / "custom_nodes"
#: Benchmark-only probes (a gc logger); never part of the worker.
BENCH_NODES = Path(__file__).resolve().parent / "comfy_nodes"


def find_comfyui_dir(python: str = sys.executable) -> Path:
    """The ComfyUI tree to run: $COMFYUI_DIR, else the one scripts/install_comfyui.sh installs.

    Raises:
        subprocess.CalledProcessError: the install script failed.
    """
    env = dict(os.environ, PYTHON=python)
    out = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "install_comfyui.sh")],
        env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalComfy:
    """A ComfyUI process started by `start_local_comfy`.

    Attributes:
        url: its HTTP base URL (``http://127.0.0.1:<port>``).
        port: its TCP port.
        comfyui_dir: the ComfyUI tree it runs.
        version: that tree's version ("0.33.0").
        base: the run folder (models/, input/, output/, comfyui.log); deleted by `stop`
            when `owns_base`.
        proc: the process.
        cold_start_s: seconds from process start until ``GET /system_stats`` answered 200
            (polled every 20 ms).
    """

    url: str
    port: int
    comfyui_dir: Path
    version: str
    base: Path
    proc: subprocess.Popen
    cold_start_s: float
    owns_base: bool = field(default=True)

    @property
    def log_path(self) -> Path:
        """ComfyUI's stdout/stderr log."""
        return self.base / "comfyui.log"

    @property
    def gc_log_path(self) -> Path:
        """Where the gc probe logs ComfyUI's full collections (``<start> <end>`` epoch seconds)."""
        return self.base / "gc.log"

    def gc_intervals(self, since: float, until: float) -> list[tuple[float, float]]:
        """ComfyUI's full garbage collections (start, end; epoch seconds) that overlap
        [since, until]."""
        try:
            lines = self.gc_log_path.read_text().split("\n")
        except OSError:
            return []
        found = []
        for line in lines:
            parts = line.split()
            if len(parts) == 2:
                start, end = float(parts[0]), float(parts[1])
                if start <= until and end >= since:
                    found.append((start, end))
        return found

    @property
    def output_dir(self) -> Path:
        """ComfyUI's output folder."""
        return self.base / "output"

    def log_text(self) -> str:
        """The whole log so far (an empty string when there is none)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate ComfyUI (kill after 10 s) and delete the run folder when owned."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.owns_base:
            shutil.rmtree(self.base, ignore_errors=True)


def start_local_comfy(
    comfyui_dir: Path | None = None, base: Path | None = None, ready_timeout_s: float = 180.0
) -> LocalComfy:
    """Generate tiny weights and start a CPU ComfyUI on a free port; returns once it answers.

    Args:
        comfyui_dir: the tree (default `find_comfyui_dir`).
        base: run folder (default a new temporary folder, deleted by `LocalComfy.stop`).
        ready_timeout_s: seconds to wait for ``/system_stats``.

    Raises:
        RuntimeError: ComfyUI exited or did not answer in time (the message ends with its log).
        subprocess.CalledProcessError: tiny weight generation failed.
    """
    comfyui_dir = Path(comfyui_dir) if comfyui_dir else find_comfyui_dir()
    owns = base is None
    base = Path(base) if base else Path(tempfile.mkdtemp(prefix="ltxw-bench-"))
    models = base / "models"
    subprocess.run(
        [sys.executable, "-m", "ltx_worker.tinymodels", "--comfyui-dir", str(comfyui_dir),
         "--models-dir", str(models)],
        check=True, stdout=subprocess.DEVNULL, cwd=PROJECT_ROOT,
    )
    extra = write_extra_model_paths(base / "extra_model_paths.yaml", models,
                                    [TEST_NODES, PACK_NODES, BENCH_NODES])
    os.environ["LTXW_BENCH_GC_LOG"] = str(base / "gc.log")  # read by the gc probe in ComfyUI
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    proc = start_comfyui(
        comfyui_dir, port=port, log_path=base / "comfyui.log", extra_model_paths=extra,
        input_dir=base / "input", output_dir=base / "output",
    )
    server = LocalComfy(url, port, comfyui_dir, tree_version(comfyui_dir), base, proc, 0.0, owns)
    deadline = t0 + ready_timeout_s
    with requests.Session() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if http.get(url + "/system_stats", timeout=1).ok:
                    server.cold_start_s = time.monotonic() - t0
                    return server
            except requests.RequestException:
                pass
            time.sleep(0.02)
    log_tail = server.log_text()[-4000:]
    server.stop()
    raise RuntimeError(f"ComfyUI in {comfyui_dir} did not start:\n{log_tail}")
