"""Command line: ``python -m bench.gpu_cost [--scale real|tiny] [--time-budget S] ...``.

Runs the points of `configs.POINTS` in order, then the options at `configs.OPTIONS_POINT`, one
item at a time; after each item the JSON (``--json``) is rewritten, so a run cut short keeps what
it measured. ``--time-budget`` stops before an item once the budget is spent (items are not
interrupted: leave room for the longest one). ``--sizes`` adds the real models' sizes (meta
device, no GPU needed). Exit status: 0 done (items skipped by the budget are reported, not
errors), 1 an item failed, 2 ``--scale real`` without a GPU (``--sizes`` alone works on a CPU),
3 the ComfyUI tree has no LTX-2 code.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GPU_COMMAND = (
    "pip install matplotlib   # the bench extra, for the plot\n"
    "COMFYUI_DIR=/comfyui python -m bench.gpu_cost --time-budget 420 --sizes \\\n"
    "    --json docs/benchmarks-gpu.json --write-docs"
)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from . import configs as points  # light: no torch

    unknown = {k for k in (args.first or "").split(",") if k} - {p.key for p in points.POINTS}
    if unknown:
        parser.error(f"--first: no such point {sorted(unknown)}")
    started = time.perf_counter()
    comfyui_dir = Path(args.comfyui_dir or os.environ.get("COMFYUI_DIR", "")).resolve()
    if not (comfyui_dir / "comfy" / "ldm" / "lightricks" / "av_model.py").is_file():
        print(
            f"ComfyUI tree {comfyui_dir} has no LTX-2 code (comfy/ldm/lightricks/av_model.py); "
            "give --comfyui-dir or $COMFYUI_DIR (ComfyUI >= 0.8)",
            file=sys.stderr,
        )
        return 3
    torch = _setup_comfy(comfyui_dir)
    from . import configs, pipeline, report

    tiny = args.scale == "tiny"
    cuda = torch.cuda.is_available()
    if tiny and not cuda:
        torch.set_num_threads(1)  # toy models gain nothing from threads; on a busy 2-core box they lose 5x
    gpu_name = torch.cuda.get_device_name() if cuda else "CPU"
    price = args.price_per_hour if args.price_per_hour is not None else _price_for(gpu_name, configs)
    run = {
        "meta": {
            "scale": args.scale,
            "gpu_name": gpu_name if cuda else "CPU (tiny scale; not a GPU cost)" if tiny else "CPU",
            "torch": torch.__version__,
            "comfyui_dir": str(comfyui_dir),
            "comfyui_version": _comfy_version(comfyui_dir),
            "price_per_hour": price,
            "started": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "time_budget_s": args.time_budget,
            "command": " ".join(shlex.quote(a) for a in sys.argv),
            "text_encoder": "not run: a random tensor of its output shape (one forward pass per prompt)",
        },
        "items": [],
    }
    if args.sizes:
        run["sizes"] = _sizes(configs)
    if not tiny and not cuda:
        if not args.sizes:
            print(
                "--scale real needs a CUDA GPU (about 60 GB free); use --scale tiny, or --sizes for the real "
                "models' sizes alone",
                file=sys.stderr,
            )
            return 2
        print(report.sizes_table(run["sizes"]))
        _write(args, run)
        return 0
    plan = _plan(args, configs, pipeline)
    failed, built, warmed = False, None, set()
    for item in plan:
        if args.time_budget is not None and time.perf_counter() - started > args.time_budget:
            item["status"] = "skipped: time budget"
            run["items"].append(item)
            continue
        fam = configs.FAMILIES[item["family"]]
        fam = configs.tiny(fam) if tiny else fam
        pipe = configs.PIPELINES[(item["family"], item["quality"])]
        try:
            if built is None or (built.family.id, built.weight_dtype) != (fam.id, item["weight_dtype"]):
                pipeline.release(built)
                built = None
                built = pipeline.build_family(
                    fam,
                    item["weight_dtype"],
                    configs.tiny_audio_vae() if tiny else configs.AUDIO_VAE,
                    configs.TINY_UPSCALER if tiny else configs.UPSCALER,
                )
                item["build_s"] = round(built.build_s, 2)
                warmed.clear()  # new modules: register them and set the previous job's state again
            item["dit"] = built.dit_info
            warm_key = (fam.id, item["weight_dtype"], item["quality"], item.get("attention"))
            if cuda and warm_key not in warmed:  # kernels, registrations, the previous job's end state
                item["warm_s"] = round(
                    pipeline.warm(built, pipe, attention=item.get("attention"), decode=item["kind"] == "point"), 2
                )
                warmed.add(warm_key)
            w, h = configs.TINY_SIZE if tiny else (item["width"], item["height"])
            frames = configs.TINY_FRAMES if tiny else item["frames"]
            item.update(width=w, height=h, frames=frames)
            stages = pipeline.run_point(
                built, pipe, w, h, frames, attention=item.get("attention"), decode=item["kind"] == "point"
            )
            item["output"] = stages.pop("output", None)
            item.update(stages=stages, status="ok", lora_bytes={k: v[1] for k, v in built.loras.items()})
        except Exception as exc:  # an out-of-memory point must not lose the others
            failed = True
            item["status"] = f"error: {type(exc).__name__}: {str(exc)[:200]}"
            traceback.print_exc()
            if cuda:
                pipeline.release(built)
                built = None
        run["items"].append(item)
        _write(args, run)
        if not args.quiet:
            took = f"  {sum(s['seconds'] for s in item['stages'].values()):.2f} s" if item["status"] == "ok" else ""
            attention = item.get("attention") or "default"
            print(
                f"{item['key']:<32} {item['weight_dtype']:<16} {attention:<10} {item['status']}{took}", file=sys.stderr
            )
    _write(args, run)
    table = report.rows(run)
    if not args.quiet:
        print(report.markdown_table(table))
        print(f"text encoder: {run['meta']['text_encoder']}")
        if "sizes" in run:
            print(report.sizes_table(run["sizes"]))
    if args.plot:
        report.plot(run, args.plot)
    if args.write_docs:
        gpu_run = run if (cuda and not tiny) else None
        if gpu_run:
            report.plot(run, str(ROOT / "docs" / "benchmarks-gpu.png"))
        doc = report.render_doc(gpu_run, None if gpu_run else run, run.get("sizes"), GPU_COMMAND)
        (ROOT / "docs" / "benchmarks-gpu.md").write_text(doc)
    print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 1 if failed else 0


def _plan(args, configs, pipeline) -> list[dict]:
    """The items to run: points in priority order, then options at the options point."""
    only = set(args.only.split(",")) if args.only else None
    first = args.first.split(",") if args.first else []
    items = []
    for p in sorted(configs.POINTS, key=lambda p: first.index(p.key) if p.key in first else len(first)):  # stable
        if only is None or p.key in only:
            items.append(_item("point", p, p.key, configs.MAIN_WEIGHT_DTYPE, None, configs))
    if not args.no_options and (only is None or "options" in only):
        p, main = configs.OPTIONS_POINT, configs.MAIN_WEIGHT_DTYPE
        items.append(_item("option", p, f"{p.key} weights={main}", main, None, configs))  # the baseline
        for name in sorted(pipeline.attention_choices(), key=lambda n: (n in ("sub_quad", "split"), n)):
            if name not in ("sub_quad", "split"):  # the slow fallbacks go last, after the weight dtypes
                items.append(_item("option", p, f"{p.key} attention={name}", main, name, configs))
        for dtype in configs.WEIGHT_DTYPES:
            if dtype != main:
                items.append(_item("option", p, f"{p.key} weights={dtype}", dtype, None, configs))
        for name in ("sub_quad", "split"):
            if name in pipeline.attention_choices():
                items.append(_item("option", p, f"{p.key} attention={name}", main, name, configs))
    return items


def _item(kind, p, key, dtype, attention, configs) -> dict:
    fps = configs.FAMILIES[p.family].fps
    w, h = configs.SIZES[p.resolution]
    return {
        "kind": kind,
        "key": key,
        "family": p.family,
        "quality": p.quality,
        "resolution": p.resolution,
        "duration_s": p.duration_s,
        "width": w,
        "height": h,
        "frames": configs.frames_for(p.duration_s, fps),
        "fps": fps,
        "weight_dtype": dtype,
        "attention": attention,
        "status": "pending",
    }


def _sizes(configs) -> dict:
    """Real-size parameter counts and bf16 bytes, built on the meta device (no GPU, seconds)."""
    import torch

    from . import models

    def meta_bytes(build) -> int:
        with torch.device("meta"):
            module = build()
        return sum(t.numel() * 2 for t in module.state_dict().values() if t.is_floating_point())

    import comfy.ldm.lightricks.latent_upsampler as lu
    import comfy.ldm.lightricks.vae.audio_vae as audio_vae
    import comfy.ldm.lightricks.vae.causal_video_autoencoder as cva
    import comfy.ldm.lightricks.vae.na_diffusion_decoder as nad
    import comfy.ops

    out = {}
    for fid, fam in configs.FAMILIES.items():
        n = sum(t.numel() for t in models.meta_transformer(fam.transformer).state_dict().values())
        diffusion = fam.video_vae.get("_class_name") == "CausalDiffusionVAE"
        out[fid] = {
            "transformer_params": n,
            "transformer_bytes": 2 * n,
            "video_vae_bytes": meta_bytes(
                lambda f=fam, d=diffusion: nad.CausalDiffusionVAE() if d else cva.VideoVAE(config=f.video_vae)
            ),
            "audio_bytes": meta_bytes(
                lambda f=fam: audio_vae.AudioVAE(
                    metadata={"config": {"audio_vae": configs.AUDIO_VAE, "vocoder": f.vocoder}}
                )
            ),
            "upscaler_bytes": meta_bytes(
                lambda: lu.LatentUpsampler.from_config(configs.UPSCALER, operations=comfy.ops.disable_weight_init)
            ),
            "text_encoder": models.text_encoder_sizes(fam.transformer, fam.text_encoder.gemma),
        }
    return out


def _setup_comfy(comfyui_dir: Path):
    """Import ComfyUI from `comfyui_dir` as ltx_worker/tinymodels does (sys.path + chdir)."""
    sys.path.insert(0, str(comfyui_dir))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.chdir(comfyui_dir)
    import comfy.cli_args
    import torch

    comfy.cli_args.args.cpu = not torch.cuda.is_available()
    comfy.cli_args.args.disable_dynamic_vram = True
    import comfy.model_management  # noqa: F401  (device set-up happens at import)
    import comfy.utils

    comfy.utils.PROGRESS_BAR_ENABLED = False
    return torch


def _comfy_version(comfyui_dir: Path) -> str:
    try:
        text = (comfyui_dir / "comfyui_version.py").read_text()
        return text.split("=")[-1].strip().strip("\"'")
    except OSError:
        return "unknown"


def _price_for(gpu_name: str, configs) -> float | None:
    return next((rate for token, rate in configs.GPU_RATES if token in gpu_name), None)


def _write(args, run: dict) -> None:
    if args.json:  # whole or not at all: a run interrupted while writing keeps the previous file
        partial = Path(args.json + ".partial")
        partial.write_text(json.dumps(run, indent=1))
        partial.replace(args.json)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.gpu_cost", description=__doc__.split("\n\n")[1])
    p.add_argument(
        "--scale",
        choices=("real", "tiny"),
        default="real",
        help="real: the released sizes (a GPU with ~60 GB free); tiny: a few layers, CPU seconds",
    )
    p.add_argument("--comfyui-dir", help="ComfyUI tree with LTX-2 (default $COMFYUI_DIR)")
    p.add_argument("--time-budget", type=float, help="seconds; no new item starts once this much time has passed")
    p.add_argument("--only", help="comma-separated point keys (e.g. ltx2-fast-720p-10s) and/or 'options'")
    p.add_argument("--first", help="comma-separated point keys to run first, in this order; the rest keep theirs")
    p.add_argument("--no-options", action="store_true", help="skip the weight-dtype and attention comparison")
    p.add_argument(
        "--price-per-hour",
        type=float,
        help="$ per GPU-hour for the cost columns (default: the docs/deploy.md rate of the GPU found, if any)",
    )
    p.add_argument("--sizes", action="store_true", help="add the real models' sizes (meta device)")
    p.add_argument("--json", help="write the raw results here (rewritten after every item)")
    p.add_argument("--plot", help="write the seconds-per-stage plot (PNG) here")
    p.add_argument(
        "--write-docs",
        action="store_true",
        help="write docs/benchmarks-gpu.md (and, on a GPU at real scale, docs/benchmarks-gpu.png)",
    )
    p.add_argument("--quiet", action="store_true")
    return p


if __name__ == "__main__":
    sys.exit(main())
