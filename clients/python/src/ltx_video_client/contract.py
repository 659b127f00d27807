"""The worker's job contract as pydantic models: the input a backend sends, the output it gets back.

The source is the worker (``ltx_worker/contract/job.py`` and ``output.py``; SPEC.md "Job input"
versions 1-3 as far as the worker serves them, and "Job output"): these models have the same
fields, types, ranges, strictness, validators and field descriptions, without the worker-only
parts (the family plan a job gets once checked, ``replan``, ...). ``tests/test_client_contract.py``
in the worker's repository fails when the two drift: the JSON Schemas must be equal (model
docstrings aside) and a set of good and bad jobs must get the same verdict and the same field
names from both.

Types are JSON's, strictly: a boolean is ``true``/``false`` (not ``"yes"`` or ``1``), a number
a JSON number (an integer is taken where a number is asked, never ``"1.5"``), an integer a JSON
integer. `parse_job` refuses a job with the worker's own message, ``field: problem; ...``.
Which model takes which quality, size, fps or mode is the family's rule: `rules.check_job`.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ErrorCode, InvalidInputError
from .outputs import Cost, ErrorOutput, JobOutput, LoraUsed, Progress, Settings, Timings, VideoFacts, WebhookReport

#: Camera moves of the LTX-2 camera-control LoRAs (the worker's ``CAMERA_LORAS`` keys).
CAMERA_MOVES = ("static", "dolly_in", "dolly_out", "dolly_left", "dolly_right", "jib_up", "jib_down")
#: A named LoRA's name (the worker's ``models.manifest.LORA_NAME``).
LORA_NAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


def _check_source(value: str, what: str) -> str:
    """A URL field's value: an http(s) URL, a data: URI or a bare base64 string."""
    url = value.strip()
    if not url:
        raise ValueError(f"the {what} URL is empty")
    if "://" in url[:16] and not url[:16].lower().startswith(("http://", "https://")):
        raise ValueError("only http(s) URLs, data: URIs or base64 strings are accepted")
    return url


class Keyframe(BaseModel):
    """An image the video passes through: exactly one of `at_s` (seconds) or `frame` (index; -1 = last)."""

    model_config = _STRICT
    image_url: Annotated[str, Field(max_length=16_000_000, description="http(s) URL, data: URI or base64")]
    at_s: Annotated[float, Field(ge=0.0, le=60.0, description="seconds from the start")] | None = None
    frame: Annotated[int, Field(ge=-10_000, le=10_000, description=(
        "pixel frame index; negative counts from the end (-1 = last)"))] | None = None
    strength: Annotated[float, Field(ge=0.0, le=1.0, description="guide strength")] = 0.7

    @field_validator("image_url")
    @classmethod
    def _source(cls, value: str) -> str:
        return _check_source(value, "image")

    @model_validator(mode="after")
    def _one_position(self) -> Keyframe:
        if (self.at_s is None) == (self.frame is None):
            raise ValueError("give exactly one of at_s or frame")
        return self


class LoraEntry(BaseModel):
    """One of the job's own LoRAs: exactly one of `url` or `name`, at `strength`; `sha256` goes with `url`."""

    model_config = _STRICT
    url: Annotated[str, Field(max_length=4096, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://", description=(
        "http(s) or presigned URL of a .safetensors LoRA"))] | None = None
    name: Annotated[str, Field(max_length=64, description=(
        "a LoRA this worker holds (ltx-worker loras list)"))] | None = None
    strength: Annotated[float, Field(ge=-2.0, le=2.0, description="LoraLoaderModelOnly strength_model")] = 1.0
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description=(
        "the file's SHA-256 (lowercase hex); a cached file with it is used without a request"))] | None = None

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is not None and (not re.fullmatch(LORA_NAME, value) or ".." in value
                                  or value.endswith(".safetensors")):
            raise ValueError("a LoRA name is a plain name from `ltx-worker loras list` (lowercase letters, "
                             "digits, . _ -), not a path or a file name")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> LoraEntry:
        if (self.url is None) == (self.name is None):
            raise ValueError("give exactly one of url or name")
        if self.sha256 is not None and self.url is None:
            raise ValueError("sha256 goes with url (a named LoRA is the worker's own file)")
        return self


