"""The studio's job input contract (SPEC.md, "Job input", versions 1 to 3).

`parse_job_input` turns the RunPod job's ``input`` dict into a `JobInput` or raises a
`WorkerError(INVALID_INPUT)` whose message names every bad field, then checks it against its
model's family (`families.FamilyRegistry.plan`). `JobInput.plan` gives the numbers the templates
need (`families.RenderPlan`): output width/height (multiples of 64, because stage 1 of the
two-stage pipelines runs at half size and EmptyLTXVLatentVideo floors to 32), frame count (8k+1),
fps and the family's defaults.
"""

from __future__ import annotations

import json
import re
import secrets
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..errors import ErrorCode, WorkerError
from ..families import FamilyRegistry, RenderPlan
from ..models.manifest import LORA_NAME

#: Camera moves of the LTX-2 camera-control LoRAs (FACTS.md), by the contract's names.
CAMERA_LORAS: dict[str, str] = {
    name: f"ltx-2-19b-lora-camera-control-{name.replace('_', '-')}.safetensors"
    for name in ("static", "dolly_in", "dolly_out", "dolly_left", "dolly_right", "jib_up", "jib_down")
}

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@lru_cache(maxsize=1)
def default_families() -> FamilyRegistry:
    """The families of the repository's workflows/ folder (read once)."""
    from ..paths import WORKFLOWS_DIR

    return FamilyRegistry.load(WORKFLOWS_DIR)


def frames_for(duration_s: int, fps: int, model: str = "ltx-2-t2v") -> int:
    """Frame count of `model`'s family for a duration (`families.Family.frames_for`): the
    smallest 8k+1 >= duration*fps, capped (481 at 24 fps, 497 at 25 for LTX-2; SPEC.md)."""
    return default_families().family_of(model).frames_for(duration_s, fps)


def _check_source(value: str, what: str) -> str:
    """A URL field's value: an http(s) URL, a data: URI or a bare base64 string (SPEC.md)."""
    url = value.strip()
    if not url:
        raise ValueError(f"the {what} URL is empty")
    if "://" in url[:16] and not url[:16].lower().startswith(("http://", "https://")):
        raise ValueError("only http(s) URLs, data: URIs or base64 strings are accepted")
    return url


