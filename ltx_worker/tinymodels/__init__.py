"""Tiny, randomly initialised LTX weights under the real model file names (tests and demo).

`write_tiny_models` imports ComfyUI's own model classes from a ComfyUI tree, so it must run in
the Python environment ComfyUI runs in. One generator module per model family (the family ids of
``workflows/<family>/family.json``), each written only where the tree has that family's model
code (`supported_families`): LTX-Video 0.9 for any ComfyUI, LTX-2 from ComfyUI 0.8
(``comfy/ldm/lightricks/av_model.py``), LTX-2.3 and LTX-2.5 where the tree has Gemma 4
(``comfy/text_encoders/gemma4.py``, ComfyUI 0.33.0). The text encoders are sized by the
test-only custom node tests/comfy_nodes/tiny_text_encoders.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

#: family id -> (generator module, its write function, a file of the ComfyUI tree that the
#: family's model code needs). A new family adds one line here and its module.
GENERATORS: dict[str, tuple[str, str, str]] = {
    "ltxv": ("ltxv", "write_tiny_ltxv", "comfy/ldm/lightricks/model.py"),
    "ltx2": ("ltx2", "write_tiny_ltx2", "comfy/ldm/lightricks/av_model.py"),
    "ltx23": ("ltx23", "write_tiny_ltx23", "comfy/text_encoders/gemma4.py"),
    "ltx25": ("ltx25", "write_tiny_ltx25", "comfy/text_encoders/gemma4.py"),
}


def supported_families(comfyui_dir: Path) -> list[str]:
    """The family ids whose model code the ComfyUI tree at `comfyui_dir` has (`GENERATORS` order)."""
    return [fid for fid, (_, _, marker) in GENERATORS.items() if (Path(comfyui_dir) / marker).is_file()]


def tree_has_ltx2(comfyui_dir: Path) -> bool:
    """Whether the ComfyUI tree at `comfyui_dir` has the LTX-2 model code (ComfyUI >= 0.8)."""
    return "ltx2" in supported_families(comfyui_dir)


def write_tiny_models(comfyui_dir: Path, models_dir: Path, families: tuple[str, ...] | None = None) -> list[Path]:
    """Write tiny weights for `families` (default: every family in `GENERATORS`) into
    `models_dir/<folder>/<file>`.

    A family the tree lacks is skipped (not an error). Puts `comfyui_dir` on sys.path and makes
    it the working directory while ComfyUI's modules are imported.

    Returns:
        The files written.

    Raises:
        KeyError: an unknown family id.
    """
    comfyui_dir, models_dir = Path(comfyui_dir).resolve(), Path(models_dir).resolve()
    wanted = tuple(GENERATORS) if families is None else families
    for fid in wanted:
        GENERATORS[fid]  # noqa: B018 - unknown ids fail before any work
    runnable = supported_families(comfyui_dir)
    if str(comfyui_dir) not in sys.path:
        sys.path.insert(0, str(comfyui_dir))
    cwd = os.getcwd()
    os.chdir(comfyui_dir)
    try:
        written: list[Path] = []
        for fid in wanted:
            if fid in runnable:
                module, function, _ = GENERATORS[fid]
                written += getattr(importlib.import_module(f"{__name__}.{module}"), function)(models_dir)
        return written
    finally:
        os.chdir(cwd)
