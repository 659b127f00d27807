"""The job's result (README, "Job output"): files delivered, settings, timings, cost, webhook event.

`deliver_files` probes the MP4, writes its poster, inlines it when asked and hands both to
storage; `build_result` assembles the output dict; `job_cost` prices the GPU time;
`webhook_event` turns a result (or an error output) into the event type and payload a backend's
webhook receives.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from ..compiler import CompiledJob
from ..contract.job import JobInput
from .outputs import probe_video, write_poster
from .storage import Storage
from .webhooks import EVENT_FAILED, EVENT_SUCCEEDED


def deliver_files(storage: Storage, video_path: Path, poster_path: Path, tag: str,
                  return_base64: bool, inline_max_bytes: int) -> dict[str, Any]:
    """Probe the MP4, write its poster (first frame, JPEG), store both as ``<tag>.mp4/.jpg``.

    Returns:
        The result's file fields: video_url/key/path, poster_url/key/path, ``video`` (the
        measured facts), and ``video_base64`` (when asked and at most `inline_max_bytes`) or a
        warning saying why not.

    Raises:
        WorkerError: OUTPUT_MISSING when the MP4 cannot be read; UPLOAD_FAILED from storage.
    """
    facts = probe_video(video_path)
    write_poster(video_path, poster_path)
    out: dict[str, Any] = {}
    if return_base64:
        if facts.bytes <= inline_max_bytes:
            out["video_base64"] = base64.b64encode(video_path.read_bytes()).decode()
        else:
            out["warnings"] = [
                f"return_base64: the video ({facts.bytes} bytes) is over the inline cap "
                f"({inline_max_bytes} bytes, INLINE_MAX_BYTES); use video_url"
            ]
    video = storage.put(video_path, f"{tag}.mp4", facts.content_type)
    poster = storage.put(poster_path, f"{tag}.jpg", "image/jpeg")
    return {
        "video_url": video.url, "video_key": video.key, "video_path": video.path,
        "poster_url": poster.url, "poster_key": poster.key, "poster_path": poster.path,
        "video": facts.to_dict(), **out,
    }


def job_cost(seconds: float, price_per_gpu_hour: float | None) -> dict[str, Any]:
    """GPU seconds the job held the worker (its wall time: one job per GPU) and, when a price
    per GPU hour is set (GPU_PRICE_PER_HOUR), their price in USD."""
    return {
        "gpu_seconds": round(seconds, 3),
        "price_per_gpu_hour": price_per_gpu_hour,
        "usd": round(seconds / 3600 * price_per_gpu_hour, 6) if price_per_gpu_hour is not None else None,
    }


def job_settings(job: JobInput, compiled: CompiledJob, prompt_used: str, comfyui_version: str,
                 inputs: dict[str, Any] | None = None, loras: list[dict] | None = None) -> dict[str, Any]:
    """The settings the video was made with (the result's ``settings``); `inputs` are the facts
    of the job's input files (`job_inputs.CheckedInputs.facts`: image size, guide frames, audio
    and control video length, rate, size, frames); `loras` the job's LoRAs as applied
    (`loras.job.JobLoraSet.report`)."""
    plan = job.plan
    return {
        "model": job.model,
        "family": plan.family.id,
        "mode": plan.mode,
        "variant": plan.variant,
        "control": job.control,
        "quality": job.quality,
        "resolution": job.resolution,
        "aspect_ratio": job.aspect_ratio,
        "duration": job.duration if job.duration is not None else round(plan.duration_s, 3),
        "width": plan.width,
        "height": plan.height,
        "frames": plan.frames,
        "fps": plan.fps,
        "camera_lora": job.camera_lora,
        "camera_strength": job.camera_strength if job.camera_lora else None,
        "image_strength": plan.image_strength if job.image_urls else None,
        "audio": job.audio,
        "enhance_prompt": job.enhance_prompt,
        "loras": loras or [],
        "transition": job.transition,
        "prompt": prompt_used,
        "negative_prompt": plan.negative_prompt,
        "template": compiled.template.name,
        "comfyui_version": comfyui_version,
        "inputs": inputs or {},
    }


def build_result(delivered: dict[str, Any], seed: int, settings: dict[str, Any], timings: dict[str, float],
                 cost: dict[str, Any], prompt_id: str, external_id: str | None) -> dict[str, Any]:
    """The success output: the delivered files, then seed, settings, timings (s), cost, ids."""
    return {
        **delivered,
        "seed": seed,
        "prompt": settings["prompt"],
        "settings": settings,
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "cost": cost,
        "prompt_id": prompt_id,
        "external_id": external_id,
    }


def webhook_event(job: dict, result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The webhook event type and payload for a finished job (success or error output).

    The payload carries the RunPod job id, the job's external_id (read from the raw input, so a
    job failing validation still has it) and the output, or the error object.
    """
    failed = "error" in result
    raw = job.get("input") if isinstance(job.get("input"), dict) else {}
    data = {"job_id": job.get("id"), "external_id": raw.get("external_id"),
            **({"error": json.loads(result["error"])} if failed else {"output": result})}
    return (EVENT_FAILED if failed else EVENT_SUCCEEDED), data