class Retake(BaseModel):
    """An edit that regenerates [start_s, start_s + duration_s) seconds of the source (clamped to its end; at
    least 2 s must be left); `replace` says which of picture and sound is made anew (default: both on a source
    with sound, the picture on a silent one)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    start_s: Annotated[float, Field(ge=0.0, le=3600.0, description="where the section starts, seconds")]
    duration_s: Annotated[float, Field(ge=2.0, le=3600.0, description="how long the section lasts, seconds")]
    replace: Literal["audio_and_video", "video", "audio"] | None = Field(None, description=(
        "what is regenerated; default audio_and_video on a source with sound, video on a silent one"))


class Extend(BaseModel):
    """An edit that adds `duration_s` new seconds after (``at: end``) or before (``at: start``) the source,
    made from its last or first `context_s` seconds (default: as much as fits the family's frame cap)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    duration_s: Annotated[float, Field(ge=2.0, le=20.0, description="new seconds")]
    at: Literal["end", "start"] = "end"
    context_s: Annotated[float, Field(ge=1.0, le=20.0, description=(
        "seconds of the source the new part continues from; default as much as fits"))] | None = None


class JobInput(BaseModel):
    """One job's ``input`` (README "Job input"); unknown fields are refused; `rules.check_job` adds the
    per-model rules (qualities, sizes, fps, durations, modes, the edit fields)."""

    model_config = _STRICT

    model: str = Field(description="model id: <family>-<mode>, e.g. ltx-2-i2v, ltx-2.3-t2v, ltx-2.5-i2v "
                                   "(`ltx-worker schema` lists those of this worker)")
    prompt: Annotated[str, Field(min_length=3, max_length=2000)]
    quality: Annotated[str, Field(max_length=32, description="fast or pro, where the family has it")] = "fast"
    resolution: Literal["720p", "1080p", "1440p", "2160p"] = Field("720p", description=(
        "an edit's cap on the output size (default there: the family's largest)"))
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"
    duration: Annotated[int, Field(ge=2, le=20, description=(
        "seconds; default 10, or the length of the audio / control video when the job has one"))] | None = None
    fps: Literal[24, 25, 48, 50] = 24
    camera_lora: str | None = None
    camera_strength: Annotated[float, Field(ge=0.0, le=2.0)] = 1.0
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    image_urls: Annotated[list[str], Field(min_length=1, max_length=1)] | None = None
    image_strength: Annotated[float | None, Field(ge=0.0, le=1.0, description=(
        "stage-1 image conditioning strength; default: the family's official value"))] = None
    negative_prompt: Annotated[str | None, Field(max_length=2000, description=(
        "default: the family's official negative prompt"))] = None
    last_image_url: Annotated[str, Field(max_length=16_000_000, description=(
        "i2v: the video ends on this image (first+last frame)"))] | None = None
    keyframes: Annotated[list[Keyframe], Field(min_length=1, max_length=64, description=(
        "images the video passes through (LTXVAddGuide)"))] | None = None
    audio_url: Annotated[str, Field(max_length=16_000_000, description=(
        "image+audio to video: the video is made to this sound track (kept as the MP4's audio)"))] | None = None
    audio_start_s: Annotated[float, Field(ge=0.0, le=3600.0, description=(
        "where in the audio the video starts, seconds"))] = 0.0
    reference_audio_url: Annotated[str, Field(max_length=16_000_000, description=(
        "ID-LoRA (LTX-2.3 i2v): a voice clip of the person (about 5 s) whose voice the video takes"))] | None = None
    control_video_url: Annotated[str, Field(max_length=16_000_000, description=(
        "video-to-video: the motion/structure to follow (IC-LoRA control)"))] | None = None
    control: Literal["canny", "depth", "pose"] | None = Field(None, description=(
        "how the control video guides the video; with control_video_url"))
    loras: Annotated[list[LoraEntry], Field(max_length=4, description=(
        "the job's own LoRAs, applied after the family's (distilled, camera) on every stage's model"))] | None = None
    transition: bool = Field(False, description=(
        "first+last-frame job (LTX-2.3 i2v with last_image_url): the official style-transition template's "
        "LoRA (ltx23-transition at 1.0, its trigger word) morphs the start image into the last"))
    video_url: Annotated[str, Field(max_length=16_000_000, description=(
        "edit models (ltx-2.3-edit): the source video to edit, http(s) URL, data: URI or base64"))] | None = None
    retake: Retake | None = Field(None, description="edit: regenerate a section of the source")
    extend: Extend | None = Field(None, description="edit: add seconds after or before the source")
    audio: bool = True
    enhance_prompt: bool = Field(False, description="the family's official prompt enhancer rewrites the prompt")
    external_id: Annotated[str, Field(max_length=256)] | None = None
    webhook_url: Annotated[str, Field(max_length=2048, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://")] | None = None
    return_base64: bool = False
    deadline_s: Annotated[float, Field(gt=0, le=24 * 3600)] | None = None

    @field_validator("prompt", "negative_prompt")
    @classmethod
    def _no_control_chars(cls, value: str | None) -> str | None:
        if value is not None and _CONTROL_CHARS.search(value):
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
        if name not in CAMERA_MOVES:
            raise ValueError(f"unknown camera move {value!r}; one of {', '.join(CAMERA_MOVES)}")
        return name

    @field_validator("image_urls")
    @classmethod
    def _image_url_shape(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        return [_check_source(value[0], "image")]

    @field_validator("last_image_url", "audio_url", "control_video_url", "reference_audio_url", "video_url")
    @classmethod
    def _source_shape(cls, value: str | None) -> str | None:
        return None if value is None else _check_source(value, "file")

    def to_input(self) -> dict[str, Any]:
        """The job as RunPod's ``input``: JSON types, only the fields that were set."""
        return self.model_dump(mode="json", exclude_unset=True)


#: What a strict type error says (pydantic's error type -> the JSON type the field takes), as the worker.
_JSON_TYPES = {
    "bool_type": "must be JSON true or false",
    "float_type": "must be a JSON number",
    "int_type": "must be a JSON integer",
    "string_type": "must be a JSON string",
    "list_type": "must be a JSON array",
    "model_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
}


def _shown(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def field_errors(err: ValidationError) -> list[str]:
    """``field: problem`` for every error of `err`, worded as the worker's ``parse_job_input``."""
    problems = []
    for item in err.errors(include_url=False):
        loc = ".".join(str(p) for p in item["loc"])
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            msg = "unknown field (not part of the job contract)"
        elif item["type"] == "missing":
            msg = "required field is missing"
        elif item["type"] in _JSON_TYPES:
            msg = f"{_JSON_TYPES[item['type']]}, not {_shown(item['input'])}"
        problems.append(f"{loc}: {msg}" if loc else msg)
    return problems


def parse_job(raw: object) -> JobInput:
    """Validate a job's ``input`` dict (or a `JobInput`) field by field, as the worker does first.

    Raises:
        InvalidInputError: the worker's INVALID_INPUT message (``field: problem; ...``), with
            ``details["fields"]`` listing each problem. The family rules are `rules.check_job`'s.
    """
    if isinstance(raw, JobInput):
        return raw
    if not isinstance(raw, dict):
        raise InvalidInputError("input must be a JSON object")
    try:
        return JobInput.model_validate(raw)
    except ValidationError as err:
        problems = field_errors(err)
        raise InvalidInputError("; ".join(problems), details={"fields": problems}) from None


__all__ = [
    "CAMERA_MOVES", "LORA_NAME", "Cost", "ErrorCode", "ErrorOutput", "Extend", "JobInput", "JobOutput", "Keyframe",
    "LoraEntry", "LoraUsed", "Progress", "Retake", "Settings", "Timings", "VideoFacts", "WebhookReport",
    "field_errors", "parse_job",
]
