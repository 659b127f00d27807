"""The install script is idempotent and the pins have one source (pins.env)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from ltx_worker.config import PROJECT_ROOT


def read_pins() -> dict[str, str]:
    pins = {}
    for line in (PROJECT_ROOT / "pins.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            pins[key.strip()] = value.strip()
    return pins


def test_second_install_run_installs_nothing(comfyui_dir):
    env = dict(os.environ, PYTHON=sys.executable)
    t0 = time.monotonic()
    out = subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "install_comfyui.sh")],
                         env=env, check=True, capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == str(comfyui_dir)
    assert "already installed" in out.stderr and "installing" not in out.stderr
    assert time.monotonic() - t0 < 30


def test_installed_torch_trio_matches_the_pins():
    import torch
    import torchaudio
    import torchvision

    pins = read_pins()
    assert torch.__version__.split("+")[0] == pins["TORCH_VERSION"]
    assert torchvision.__version__.split("+")[0] == pins["TORCHVISION_VERSION"]
    assert torchaudio.__version__.split("+")[0] == pins["TORCHAUDIO_VERSION"]


def test_pins_live_only_in_pins_env():
    pins = read_pins()
    assert pins["COMFYUI_COMMIT"] == "783545f689a0af730065994b46b382ae24844c99"
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "source pins.env" in dockerfile
    for path in ("Dockerfile", "entrypoint.sh", "scripts/install_comfyui.sh", "scripts/setup.sh"):
        text = (PROJECT_ROOT / path).read_text()
        assert pins["COMFYUI_COMMIT"] not in text, f"{path} repeats the ComfyUI pin"
        assert not re.search(r"torch==\d", text), f"{path} repeats a torch pin"
