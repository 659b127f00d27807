"""What a job gives back: the success output, the failure output and the progress payload.

The same models as the worker's ``ltx_worker/contract/output.py`` (README "Job output"), checked
against it by ``tests/test_client_contract.py``; `contract` re-exports them. `Progress` is the
payload of the worker's ``progress_update``s (README "Progress"), which RunPod's ``/status``
shows as the output of an IN_PROGRESS job.
"""

from __future__ import annotations

import warnings
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ErrorCode


class LoraUsed(BaseModel):
    """One of the job's LoRAs as applied (``settings.loras``, in the job's order)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, description="a named LoRA's name")
    file: str | None = Field(None, description="a named LoRA's file in ComfyUI's loras folders")
    url_host: str | None = Field(None, description="a URL LoRA's host (the URL itself may carry a signature)")
    strength: float
    sha256: str | None = Field(None, description="a URL LoRA's content hash")
    bytes: int | None = None
    cache: Literal["sha256", "revalidated", "fetched"] | None = Field(None, description=(
        "a URL LoRA: found by sha256 (no request), revalidated (one conditional request, 304) or fetched"))
    trigger: str | None = Field(None, description="a named LoRA's trigger word")
    trigger_added: bool | None = Field(None, description=(
        "whether the worker put the trigger word in front of the prompt"))


class Settings(BaseModel):
    """The settings the video was made with (after the family's defaults)."""

    model_config = ConfigDict(extra="allow")
    model: str
    family: str
    mode: Literal["t2v", "i2v", "edit"]
    variant: str | None = Field(description="keyframes, audio, control-canny, control-depth; null for plain t2v/i2v "
                                            "and for edits")
    control: str | None
    quality: str
    resolution: str
    aspect_ratio: str
    duration: float = Field(description=(
        "seconds: as asked, or the length of the audio/control video followed; an edit's output length"))
    width: int = Field(description="pixels of the output (an edit: the source's, after the resolution cap)")
    height: int
    frames: int
    fps: float = Field(description="frames per second (an edit: the source's average rate, e.g. 29.97)")
    camera_lora: str | None
    camera_strength: float | None
    image_strength: float | None
    audio: bool
    enhance_prompt: bool
    loras: list[LoraUsed] = Field([], description=(
        "the job's own LoRAs as applied (a transition job's ltx23-transition LoRA first)"))
    transition: bool = False
    prompt: str = Field(description=(
        "the prompt the video was made from (the enhancer's when enhance_prompt; with named LoRAs' trigger words)"))
    negative_prompt: str
    template: str
    comfyui_version: str
    inputs: dict = Field(description=(
        "facts of the input files: image {width, height}; guides [{field, frame, strength, width, height}]; "
        "audio {format, codec, sample_rate, channels, duration_s, start_s, used_s}; control_video {control, "
        "format, codec, width, height, fps, frames_decoded, duration_s, frames_written, ...}; an edit's video "
        "{format, codec, width, height, fps, frames, rotation, variable_frame_rate, converted_from, scaled, "
        "has_audio, ...}"))
    edit: dict | None = Field(None, description=(
        "an edit's window: kind (retake, extend_end, extend_start), frames [first, last] and seconds of the new "
        "part in the output, window_frames, context before/after (frames and seconds), output_frames, replace, "
        "graph_width/graph_height"))


class Timings(BaseModel):
    """Seconds per stage of the job."""

    inputs_s: float
    generation_s: float
    upload_s: float
    total_s: float


class Cost(BaseModel):
    """GPU seconds the job held the worker, and their price when the worker knows its GPU's rate."""

    gpu_seconds: float
    price_per_gpu_hour: float | None
    usd: float | None


class WebhookReport(BaseModel):
    """How the job's webhook event was delivered."""

    model_config = ConfigDict(extra="allow")
    delivered: bool
    attempts: int
    status: int | None
    error: str | None


class VideoFacts(BaseModel):
    """The MP4's facts, measured from the file: pixels, fps, frames, seconds, audio, bytes, sha256."""

    model_config = ConfigDict(extra="forbid")
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    has_audio: bool
    bytes: int
    sha256: str
    content_type: str = "video/mp4"


class JobOutput(BaseModel):
    """A successful job's output: where the MP4 and its poster are, their facts, seed, settings, timings."""

    model_config = ConfigDict(extra="forbid")
    video_url: str | None = Field(description="object-storage URL (presigned or public); null without a bucket")
    video_key: str | None
    video_path: str | None = Field(description="local path when no bucket is configured")
    poster_url: str | None
    poster_key: str | None
    poster_path: str | None
    video: VideoFacts
    video_base64: str | None = None
    warnings: list[str] | None = None
    seed: int
    prompt: str = Field(description="the prompt used (the enhancer's output when enhance_prompt is true)")
    settings: Settings
    timings: Timings
    cost: Cost
    prompt_id: str = Field(description="ComfyUI's prompt_id")
    external_id: str | None
    webhook: WebhookReport | None = None


class ErrorOutput(BaseModel):
    """A failed job's result as the worker returns it (``error`` is JSON of code, message, retryable)."""

    model_config = ConfigDict(extra="forbid")
    error: str
    error_code: ErrorCode
    message: str
    retryable: bool
    details: dict | None = None
    refresh_worker: bool | None = None
    webhook: WebhookReport | None = None


class Progress(BaseModel):
    """One progress payload: `stage` (inputs, loras, queued, prepare, preprocess, enhance_prompt,
    stage_1, upscale, stage_2, decode, splice (an edit's new frames put into the source), upload,
    done), `step` of `steps` within it, an overall
    `percent` 0..100 that never goes back, and a `message` such as ``stage 1: step 5/8``."""

    model_config = ConfigDict(extra="allow")
    stage: str
    step: int = 0
    steps: int = 0
    percent: float = Field(ge=0.0, le=100.0)
    message: str = ""


def parse_output(data: dict) -> JobOutput:
    """`data` as a `JobOutput`; top-level fields this client does not know (a newer worker's) are
    dropped with a warning rather than refused, so an older client keeps reading results.

    Raises:
        pydantic.ValidationError: the output lacks a field or has a wrong type.
    """
    try:
        return JobOutput.model_validate(data)
    except ValidationError as err:
        extra = {e["loc"][0] for e in err.errors() if e["type"] == "extra_forbidden" and len(e["loc"]) == 1}
        if not extra or len(extra) != len(err.errors()):
            raise
    warnings.warn(f"job output fields unknown to this client, ignored: {', '.join(sorted(map(str, extra)))}",
                  stacklevel=2)
    return JobOutput.model_validate({k: v for k, v in data.items() if k not in extra})
