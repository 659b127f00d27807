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


def _fake_python(tmp_path):
    """A stand-in for $PYTHON that records pip calls instead of installing (the real install is
    the session's; this test only checks which ComfyUI tree the script picks and unpacks)."""
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    script = tmp_path / "python"
    script.write_text(f'#!/usr/bin/env bash\nif [ "$1" = -c ]; then echo {prefix}; exit 0; fi\n'
                      f'echo "$@" >> {tmp_path}/pip.log\n')
    script.chmod(0o755)
    return script


def _archive(tmp_path, name="ComfyUI"):
    import tarfile

    tree = tmp_path / "src" / name
    tree.mkdir(parents=True)
    (tree / "main.py").write_text("print('comfy')\n")
    (tree / "requirements.txt").write_text("")
    path = tmp_path / "comfyui-test.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tree, arcname=name)
    return path


def test_a_source_archive_installs_when_no_clone_is_possible(tmp_path):
    """COMFYUI_ARCHIVE (air-gapped builds, CI): the tree is unpacked into the cache and its
    requirements installed; an archive that is not the pin says so and keeps its own folder."""
    archive = _archive(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "COMFYUI_DIR"}
    env.update(PYTHON=str(_fake_python(tmp_path)), LTX_WORKER_CACHE=str(tmp_path / "cache"),
               LTX_WORKER_OFFLINE="1", COMFYUI_ARCHIVE=str(archive))
    out = subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "install_comfyui.sh")],
                         env=env, check=True, capture_output=True, text=True)
    tree = out.stdout.strip().splitlines()[-1]
    assert tree.startswith(str(tmp_path / "cache" / "comfyui-archive-")), out.stderr
    assert (tmp_path / "cache" / tree.rsplit("/", 1)[-1] / "main.py").is_file()
    assert "is not the pinned ComfyUI" in out.stderr
    assert "-r " + tree + "/requirements.txt" in (tmp_path / "pip.log").read_text()

    env["COMFYUI_ARCHIVE"] = str(tmp_path / "missing.tar.gz")
    bad = subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "install_comfyui.sh")],
                         env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "is not a file" in bad.stderr


def test_the_pinned_archive_is_recognised_by_its_hash():
    """pins.env records the sha256 of the pinned commit's source archive (../shared/deps)."""
    import hashlib

    archive = PROJECT_ROOT.parent / "shared" / "deps" / "comfyui-0.33.0-783545f6.tar.gz"
    if not archive.is_file():
        import pytest

        pytest.skip("no ../shared/deps archive on this machine")
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == read_pins()["COMFYUI_ARCHIVE_SHA256"]
