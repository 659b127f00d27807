"""What a job will cost before it is sent: expected GPU seconds and US dollars, and on what basis.

**Measured** (``basis.kind == "measured"``): from the JSON that ``python -m bench.gpu_cost --json
FILE`` writes on a GPU (the worker repository's ``bench/gpu_cost``; its ``meta`` names the GPU
and date, its ``items`` hold per-stage seconds for points of family x quality x resolution x
duration), given as `quote`'s ``table`` or the ``LTX_GPU_COST_JSON`` environment variable. Used
when the run is ``scale: real`` on the GPU asked for and has a point of the job's family and
quality: the nearest point (same resolution, then the nearest duration), scaled linearly by
pixels x frames, plus `UPLOAD_S`. The bench leaves the text encoder out (one pass per prompt).

**Estimate** (no such figures; none exist yet, docs/benchmarks-gpu.md): docs/deploy.md's
"Costs" example on an H100, a fast 720p 10 s job generating in 60 s and uploading in 2 s, a pro
job in 4 min (`ESTIMATE_BASE_S`); LTX-2.3/2.5 times 21.0 B / 19.59 B transformer parameters
(docs/benchmarks-gpu.md sizes table), the legacy LTX-Video 0.9 times 13 B / 19.59 B (one
stage, pro = fast); scaled linearly by pixels x frames (attention grows faster than that, so
long and large videos are underestimated). The seconds are H100 seconds whatever ``gpu``: no
relative GPU speeds have been measured, so another GPU only changes the price.

Modes and extras, until measured (`MODE_RULES`): ID-LoRA (``reference_audio_url``) runs one more
transformer pass per stage-1 step, 19 passes instead of 11 (README modes table): measured,
stage 1 x 2; estimated, generation x 19/11 (an upper bound: stage-1 passes run on a quarter of
the tokens). Keyframes and transition (one stage at full size, 8 steps): 8 full-size passes
where fast has 8 quarter-size + 3 full-size (5 full-size equivalents): measured, stage 2 / 3 x 8
in place of the sampling stages; estimated, x 1.6. Control (IC-LoRA): the control latents join
the video's tokens: sampling x 2 (a rough rule; the depth preprocessor is not counted). Audio
(with or without a start image): as the model's t2v/i2v graph of that quality. The prompt
enhancer adds `ENHANCER_S`. A job whose length follows its audio or control video is priced at
the family's longest duration (an upper bound). Edits (retake, extend) are not in this worker's
contract yet; when they come, the rule is: price the window (section or extension plus context)
as a job of that length.

GPU prices (`GPU_PRICES`) are RunPod serverless per-second rates with their date and source;
pass ``prices`` or ``usd_per_s`` to use your own.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .contract import JobInput
from .rules import DEFAULT_DURATION_S, Rules, default_rules

PRICE_SOURCE = ("RunPod serverless per-second rates, runpod/docs snippets/serverless-gpu-pricing-table.mdx "
                "(2026-06-08, unified flex/active pricing), as copied in ../shared/reference/FACTS.md")
PRICE_DATE = "2026-06-08"


@dataclass(frozen=True)
class GpuPrice:
    """A GPU's price: US$ per second of worker time, with its date and source."""

    usd_per_s: float
    date: str = PRICE_DATE
    source: str = PRICE_SOURCE


_L40 = GpuPrice(0.00053)
#: RunPod serverless rates by GPU name (FACTS.md "What hosted LTX video and RunPod GPUs cost").
GPU_PRICES: dict[str, GpuPrice] = {
    "L40": _L40, "L40S": _L40, "RTX 6000 Ada": _L40, "A100": GpuPrice(0.00076), "H100": GpuPrice(0.00116),
    "RTX PRO 6000": GpuPrice(0.00111), "H200": GpuPrice(0.00155), "B200": GpuPrice(0.00240),
}
ESTIMATE_SOURCE = ("docs/deploy.md 'Costs' example (H100: fast 720p 10 s generates in 60 s, uploads in 2 s; pro in "
                   "4 min), scaled by transformer size and pixels x frames; no GPU figures exist yet")
