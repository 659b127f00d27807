"""Tiny, randomly initialised LTX weights under the real model file names (tests and demo).

`write_tiny_models` imports ComfyUI's own model classes from a ComfyUI tree, so it must run in
the Python environment ComfyUI runs in. LTX-Video 0.9 files are written for any ComfyUI; LTX-2
files where the tree has LTX-2 (``comfy/ldm/lightricks/av_model.py``, ComfyUI >= 0.8).
The text encoders are sized by the test-only custom node tests/comfy_nodes/tiny_text_encoders.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def tree_has_ltx2(comfyui_dir: Path) -> bool:
    """Whether the ComfyUI tree at `comfyui_dir` has the LTX-2 model code (ComfyUI >= 0.8)."""
    return (Path(comfyui_dir) / "comfy" / "ldm" / "lightricks" / "av_model.py").is_file()


def write_tiny_models(comfyui_dir: Path, models_dir: Path, families: tuple[str, ...] = ("ltxv", "ltx2")) -> list[Path]:
    """Write tiny weights for `families` ("ltxv", "ltx2") into `models_dir/<folder>/<file>`.

    LTX-2 is skipped (not an error) when the tree has no LTX-2 code. Puts `comfyui_dir` on
    sys.path and makes it the working directory while ComfyUI's modules are imported.

    Returns:
        The files written.
    """
    comfyui_dir, models_dir = Path(comfyui_dir).resolve(), Path(models_dir).resolve()
    if str(comfyui_dir) not in sys.path:
        sys.path.insert(0, str(comfyui_dir))
    cwd = os.getcwd()
    os.chdir(comfyui_dir)
    try:
        written: list[Path] = []
        if "ltxv" in families:
            from .ltxv import write_tiny_ltxv

            written += write_tiny_ltxv(models_dir)
        if "ltx2" in families and tree_has_ltx2(comfyui_dir):
            from .ltx2 import write_tiny_ltx2

            written += write_tiny_ltx2(models_dir)
        return written
    finally:
        os.chdir(cwd)