class Keyframe(BaseModel):
    """One image the video passes through (LTXVAddGuide): where, and how strongly.

    Exactly one of `at_s` (seconds from the start, rounded to the nearest frame) or `frame`
    (pixel frame index; negative counts from the end, -1 = the last frame, as the official
    first+last frame templates address it). The family checks it against the frame count.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)
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
    """One LoRA the job brings (issue 20; docs/loras.md): exactly one of `url` (fetched into the
    worker's LoRA cache, checked before ComfyUI sees it) or `name` (a LoRA the worker holds,
    ``ltx-worker loras list``), applied at `strength` on the model of every stage.

    `sha256` (with `url`) is the file's content hash: a cached file with it is used without any
    request, and a download with another hash is refused.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)
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
    """An edit that regenerates a section of the source (issue 19; ltx-pipelines 1.0.0
    ``ltx_pipelines/retake.py`` RetakePipeline): [start_s, start_s + duration_s) seconds of the
    source, clamped to its end (at least 2 s must be left), `replace` saying which of picture and
    sound is made anew (default: both on a source with sound, the picture on a silent one)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    start_s: Annotated[float, Field(ge=0.0, le=3600.0, description="where the section starts, seconds")]
    duration_s: Annotated[float, Field(ge=2.0, le=3600.0, description="how long the section lasts, seconds")]
    replace: Literal["audio_and_video", "video", "audio"] | None = Field(None, description=(
        "what is regenerated; default audio_and_video on a source with sound, video on a silent one"))


class Extend(BaseModel):
    """An edit that adds `duration_s` new seconds after (``at: end``) or before (``at: start``)
    the source, made from its last or first `context_s` seconds (default: as much as fits the
    family's frame cap); the new part has sound when the source has."""

    model_config = ConfigDict(extra="forbid", strict=True)
    duration_s: Annotated[float, Field(ge=2.0, le=20.0, description="new seconds")]
    at: Literal["end", "start"] = "end"
    context_s: Annotated[float, Field(ge=1.0, le=20.0, description=(
        "seconds of the source the new part continues from; default as much as fits"))] | None = None


class JobInput(BaseModel):
    """One job's ``input`` (SPEC.md, versions 1 to 3, plus the optional fields it suggests).

    An edit job (``ltx-2.3-edit``: `video_url` with `retake` or `extend`) is checked by
    `edit_plan.edit_size_cap` once the fields are valid: the generation fields are refused there.

    Unknown fields are rejected. `camera_lora` accepts "dolly-in" spellings and is stored as
    "dolly_in". `image_urls` holds one http(s) URL, data: URI or bare base64 string. Which
    models, qualities, resolutions, fps and durations a job may combine is each family's rule
    (``workflows/<family>/family.json``, checked by `families.FamilyRegistry.plan`); the fields
    here list every value any family takes. `plan` holds the checked `RenderPlan` once
    `parse_job_input` has run.

    Types are JSON's, strictly (one rule for every field): a boolean is JSON ``true`` or
    ``false``, a number a JSON number (an integer is taken where a number is asked, never the
    other way), a string a JSON string; ``"yes"``, ``1`` for a boolean and ``"1.5"`` for a number
    are refused naming the field, so a typo never becomes a different, billed video.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

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
    _plan: RenderPlan | None = PrivateAttr(default=None)

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
        if name not in CAMERA_LORAS:
            raise ValueError(f"unknown camera move {value!r}; one of {', '.join(CAMERA_LORAS)}")
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

    @property
    def plan(self) -> RenderPlan:
        """The job checked against its family (`parse_job_input` sets it).

        Raises:
            RuntimeError: the job was built without `parse_job_input`.
        """
        if self._plan is None:
            raise RuntimeError("JobInput.plan is set by parse_job_input")
        return self._plan

    @property
    def family(self) -> str:
        """The id of the job's model family (``ltx2``, ``ltx23``, ``ltx25``, ``ltxv``)."""
        return self.plan.family.id

    @property
    def variant(self) -> str | None:
        """The job's variant beyond t2v/i2v (``keyframes``, ``audio``, ``control-canny``, ...),
        or None (`families.VARIANTS`)."""
        return self.plan.variant

    @property
    def is_i2v(self) -> bool:
        """Whether the job is image-to-video (needs a start image)."""
        return self.plan.mode == "i2v"

    def replan(self, plan: RenderPlan) -> None:
        """Replace the plan once the job's inputs fix its length (`job_inputs.fetch_inputs`)."""
        self._plan = plan

    def render(self) -> RenderPlan:
        """Width, height (pixels), frames and fps the graph renders for this job (`plan`)."""
        return self.plan


#: What a strict type error says (pydantic's error type -> the JSON type the field takes).
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
    """A short JSON rendering of a refused value for the message (at most 40 characters)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _field_errors(err: ValidationError) -> list[str]:
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


def parse_job_input(raw: object, families: FamilyRegistry | None = None) -> JobInput:
    """Validate a job's ``input`` into a `JobInput` and check it against its model's family.

    Args:
        raw: the RunPod job's ``input``.
        families: the worker's families (default: the repository's workflows/, `default_families`).

    Raises:
        WorkerError: INVALID_INPUT, not retryable, its message listing ``field: problem`` for
            every bad field; ``details["fields"]`` has the same list. Family rules
            (`families.FamilyRegistry.plan`) are checked once the fields themselves are valid.
    """
    if not isinstance(raw, dict):
        raise WorkerError(ErrorCode.INVALID_INPUT, "input must be a JSON object")
    try:
        job = JobInput.model_validate(raw)
    except ValidationError as err:
        problems = _field_errors(err)
        raise WorkerError(
            ErrorCode.INVALID_INPUT, "; ".join(problems), details={"fields": problems}
        ) from None
    job._plan = (families or default_families()).plan(job)
    return job


def pick_seed(job: JobInput) -> int:
    """The job's seed, or a random one in 0..2**32-1 when it gave none."""
    return job.seed if job.seed is not None else secrets.randbelow(2**32)