#: Generation seconds on an H100 of a 720p 16:9 10 s job at 24 fps (1280x704, 241 frames), per family x quality.
ESTIMATE_BASE_S: dict[tuple[str, str], float] = {
    ("ltx2", "fast"): 60.0, ("ltx2", "pro"): 240.0,
    ("ltx23", "fast"): 60.0 * 21.01 / 19.59, ("ltx23", "pro"): 240.0 * 21.01 / 19.59,
    ("ltx25", "fast"): 60.0 * 21.00 / 19.59, ("ltxv", "fast"): 60.0 * 13 / 19.59, ("ltxv", "pro"): 60.0 * 13 / 19.59,
}
_BASE_WORK = 1280 * 704 * 241
UPLOAD_S = 2.0  # docs/deploy.md's example: probe, poster and upload of a 720p 10 s MP4
ENHANCER_S = 10.0  # a guess: one Gemma text generation of a few hundred tokens (not measured)
#: Width x height per resolution and aspect ratio (README "Job input"; every family's family.json).
SIZES = {"720p": (1280, 704), "1080p": (1920, 1088), "1440p": (2560, 1472), "2160p": (3840, 2176)}
MAX_SECONDS = 20.0417  # family.json max_seconds (every family): the frame cap, 481 frames at 24 fps
#: variant -> (estimate factor on generation, its rule in words)
MODE_RULES: dict[str, tuple[float, str]] = {
    "id-lora": (19 / 11, "ID-LoRA: 19 transformer passes instead of 11 (measured: stage 1 x 2)"),
    "keyframes": (1.6, "keyframes: one 8-step stage at full size = 8 full-size passes for fast's 5 equivalents"),
    "control": (2.0, "control: the IC-LoRA guide's latents join the video's tokens (sampling x 2, rough)"),
    "audio": (1.0, "audio: the t2v/i2v graph of its model and quality (the sound is encoded, not made)"),
}


@dataclass(frozen=True)
class Basis:
    """Where a quote's seconds come from: ``kind`` "measured" (on `gpu`, `date`) or "estimate"; `source` in words."""

    kind: str
    source: str
    gpu: str | None = None
    date: str | None = None

    def __str__(self) -> str:
        return f"measured on {self.gpu}, {self.date} ({self.source})" if self.kind == "measured" \
            else f"estimate ({self.source})"


@dataclass(frozen=True)
class Quote:
    """Expected GPU seconds and US$ of one job on `gpu` at `price`; `notes` name the rules applied."""

    gpu_seconds: float
    usd: float
    basis: Basis
    gpu: str
    price: GpuPrice
    notes: tuple[str, ...] = field(default=())


def frames_for(duration_s: float, fps: int) -> int:
    """The worker's frame count: the smallest 8k+1 >= duration*fps, capped at MAX_SECONDS' 8k+1."""
    wanted = 8 * math.ceil((duration_s * fps - 1) / 8) + 1
    return min(wanted, 8 * math.floor((MAX_SECONDS * fps - 1) / 8) + 1)


def _variant(job: JobInput) -> str | None:
    if job.keyframes or job.last_image_url:
        return "keyframes"
    if job.audio_url:
        return "audio"
    if job.control_video_url:
        return "control"
    return "id-lora" if job.reference_audio_url else None


def _gpu_matches(asked: str, gpu_name: str) -> bool:
    return re.search(rf"(?<![A-Z0-9]){re.escape(asked.upper())}(?![A-Z0-9])", gpu_name.upper()) is not None


def _measured(run: dict, gpu: str, family: str, quality: str, resolution: str, duration: float,
              notes: list[str]) -> tuple[dict, dict] | None:
    """The bench point to scale (and the run's meta), or None with the reason in `notes`."""
    meta = run.get("meta", {})
    if meta.get("scale") != "real" or not _gpu_matches(gpu, str(meta.get("gpu_name", ""))):
        notes.append(f"GPU table not used: it is {meta.get('scale')} scale on {meta.get('gpu_name')}, not {gpu}")
        return None
    points = [i for i in run.get("items", []) if i.get("kind") == "point" and i.get("status") == "ok"
              and i.get("family") == family and i.get("quality") == quality]
    if not points:
        notes.append(f"GPU table not used: no {family} {quality} point measured")
        return None
    best = min(points, key=lambda i: (i.get("resolution") != resolution, abs(i.get("duration_s", 0) - duration)))
    return meta, best


