"""Model families: what each ``workflows/<family>/family.json`` declares, and a job checked against it.

A family (LTX-2 19B, LTX-2.3, LTX-2.5, the legacy LTX-Video 0.9) is one folder under
``workflows/``: its API-format templates with their bindings, and ``family.json``, which says what
it serves (SPEC.md, "Job input, version 2"; docs/architecture.md gives the format):

* ``models``: model id -> mode (``t2v`` / ``i2v``); ``qualities``: quality -> what it means;
* ``resolutions``: resolution -> aspect ratio -> ``[width, height]`` (multiples of 64 for the
  two-stage graphs: stage 1 runs at half size and EmptyLTXVLatentVideo floors to 32 px);
* ``fps`` choices, ``duration_s`` {min, max}, ``max_seconds`` (the frame-count cap), ``limits``
  (e.g. 4K only up to 10 s), ``defaults`` (negative prompt, image strength; ``quality_defaults``
  overrides them per quality), ``features``
  (camera_lora, enhance_prompt, audio, loras: the job's own LoRAs, transition: the style-transition
  LoRA on first+last-frame jobs) and the models.txt ``profiles`` per quality/feature.

`FamilyRegistry.plan` turns a validated `JobInput` into a `RenderPlan` (family, mode, size,
frames, fps, defaults applied) or raises INVALID_INPUT naming the field and the limit. Nothing
in the worker names a family in code: the handler, the CLI, the model check and the tiny weights
read these declarations.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .edit_plan import edit_size_cap
from .errors import invalid_field
from .keyframes import Guide, resolve_guides

if TYPE_CHECKING:
    from .contract.job import JobInput

Mode = Literal["t2v", "i2v", "edit"]
FEATURES = ("camera_lora", "enhance_prompt", "audio", "loras", "transition")
#: Job variants beyond plain t2v/i2v (SPEC.md, "Job input", versions 2 and 3), each with the
#: job field that asks for it.
VARIANTS = {
    "keyframes": "keyframes",
    "audio": "audio_url",
    "control-canny": "control",
    "control-depth": "control",
    "control-pose": "control",
    "id-lora": "reference_audio_url",
    "edit": "video_url",
}


class Variant(BaseModel):
    """A job variant a family serves (family.json ``variants``): which models and qualities
    have a template for it and the models.txt profiles it adds, or why it is refused."""

    model_config = ConfigDict(extra="forbid")
    models: list[str] = []
    qualities: list[str] = []
    model_qualities: dict[str, list[str]] = Field(
        {}, description="a model's qualities where they differ from `qualities` (LTX-2.3 audio: pro on t2v only)")
    profiles: list[str] = []
    max_keyframes: int = Field(8, ge=1, le=64)
    defaults: dict[Literal["negative_prompt", "image_strength"], str | float] = Field(
        {}, description="overrides of the family's defaults for this variant (its official template's)")
    refused: str | None = Field(None, description="why the family does not serve it, for the error")
    about: str = ""

    def qualities_for(self, model: str) -> list[str]:
        """The qualities `model` has this variant in."""
        return self.model_qualities.get(model, self.qualities)


class Limit(BaseModel):
    """A duration cap for some resolutions or frame rates (the official LTX limits)."""

    model_config = ConfigDict(extra="forbid")
    resolutions: list[str] = []
    fps: list[int] = []
    max_duration_s: int
    reason: str


class Family(BaseModel):
    """One ``family.json`` (see the module docstring); `folder` is where it was read from."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    released: str = Field(description="YYYY-MM; the newest family the ComfyUI runs is the demo's")
    notes: str = ""
    models: dict[str, Mode]
    qualities: dict[str, str]
    resolutions: dict[str, dict[str, tuple[int, int]]]
    fps: list[int]
    duration_s: dict[Literal["min", "max"], int]
    max_seconds: float
    limits: list[Limit] = []
    defaults: dict[Literal["negative_prompt", "image_strength"], str | float]
    quality_defaults: dict[str, dict[Literal["negative_prompt", "image_strength"], str | float]] = {}
    features: dict[str, bool]
    profiles: dict[str, list[str]]
    variants: dict[str, Variant] = {}
    folder: Path | None = None

    @field_validator("variants")
    @classmethod
    def _known_variants(cls, value: dict[str, Variant]) -> dict[str, Variant]:
        unknown = set(value) - set(VARIANTS)
        if unknown:
            raise ValueError(f"unknown variants {sorted(unknown)}; one of {', '.join(VARIANTS)}")
        return value

    def variant(self, name: str) -> Variant | None:
        """The family's declaration of variant `name` when it serves it (None when it has none
        or refuses it)."""
        found = self.variants.get(name)
        return found if found is not None and found.refused is None else None

    def has(self, feature: str) -> bool:
        """Whether the family offers `feature` (one of `FEATURES`)."""
        return bool(self.features.get(feature, False))

    def frames_for(self, duration_s: int, fps: int) -> int:
        """Frame count: the smallest 8k+1 >= duration*fps, capped at the largest 8k+1 that fits
        `max_seconds` (LTX's time encoding tops out near 20 s: 481 frames at 24 fps; SPEC.md)."""
        wanted = 8 * math.ceil((duration_s * fps - 1) / 8) + 1
        cap = 8 * math.floor((self.max_seconds * fps - 1) / 8) + 1
        return min(wanted, cap)

    def frames_for_seconds(self, seconds: float, fps: int) -> int:
        """Frame count for a length that follows an input (audio, control video): the smallest
        8k+1 >= seconds*fps, at least the family's shortest duration, capped as `frames_for`."""
        wanted = 8 * math.ceil((max(seconds, self.duration_s["min"]) * fps - 1) / 8) + 1
        cap = 8 * math.floor((self.max_seconds * fps - 1) / 8) + 1
        return min(wanted, cap)

    def defaults_for(self, quality: str, variant: str | None = None) -> dict[str, str | float]:
        """The defaults (negative prompt, image strength) of a job of `quality` and `variant`:
        the family's, then the quality's (``quality_defaults``), then the variant's (its
        official template's), the later winning. A template binding one of them must carry the
        same value in its graph (tests/test_families.py), so the result reports what ran."""
        declared = self.variants.get(variant) if variant else None
        return {**self.defaults, **self.quality_defaults.get(quality, {}),
                **(declared.defaults if declared else {})}

    def profiles_for(self, quality: str, features: set[str] = frozenset(), variant: str | None = None) -> list[str]:
        """models.txt profiles a job of `quality` using `features` (and `variant`) needs."""
        names = list(self.profiles.get(quality, []))
        for feature in sorted(features):
            names += [p for p in self.profiles.get(feature, []) if p not in names]
        if variant and variant in self.variants:
            names += [p for p in self.variants[variant].profiles if p not in names]
        return names


