"""The quick-start job: one real image-to-video job through entrypoint.sh and the handler.

``python -m ltx_worker.demo [--image PATH] [--prompt TEXT]`` runs an i2v job with RunPod's
local test mode (``handler.py --test_input``) against a ComfyUI started by entrypoint.sh, then
prints where the MP4 and poster are and what the video holds. It uses the real models when
models.txt's files for the job are present (in $MODELS_DIR or ComfyUI's models/), otherwise it
generates tiny random weights (ltx_worker.tinymodels): then the video shows a mosaic, but every
part of the path is real. The model is the image-to-video model of the newest family
(``workflows/<family>/family.json`` ``released``) that the ComfyUI tree runs and that has the
quality asked for: LTX-2.5 on ComfyUI 0.33.0, the legacy LTX-Video 0.9 on the registry's 0.3.75.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from .comfy.process import write_extra_model_paths
from .delivery.outputs import probe_video
from .families import Family, FamilyRegistry
from .models.manifest import load_models_txt, missing_files
from .paths import MODELS_TXT, PROJECT_ROOT, WORKFLOWS_DIR
from .tinymodels import supported_families

DEFAULT_PROMPT = (
    "A red and white lighthouse on a dark cliff at dusk, its beam sweeping over a calm sea, "
    "gulls crossing the orange sky, waves breaking softly on the rocks below."
)


def _comfyui_dir(python: str) -> Path:
    out = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "install_comfyui.sh")],
        env=dict(os.environ, PYTHON=python), check=True, stdout=subprocess.PIPE, text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def pick_family(families: FamilyRegistry, runnable: list[str], quality: str) -> tuple[Family, str]:
    """The newest family in `runnable` (family ids the ComfyUI tree runs) with an i2v model and
    `quality`, and that model id.

    Raises:
        SystemExit: none fits (the message names the families the tree runs).
    """
    for family in reversed(families.families):
        i2v = [m for m, mode in family.models.items() if mode == "i2v"]
        if family.id in runnable and i2v and quality in family.qualities:
            return family, i2v[0]
    raise SystemExit(f"[demo] no family this ComfyUI runs ({', '.join(runnable)}) has quality {quality}")


def main(argv: list[str] | None = None) -> int:
    """Run the quick-start job; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m ltx_worker.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", type=Path, default=PROJECT_ROOT / "examples" / "lighthouse.jpg")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--quality", default="fast", help="fast (default) or pro; picks the newest family having it")
    parser.add_argument("--duration", type=int, default=2)
    parser.add_argument("--output-dir", type=Path, default=PROJECT_ROOT / "output")
    args = parser.parse_args(argv)

    python = sys.executable
    comfyui_dir = _comfyui_dir(python)
    family, model = pick_family(FamilyRegistry.load(WORKFLOWS_DIR),
                                supported_families(comfyui_dir), args.quality)
    profiles = set(family.profiles_for(args.quality))
    models_dirs = [Path(p) for p in os.environ.get("MODELS_DIR", "").split(os.pathsep) if p]
    models_dirs.append(comfyui_dir / "models")
    missing = missing_files(load_models_txt(MODELS_TXT), models_dirs, profiles)

    run_dir = args.output_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHON=python, COMFYUI_DIR=str(comfyui_dir), OUTPUT_DIR=str(run_dir),
               RUNPOD_DEBUG_LEVEL=os.environ.get("RUNPOD_DEBUG_LEVEL", "INFO"),
               COMFY_LOG=str(run_dir / "comfyui.log"))
    if missing:
        tiny = run_dir / "tiny-models"
        print(f"[demo] {len(missing)} real model files missing (e.g. {missing[0].relpath}): "
              f"generating tiny random weights in {tiny}", file=sys.stderr)
        subprocess.run([python, "-m", "ltx_worker.tinymodels", "--comfyui-dir", str(comfyui_dir),
                        "--models-dir", str(tiny)], check=True, stdout=subprocess.DEVNULL)
        extra = write_extra_model_paths(run_dir / "extra_model_paths.yaml", tiny,
                                        [PROJECT_ROOT / "tests" / "comfy_nodes"])
        env["EXTRA_MODEL_PATHS"] = str(extra)
    elif models_dirs[:-1]:
        extra = write_extra_model_paths(run_dir / "extra_model_paths.yaml", models_dirs[0], [])
        env["EXTRA_MODEL_PATHS"] = str(extra)

    image_b64 = base64.b64encode(args.image.read_bytes()).decode()
    mime = "image/png" if args.image.suffix.lower() == ".png" else "image/jpeg"
    job = {"id": "quickstart", "input": {
        "model": model, "prompt": args.prompt, "quality": args.quality, "resolution": "720p",
        "duration": args.duration, "image_urls": [f"data:{mime};base64,{image_b64}"], "seed": 42}}
    print(f"[demo] {model} {args.quality} job ({family.name}, the newest family this ComfyUI runs) "
          f"through entrypoint.sh (ComfyUI log: {env['COMFY_LOG']})", file=sys.stderr)
    proc = subprocess.run([str(PROJECT_ROOT / "entrypoint.sh"), "--test_input", json.dumps(job)],
                          env=env, cwd=PROJECT_ROOT)
    video = run_dir / "quickstart.mp4"
    if proc.returncode != 0 or not video.is_file():
        print("[demo] the job failed; see the log above", file=sys.stderr)
        return proc.returncode or 1
    facts = probe_video(video)
    print(f"\nModel:  {model} {args.quality} ({family.name})\nVideo:  {video}\nPoster: {run_dir / 'quickstart.jpg'}")
    print(f"        {facts.width}x{facts.height}, {facts.frames} frames at {facts.fps:g} fps "
          f"({facts.duration_s:g} s), audio: {'yes' if facts.has_audio else 'no'}, {facts.bytes} bytes"
          + ("  [tiny random weights: expect a mosaic of blocks, not a film]" if missing else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