def _load_table(table: str | Path | Mapping | None) -> dict | None:
    if isinstance(table, Mapping):
        return dict(table)
    path = table or os.environ.get("LTX_GPU_COST_JSON")
    return json.loads(Path(path).read_text()) if path else None


def quote(job: dict | JobInput, gpu: str = "H100", *, table: str | Path | Mapping | None = None,
          prices: Mapping[str, float | GpuPrice] | None = None, usd_per_s: float | None = None,
          rules: Rules | None = None) -> Quote:
    """Expected GPU seconds and US$ of `job` on `gpu` (module docstring: the basis and every rule).

    Args:
        job: the job's input (checked as `rules.check_job` does).
        gpu: a key of `GPU_PRICES` (or of `prices`), matched as a word in a measured run's GPU name.
        table: a ``bench/gpu_cost --json`` file or its parsed dict (default: $LTX_GPU_COST_JSON).
        prices: your own per-second prices by GPU (floats or `GpuPrice`), over `GPU_PRICES`.
        usd_per_s: one price for this quote, over everything else.
        rules: the worker's models data (default: the shipped rules.json).

    Raises:
        InvalidInputError: the worker would refuse the job.
        ValueError: no price for `gpu`.
    """
    rules = rules or default_rules()
    spec = rules.check(job)
    rule, notes = rules.models[spec.model], []
    table_prices = {**GPU_PRICES, **{k: v if isinstance(v, GpuPrice) else GpuPrice(v, "caller", "caller's price")
                                     for k, v in (prices or {}).items()}}
    if usd_per_s is not None:
        price = GpuPrice(usd_per_s, "caller", "caller's price")
    elif gpu in table_prices:
        price = table_prices[gpu]
    else:
        raise ValueError(f"gpu: no price for {gpu!r}; one of {', '.join(table_prices)}, or pass usd_per_s")
    variant = _variant(spec)
    duration: float = spec.duration if spec.duration is not None else DEFAULT_DURATION_S
    if spec.duration is None and variant in ("audio", "control"):
        duration = rule["duration_s"]["max"]
        notes.append(f"length follows the input: priced at the family's longest, {duration} s (upper bound)")
    width, height = SIZES[spec.resolution]
    width, height = {"16:9": (width, height), "9:16": (height, width), "1:1": (height, height)}[spec.aspect_ratio]
    work = width * height * frames_for(duration, spec.fps)
    if variant:
        notes.append(MODE_RULES[variant][1])
    run = _load_table(table)
    found = _measured(run, gpu, rule["family"], spec.quality, spec.resolution, duration, notes) if run else None
    if found:
        meta, point = found
        stages = {k: v["seconds"] for k, v in point["stages"].items()}
        scale = work / (point["width"] * point["height"] * point["frames"])
        if variant == "id-lora":
            stages["stage1"] = stages.get("stage1", 0.0) * 2
        elif variant == "keyframes" and "stage2" in stages:
            stages = {k: v for k, v in stages.items() if k.startswith("decode")} | {"stage2": stages["stage2"] / 3 * 8}
        elif variant == "control":
            stages.update({k: v * 2 for k, v in stages.items() if not k.startswith("decode")})
        seconds = sum(stages.values()) * scale
        basis = Basis("measured", f"bench/gpu_cost point {point['key']} scaled by pixels x frames x {scale:.3f}",
                      str(meta.get("gpu_name")), str(meta.get("started")))
    else:
        seconds = ESTIMATE_BASE_S[(rule["family"], spec.quality)] * work / _BASE_WORK
        seconds *= MODE_RULES[variant][0] if variant else 1.0
        basis = Basis("estimate", ESTIMATE_SOURCE)
    if spec.enhance_prompt:
        seconds += ENHANCER_S
        notes.append(f"prompt enhancer: + {ENHANCER_S:g} s (a guess)")
    seconds = round(seconds + UPLOAD_S, 1)
    return Quote(seconds, round(seconds * price.usd_per_s, 6), basis, gpu, price, tuple(notes))


def quote_dict(q: Quote) -> dict[str, Any]:
    """`q` as JSON-ready data (the CLI's ``quote --json``)."""
    return {"gpu_seconds": q.gpu_seconds, "usd": q.usd, "gpu": q.gpu,
            "basis": {**asdict(q.basis), "text": str(q.basis)}, "price": asdict(q.price), "notes": list(q.notes)}