@dataclass(frozen=True)
class RenderPlan:
    """What a job renders, after its family's rules and defaults (pixels, frames, fps).

    `variant` is the job's mode beyond t2v/i2v (`VARIANTS`) or None; `guides` are the images of
    a keyframes job in frame order (the start image first on i2v); `follows_input` says the job
    left ``duration`` out and its length follows its audio or control video
    (`with_input_seconds` sets it once the input is probed).
    """

    family: Family
    mode: Mode
    width: int
    height: int
    frames: int
    fps: int
    negative_prompt: str
    image_strength: float
    variant: str | None = None
    guides: tuple[Guide, ...] = ()
    follows_input: bool = False

    def with_input_seconds(self, seconds: float) -> RenderPlan:
        """This plan with the frame count for an input of `seconds` (`Family.frames_for_seconds`)
        when the job follows its input; unchanged otherwise."""
        if not self.follows_input:
            return self
        return replace(self, frames=self.family.frames_for_seconds(seconds, self.fps))

    @property
    def duration_s(self) -> float:
        """Length of the video in seconds (frames / fps)."""
        return self.frames / self.fps


def _names(values) -> str:
    return ", ".join(str(v) for v in values)


class FamilyRegistry:
    """Every family of a workflows folder, looked up by model id."""

    def __init__(self, families: list[Family]) -> None:
        self.families = sorted(families, key=lambda f: f.released)
        self._by_model: dict[str, Family] = {}
        for family in self.families:
            for model in family.models:
                if model in self._by_model:
                    raise ValueError(f"model {model} is declared by {self._by_model[model].id} and {family.id}")
                self._by_model[model] = family

    @classmethod
    def load(cls, workflows_dir: Path) -> FamilyRegistry:
        """Read every ``<workflows_dir>/<family>/family.json``.

        Raises:
            ValueError: a file is not valid JSON or does not match `Family` (names the file).
        """
        families = []
        for path in sorted(Path(workflows_dir).glob("*/family.json")):
            try:
                family = Family.model_validate({**json.loads(path.read_text()), "folder": path.parent})
            except (OSError, json.JSONDecodeError, ValidationError) as err:
                raise ValueError(f"{path}: {err}") from None
            if family.id != path.parent.name:
                raise ValueError(f"{path}: id {family.id!r} differs from its folder name")
            families.append(family)
        return cls(families)

    @property
    def model_ids(self) -> list[str]:
        """Every model id, oldest family first."""
        return [m for f in self.families for m in f.models]

    def get(self, family_id: str) -> Family:
        """The family with id `family_id`.

        Raises:
            KeyError: no such family.
        """
        for family in self.families:
            if family.id == family_id:
                return family
        raise KeyError(family_id)

    def family_of(self, model: str) -> Family:
        """The family serving `model`.

        Raises:
            WorkerError: INVALID_INPUT naming the model ids there are.
        """
        try:
            return self._by_model[model]
        except KeyError:
            raise invalid_field("model", f"unknown model {model!r}; one of {_names(self.model_ids)}") from None

    def with_feature(self, feature: str) -> list[Family]:
        """The families offering `feature`."""
        return [f for f in self.families if f.has(feature)]

    def plan(self, job: JobInput) -> RenderPlan:
        """Check `job` against its family and compute what it renders.

        Raises:
            WorkerError: INVALID_INPUT, naming the field and the family's rule: unknown model, a
                quality/resolution/aspect ratio/fps/duration the family lacks or limits, a feature
                (camera_lora, enhance_prompt) or variant (keyframes, audio_url, control) it does
                not have, an image on t2v or none on i2v, keyframes out of range or on the same
                frame.
        """
        family = self.family_of(job.model)
        mode = family.models[job.model]
        if job.quality not in family.qualities:
            raise invalid_field("quality", f"{family.name} has no {job.quality!r} quality; it has "
                                     f"{_names(family.qualities)}")
        cap = edit_size_cap(job, family, mode)
        if cap is not None:  # an edit: size, frames and fps follow the source (edit_job.EditInputs.plan)
            if job.loras and not family.has("loras"):
                raise invalid_field("loras", f"{family.name} has no loras")
            declared = family.variant("edit")
            qualities = declared.qualities_for(job.model) if declared and job.model in declared.models else []
            if job.quality not in qualities:
                qualities = _names(qualities) or "none"
                raise invalid_field("quality", f"{job.model} edits at quality {qualities}, not {job.quality!r}")
            defaults = family.defaults_for(job.quality, "edit")
            return RenderPlan(family=family, mode=mode, width=cap[0], height=cap[1], frames=0, fps=24,
                              negative_prompt=job.negative_prompt if job.negative_prompt is not None
                              else str(defaults["negative_prompt"]), image_strength=0.0, variant="edit")
        sizes = family.resolutions.get(job.resolution)
        if sizes is None:
            raise invalid_field("resolution", f"{family.name} does not render {job.resolution}; it renders "
                                        f"{_names(family.resolutions)}")
        if job.aspect_ratio not in sizes:
            raise invalid_field("aspect_ratio", f"{family.name} has no {job.aspect_ratio} at {job.resolution}; "
                                          f"one of {_names(sizes)}")
        if job.fps not in family.fps:
            raise invalid_field("fps", f"{family.name} renders at {_names(family.fps)} fps, not {job.fps}")
        variant = self._variant(job, family, mode)
        # an image+audio or control job without a duration lasts as long as its audio or video
        follows_input = (job.duration is None and variant is not None
                         and VARIANTS[variant] in ("audio_url", "control"))
        duration = job.duration if job.duration is not None else DEFAULT_DURATION_S
        low, high = family.duration_s["min"], family.duration_s["max"]
        if not low <= duration <= high:
            raise invalid_field("duration", f"{family.name} makes {low}..{high} s, not {duration} s")
        for limit in family.limits:
            hit = job.resolution in limit.resolutions or job.fps in limit.fps
            if hit and duration > limit.max_duration_s:
                what = job.resolution if job.resolution in limit.resolutions else f"{job.fps} fps"
                raise invalid_field("duration", f"{duration} s at {what} is over {family.name}'s limit of "
                                          f"{limit.max_duration_s} s ({limit.reason})")
        for feature, asked in (("camera_lora", job.camera_lora), ("enhance_prompt", job.enhance_prompt),
                              ("loras", job.loras), ("transition", job.transition)):
            if asked and not family.has(feature):
                others = self.with_feature(feature)
                where = (f"only {_names(f.name for f in others)} "
                         f"({_names(m for f in others for m in f.models)})") if others else "no family"
                raise invalid_field(feature, f"{family.name} has no {feature.replace('_', ' ')}; {where} has it")
        if job.transition and (variant != "keyframes" or job.keyframes or not job.last_image_url):
            raise invalid_field("transition", "a transition goes from the start image to last_image_url (a "
                                "first+last-frame job, no keyframes), as the official style-transition template")
        if mode == "i2v" and not job.image_urls:
            raise invalid_field("image_urls", f"{job.model} needs one start image")
        if mode != "i2v" and job.image_urls:
            raise invalid_field("image_urls", f"{job.model} is text-to-video and takes no image")
        width, height = sizes[job.aspect_ratio]
        defaults = family.defaults_for(job.quality, variant)
        frames = family.frames_for(duration, job.fps)
        image_strength = (job.image_strength if job.image_strength is not None
                          else float(defaults["image_strength"]))
        guides = resolve_guides(job, frames, image_strength) if variant == "keyframes" else ()
        if guides and len(guides) - (mode == "i2v") > family.variants["keyframes"].max_keyframes:
            raise invalid_field("keyframes", f"{family.name} takes at most "
                                       f"{family.variants['keyframes'].max_keyframes} keyframes")
        return RenderPlan(
            family=family, mode=mode, width=width, height=height,
            frames=frames, fps=job.fps,
            negative_prompt=job.negative_prompt if job.negative_prompt is not None
            else str(defaults["negative_prompt"]),
            image_strength=image_strength, variant=variant, guides=guides, follows_input=follows_input,
        )

    def _variant(self, job: JobInput, family: Family, mode: str) -> str | None:
        """The variant `job` asks for, checked against `family` (see `plan`)."""
        asked = []
        if job.keyframes or job.last_image_url:
            asked.append(("keyframes", "keyframes" if job.keyframes else "last_image_url"))
        if job.audio_url:
            asked.append(("audio", "audio_url"))
        if job.control_video_url or job.control:
            if not (job.control_video_url and job.control):
                missing = "control" if job.control_video_url else "control_video_url"
                raise invalid_field(missing, "control_video_url and control go together")
            asked.append((f"control-{job.control}", "control"))
        if job.reference_audio_url:
            asked.append(("id-lora", "reference_audio_url"))
        if not asked:
            return None
        if len(asked) > 1:
            raise invalid_field(asked[1][1], f"a job takes one of keyframes/last_image_url, audio_url, "
                                       f"control_video_url or reference_audio_url, not {asked[0][1]} and "
                                       f"{asked[1][1]} together")
        name, field = asked[0]
        if job.last_image_url and mode != "i2v":
            raise invalid_field("last_image_url", f"{job.model} is text-to-video; the last frame goes with an "
                                            f"i2v model's start image (use keyframes for t2v)")
        declared = family.variants.get(name)
        if declared is not None and declared.refused:
            raise invalid_field(field, f"{family.name} cannot serve {name}: {declared.refused}")
        if declared is None or job.model not in declared.models:
            others = [(f, m) for f in self.families for m in (f.variant(name).models if f.variant(name) else [])]
            where = f"models that have it: {_names(m for _, m in others)}" if others else "no model has it"
            raise invalid_field(field, f"{job.model} has no {name} template; {where}")
        if job.quality not in declared.qualities_for(job.model):
            raise invalid_field("quality", f"{name} on {job.model} is made at quality "
                                     f"{_names(declared.qualities_for(job.model))}, not {job.quality!r}")
        return name


#: Length of a job that leaves ``duration`` out and has no input to follow (SPEC.md: default 10 s).
DEFAULT_DURATION_S = 10
