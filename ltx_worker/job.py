"""The studio's job input contract (SPEC.md, "Job input (version 1)") and its derived values.

`parse_job_input` turns the RunPod job's ``input`` dict into a `JobInput` or raises a
`WorkerError(INVALID_INPUT)` whose message names every bad field. `JobInput.render` gives the
numbers the templates need (`RenderSize`): output width/height (multiples of 64, because stage 1
of the two-stage LTX-2 pipeline runs at half size and EmptyLTXVLatentVideo floors to 32),
frame count (8k+1) and fps.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ErrorCode, WorkerError

#: FACTS.md: the default negative prompt of the official LTX-2 templates.
DEFAULT_NEGATIVE_PROMPT = (
    "blurry, low quality, still frame, frames, watermark, overlay, titles, has blurbox, has subtitles"
)

#: Output sizes per (resolution, aspect ratio), each side a multiple of 64 (SPEC.md: 720p 16:9 is
#: 1280x704, 1080p 16:9 is 1920x1088).
SIZES: dict[tuple[str, str], tuple[int, int]] = {
    ("720p", "16:9"): (1280, 704),
    ("720p", "9:16"): (704, 1280),
    ("720p", "1:1"): (704, 704),
    ("1080p", "16:9"): (1920, 1088),
    ("1080p", "9:16"): (1088, 1920),
    ("1080p", "1:1"): (1088, 1088),
}

#: FACTS.md: LTX-2's time encoding tops out near 20 s, at most 481 frames at 24 fps.
MAX_SECONDS = 481 / 24

#: Camera moves of the LTX-2 camera-control LoRAs (FACTS.md), by the contract's names.
CAMERA_LORAS: dict[str, str] = {
    name: f"ltx-2-19b-lora-camera-control-{name.replace('_', '-')}.safetensors"
    for name in ("static", "dolly_in", "dolly_out", "dolly_left", "dolly_right", "jib_up", "jib_down")
}

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

Model = Literal["ltx-2-t2v", "ltx-2-i2v", "ltxv-t2v", "ltxv-i2v"]


def frames_for(duration_s: int, fps: int) -> int:
    """Frame count for a duration: the smallest 8k+1 >= duration*fps, capped (SPEC.md).

    The cap is the largest 8k+1 that fits `MAX_SECONDS` at this fps (481 at 24 fps, 497 at 25).
    """
    wanted = 8 * math.ceil((duration_s * fps - 1) / 8) + 1
    cap = 8 * math.floor((MAX_SECONDS * fps - 1) / 8) + 1
    return min(wanted, cap)


@dataclass(frozen=True)
class RenderSize:
    """What the graph renders: pixels (multiples of 64), frames (8k+1) and frames per second."""

    width: int
    height: int
    frames: int
    fps: int

    @property
    def duration_s(self) -> float:
        """Length of the video in seconds (frames / fps)."""
        return self.frames / self.fps


class JobInput(BaseModel):
    """One job's ``input`` (SPEC.md, version 1, plus the optional fields it suggests).

    Unknown fields are rejected. `camera_lora` accepts "dolly-in" spellings and is stored as
    "dolly_in". `image_urls` holds one http(s) URL, data: URI or bare base64 string.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    model: Model
    prompt: Annotated[str, Field(min_length=3, max_length=2000)]
    quality: Literal["fast", "pro"] = "fast"
    resolution: Literal["720p", "1080p"] = "720p"
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"
    duration: Annotated[int, Field(ge=2, le=20, strict=True)] = 10
    fps: Literal[24, 25] = 24
    camera_lora: str | None = None
    camera_strength: Annotated[float, Field(ge=0.0, le=2.0)] = 1.0
    seed: Annotated[int, Field(ge=0, le=2**32 - 1, strict=True)] | None = None
    image_urls: Annotated[list[str], Field(min_length=1, max_length=1)] | None = None
    image_strength: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    negative_prompt: Annotated[str, Field(max_length=2000)] = DEFAULT_NEGATIVE_PROMPT
    audio: bool = True
    external_id: Annotated[str, Field(max_length=256)] | None = None
    webhook_url: Annotated[str, Field(max_length=2048, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://")] | None = None
    return_base64: bool = False
    deadline_s: Annotated[float, Field(gt=0, le=24 * 3600)] | None = None

    @field_validator("prompt", "negative_prompt")
    @classmethod
    def _no_control_chars(cls, value: str) -> str:
        if _CONTROL_CHARS.search(value):
            raise ValueError("control characters other than newline and tab are not allowed")
        return value

    @field_validator("camera_lora")
    @classmethod
    def _camera_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip().lower().replace("-", "_")
        if name in ("", "none"):
            return None
        if name not in CAMERA_LORAS:
            raise ValueError(f"unknown camera move {value!r}; one of {', '.join(CAMERA_LORAS)}")
        return name

    @field_validator("image_urls")
    @classmethod
    def _image_url_shape(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        url = value[0].strip()
        if not url:
            raise ValueError("the image URL is empty")
        low = url[:16].lower()
        if "://" in url[:16] and not low.startswith(("http://", "https://")):
            raise ValueError("only http(s) URLs, data: URIs or base64 strings are accepted")
        return [url]

    @model_validator(mode="after")
    def _image_matches_model(self) -> JobInput:
        if self.is_i2v and not self.image_urls:
            raise ValueError(f"image_urls: {self.model} needs one start image")
        if not self.is_i2v and self.image_urls:
            raise ValueError(f"image_urls: {self.model} is text-to-video and takes no image")
        return self

    @property
    def is_i2v(self) -> bool:
        """Whether the job is image-to-video (needs a start image)."""
        return self.model.endswith("-i2v")

    @property
    def family(self) -> str:
        """Template family: "ltx2" (LTX-2) or "ltxv" (the legacy LTX-Video 0.9)."""
        return "ltx2" if self.model.startswith("ltx-2") else "ltxv"

    def render(self) -> RenderSize:
        """Width, height (pixels), frames and fps the graph renders for this job."""
        width, height = SIZES[(self.resolution, self.aspect_ratio)]
        return RenderSize(width, height, frames_for(self.duration, self.fps), self.fps)


def _field_errors(err: ValidationError) -> list[str]:
    problems = []
    for item in err.errors(include_url=False):
        loc = ".".join(str(p) for p in item["loc"])
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            msg = "unknown field (not part of the job contract)"
        elif item["type"] == "missing":
            msg = "required field is missing"
        problems.append(f"{loc}: {msg}" if loc else msg)
    return problems


def parse_job_input(raw: object) -> JobInput:
    """Validate a job's ``input`` into a `JobInput`.

    Raises:
        WorkerError: INVALID_INPUT, not retryable, its message listing ``field: problem`` for
            every bad field; ``details["fields"]`` has the same list.
    """
    if not isinstance(raw, dict):
        raise WorkerError(ErrorCode.INVALID_INPUT, "input must be a JSON object")
    try:
        return JobInput.model_validate(raw)
    except ValidationError as err:
        problems = _field_errors(err)
        raise WorkerError(
            ErrorCode.INVALID_INPUT, "; ".join(problems), details={"fields": problems}
        ) from None


def pick_seed(job: JobInput) -> int:
    """The job's seed, or a random one in 0..2**32-1 when it gave none."""
    return job.seed if job.seed is not None else secrets.randbelow(2**32)
