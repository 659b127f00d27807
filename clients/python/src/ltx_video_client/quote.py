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
the family's longest duration (an upper bound).

Edits (``ltx-2.3-edit``: retake, extend) run one stage at the output size on a *window* of the
source, never the whole source (the worker's ``edit_window``), so they are priced as a one-stage
job over the window (`edit_window_s`), at the resolution cap's 16:9 size (`rules.edit_resolution`:
the job's ``resolution``, default the family's largest; a smaller source costs less) and the
source's fps (default 24). The window: a retake's section plus up to 2 s of context each side
(the worker's default), an extend's new seconds plus its ``context_s``, default as much as fits
the family's frame cap (481 frames at 24 fps), all within the cap. The source's length is not
known before the worker fetches it: pass ``source_s`` to clamp the section and the context to it;
without it the context is assumed to be there in full (an upper bound). The graph: fast is the
distilled checkpoint's 8 steps at full size, as keyframes (x 1.6 on the fast estimate; measured,
stage 2 / 3 x 8); pro is 30 guided steps at full size where the two-stage pro graph runs them on
a quarter of the tokens (x 4 on the pro estimate, rough; measured, stage 1 x 4). The window's VAE
encode and the splice (CPU) are not counted.

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
from .errors import InvalidInputError
from .rules import DEFAULT_DURATION_S, Rules, default_rules, edit_resolution
from .rules import frames_for as family_frames_for

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
    "edit-fast": (1.6, "edit, fast: one 8-step stage at full size over the window, as keyframes (x 1.6)"),
    "edit-pro": (4.0, "edit, pro: 30 guided steps at full size over the window, where pro's stage 1 runs them on a "
                      "quarter of the tokens (x 4, rough)"),
}
#: Context a retake keeps each side of its section when the source has it (the worker's
#: ``edit_window.DEFAULT_RETAKE_CONTEXT_S``).
RETAKE_CONTEXT_S = 2.0
#: A retake's section keeps at least this much of the source (the worker's ``edit_window.MIN_EDIT_S``).
MIN_EDIT_S = 2.0
#: An edit's source frame rate when the caller does not give it (LTX-2.3's own 24 fps).
EDIT_SOURCE_FPS = 24.0


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


def edit_window_s(job: JobInput, max_seconds: float = MAX_SECONDS, source_s: float | None = None) -> float:
    """Seconds of the window an edit's graph runs on (module docstring): a retake's section plus up to
    `RETAKE_CONTEXT_S` each side, an extend's new seconds plus its context (default: as much as fits),
    at most `max_seconds` (the family's frame cap). With `source_s` the section is clamped to the
    source's end and the context to what the source has; without it the context is assumed in full.

    Raises:
        InvalidInputError: with `source_s`, a retake that keeps less than 2 s of the source (the
            worker's refusal, there counted in frames).
        ValueError: `job` is not an edit (neither ``retake`` nor ``extend``).
    """
    if job.retake is not None:
        start, length = job.retake.start_s, job.retake.duration_s
        before, after = min(RETAKE_CONTEXT_S, start), RETAKE_CONTEXT_S
        if source_s is not None:
            length = max(0.0, min(length, source_s - start))
            after = min(after, max(0.0, source_s - start - length))
            if length < MIN_EDIT_S:
                problem = (f"retake: the section keeps {length:.2f} s of the {source_s:.2f} s source; at least "
                           f"{MIN_EDIT_S:g} s must be left (start_s + duration_s)")
                raise InvalidInputError(problem, details={"fields": [problem]}, source="client")
        return min(before + length + after, max_seconds)
    if job.extend is not None:
        new = min(job.extend.duration_s, max_seconds)
        context = max_seconds - new if job.extend.context_s is None else min(job.extend.context_s, max_seconds - new)
        if source_s is not None:
            context = min(context, source_s)
        return new + context
    raise ValueError("an edit window needs retake or extend")


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
          rules: Rules | None = None, source_s: float | None = None,
          source_fps: float = EDIT_SOURCE_FPS) -> Quote:
    """Expected GPU seconds and US$ of `job` on `gpu` (module docstring: the basis and every rule).

    Args:
        job: the job's input (checked as `rules.check_job` does).
        source_s, source_fps: an edit's source video, its seconds (unknown: the context is assumed
            in full) and frames per second; ignored for other jobs.
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
    resolution = spec.resolution
    if rule["mode"] == "edit":
        variant = f"edit-{spec.quality}"
        resolution = edit_resolution(spec, rule)
        duration = edit_window_s(spec, rule["max_seconds"], source_s)
        frames = family_frames_for(duration, source_fps, rule["max_seconds"])
        width, height = SIZES[resolution]
        source = (f"a {source_s:g} s source" if source_s is not None
                  else "the source's length unknown: its context assumed in full (an upper bound)")
        notes.append(f"edit window: {duration:.2f} s = {frames} frames at {source_fps:g} fps and {width}x{height} "
                     f"(the {resolution} cap; a smaller source costs less), {source}")
    else:
        variant = _variant(spec)
        duration = spec.duration if spec.duration is not None else DEFAULT_DURATION_S
        if spec.duration is None and variant in ("audio", "control"):
            duration = rule["duration_s"]["max"]
            notes.append(f"length follows the input: priced at the family's longest, {duration} s (upper bound)")
        width, height = SIZES[spec.resolution]
        width, height = {"16:9": (width, height), "9:16": (height, width), "1:1": (height, height)}[spec.aspect_ratio]
        frames = frames_for(duration, spec.fps)
    work = width * height * frames
    if variant:
        notes.append(MODE_RULES[variant][1])
    run = _load_table(table)
    found = _measured(run, gpu, rule["family"], spec.quality, resolution, duration, notes) if run else None
    if found:
        meta, point = found
        stages = {k: v["seconds"] for k, v in point["stages"].items()}
        scale = work / (point["width"] * point["height"] * point["frames"])
        if variant == "id-lora":
            stages["stage1"] = stages.get("stage1", 0.0) * 2
        elif variant in ("keyframes", "edit-fast") and "stage2" in stages:
            stages = {k: v for k, v in stages.items() if k.startswith("decode")} | {"stage2": stages["stage2"] / 3 * 8}
        elif variant == "edit-pro" and "stage1" in stages:
            stages = {k: v for k, v in stages.items() if k.startswith("decode")} | {"stage1": stages["stage1"] * 4}
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
