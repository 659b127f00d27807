"""The per-model rules, checked before a job is sent: the worker's refusal, with its message, locally.

``rules.json`` (package data) is what the worker prints for ``ltx-worker schema --part models``:
per model id its family, mode, qualities, resolutions, fps, duration range, duration limits,
features, variants (served with their qualities, or refused with the reason) and named LoRAs,
generated from ``workflows/*/family.json`` and models.txt. ``tools/generate_rules.py`` in this
distribution regenerates it; a test in the worker's repository fails when the shipped file
differs from what the worker prints.

`check_job` makes the checks of the worker's ``parse_job_input`` (the fields, `contract.parse_job`)
and ``families.FamilyRegistry.plan`` that this data expresses, in the worker's order and with
its messages: unknown model; a quality, resolution, fps or duration the family lacks or limits;
a variant (keyframes/last_image_url, audio_url, control, reference_audio_url) the model lacks
or its family refuses, two variants at once, control without its video; a feature
(camera_lora, enhance_prompt, loras, transition) the family lacks, a transition that is not a
first+last-frame job; an image on t2v or none on i2v. A variant's qualities are the model's own
(the data lists ``Variant.qualities_for(model)``: audio on ``ltx-2.3-t2v`` is fast and pro, on
``ltx-2.3-i2v`` fast only). It also refuses a named LoRA the model's family does not hold, as the
worker does later (``loras.job``).

Edits (``mode: edit`` models such as ``ltx-2.3-edit``; the worker's ``edit_plan.edit_size_cap``
and the edit branch of ``FamilyRegistry.plan``): a generation model refuses ``video_url``,
``retake`` and ``extend``; an edit job refuses every field of `EDIT_REFUSED` it carries (each one
named, in one message), needs ``video_url`` and exactly one of ``retake`` or ``extend``, takes a
``resolution`` (a cap on the output size; default the family's largest, `edit_resolution`) only
among the family's, its own LoRAs only where the family has them, and a quality its family's
``edit`` variant makes. What needs the source (its length, sound, size: a section past the end,
``replace`` on a silent source, an extend over the frame cap) only the worker can check.

It checks keyframe positions against the video's frames and the most keyframes a family takes
too (``max_seconds`` and ``variants.keyframes.max_keyframes`` of the data). Only the worker can
check: an aspect ratio a family lacks at a size (no family lacks one today; the models data does
not list them); anything
about the files themselves (fetching, decoding, sizes, audio and video lengths, LoRA files and
their sha256); whether the endpoint's image holds the model files (MODEL_MISSING); and
``webhook_url``'s host (WEBHOOK_ALLOWED_HOSTS and SSRF rules are the worker's settings).
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .contract import JobInput, parse_job
from .errors import InvalidInputError

#: Length of a job that leaves ``duration`` out and follows no input (the worker's DEFAULT_DURATION_S).
DEFAULT_DURATION_S = 10
#: The features a job may ask for, in the order the worker checks them (``families.FamilyRegistry.plan``).
_FEATURES = ("camera_lora", "enhance_prompt", "loras", "transition")
#: Fields an edit job refuses when present: the source decides size, fps and length, the sound is the
#: source's (the worker's ``edit_plan.EDIT_REFUSED``, in its order).
EDIT_REFUSED = ("fps", "duration", "aspect_ratio", "image_urls", "last_image_url", "keyframes", "audio_url",
                "audio_start_s", "control_video_url", "control", "camera_lora", "camera_strength",
                "image_strength", "reference_audio_url", "transition", "audio")
#: The job fields that ask for an edit (the worker's ``edit_plan.EDIT_FIELDS``).
EDIT_FIELDS = ("video_url", "retake", "extend")
#: The contract's resolutions, smallest first (an edit's default cap is the family's largest).
RESOLUTIONS = ("720p", "1080p", "1440p", "2160p")


def frames_for(duration_s: int, fps: int, max_seconds: float) -> int:
    """The worker's frame count (``families.Family.frames_for``): the smallest 8k+1 >= duration x fps,
    capped at the largest 8k+1 within the family's ``max_seconds``."""
    wanted = 8 * math.ceil((duration_s * fps - 1) / 8) + 1
    return min(wanted, 8 * math.floor((max_seconds * fps - 1) / 8) + 1)


def _names(values) -> str:
    return ", ".join(str(v) for v in values)


def _invalid(field: str, message: str) -> InvalidInputError:
    problem = f"{field}: {message}"
    return InvalidInputError(problem, details={"fields": [problem]}, source="client")


def edit_resolution(job: JobInput, rule: dict[str, Any]) -> str:
    """The resolution that caps an edit's output: the job's when it gives one, else the family's
    largest (the worker's ``edit_plan.edit_size_cap``)."""
    if "resolution" in job.model_fields_set:
        return job.resolution
    return max(rule["resolutions"], key=RESOLUTIONS.index)


class Rules:
    """The models data of one worker version (``ltx-worker schema --part models``).

    Args:
        models: model id -> its rules, in the worker's order (oldest family first).
    """

    def __init__(self, models: dict[str, dict[str, Any]]) -> None:
        self.models = models
        self._families: dict[str, dict[str, Any]] = {}
        for model, rule in models.items():
            family = self._families.setdefault(rule["family"], {"name": rule["family_name"], "models": [],
                                                                "features": set(rule["features"])})
            family["models"].append(model)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Rules:
        """The rules in `path`, or the ``rules.json`` shipped with this package."""
        if path is None:
            return default_rules()
        return cls(json.loads(Path(path).read_text()))

    @property
    def model_ids(self) -> list[str]:
        """Every model id the worker serves, oldest family first."""
        return list(self.models)

    def check(self, job: dict | JobInput) -> JobInput:
        """Validate `job`'s fields (`contract.parse_job`), then its model's rules (module docstring).

        Returns:
            The validated `JobInput`.

        Raises:
            InvalidInputError: ``source == "client"``; the worker's message (``field: problem``).
        """
        job = parse_job(job)
        rule = self.models.get(job.model)
        if rule is None:
            raise _invalid("model", f"unknown model {job.model!r}; one of {_names(self.models)}")
        name = rule["family_name"]
        if job.quality not in rule["qualities"]:
            raise _invalid("quality", f"{name} has no {job.quality!r} quality; it has {_names(rule['qualities'])}")
        if self._edit(job, rule):
            self._named_loras(job, rule)
            return job
        if job.resolution not in rule["resolutions"]:
            raise _invalid("resolution", f"{name} does not render {job.resolution}; it renders "
                                         f"{_names(rule['resolutions'])}")
        if job.fps not in rule["fps"]:
            raise _invalid("fps", f"{name} renders at {_names(rule['fps'])} fps, not {job.fps}")
        variant = self._variant(job, rule)
        duration = job.duration if job.duration is not None else DEFAULT_DURATION_S
        low, high = rule["duration_s"]["min"], rule["duration_s"]["max"]
        if not low <= duration <= high:
            raise _invalid("duration", f"{name} makes {low}..{high} s, not {duration} s")
        for limit in rule["limits"]:
            sizes, rates = limit.get("resolutions", []), limit.get("fps", [])
            if (job.resolution in sizes or job.fps in rates) and duration > limit["max_duration_s"]:
                what = job.resolution if job.resolution in sizes else f"{job.fps} fps"
                raise _invalid("duration", f"{duration} s at {what} is over {name}'s limit of "
                                           f"{limit['max_duration_s']} s ({limit['reason']})")
        for feature, asked in zip(_FEATURES, (job.camera_lora, job.enhance_prompt, job.loras, job.transition),
                                  strict=True):
            if asked and feature not in rule["features"]:
                others = [f for f in self._families.values() if feature in f["features"]]
                where = (f"only {_names(f['name'] for f in others)} "
                         f"({_names(m for f in others for m in f['models'])})") if others else "no family"
                raise _invalid(feature, f"{name} has no {feature.replace('_', ' ')}; {where} has it")
        if job.transition and (variant != "keyframes" or job.keyframes or not job.last_image_url):
            raise _invalid("transition", "a transition goes from the start image to last_image_url (a "
                           "first+last-frame job, no keyframes), as the official style-transition template")
        if rule["mode"] == "i2v" and not job.image_urls:
            raise _invalid("image_urls", f"{job.model} needs one start image")
        if rule["mode"] != "i2v" and job.image_urls:
            raise _invalid("image_urls", f"{job.model} is text-to-video and takes no image")
        if variant == "keyframes":
            self._keyframes(job, rule, frames_for(duration, job.fps, rule["max_seconds"]))
        self._named_loras(job, rule)
        return job

    def _edit(self, job: JobInput, rule: dict[str, Any]) -> bool:
        """Whether `job` is an edit, its fields checked as the worker's ``edit_plan.edit_size_cap`` and
        the edit branch of ``FamilyRegistry.plan`` (module docstring)."""
        name = rule["family_name"]
        if rule["mode"] != "edit":
            for field in EDIT_FIELDS:
                if getattr(job, field) is not None:
                    edits = [m for m, r in self.models.items() if r["family"] == rule["family"] and r["mode"] == "edit"]
                    refused = rule["variants"].get("edit", {}).get("refused")
                    where = f"; {name}'s edit model is {edits[0]}" if edits else f" ({refused})" if refused else ""
                    raise _invalid(field, f"{job.model} makes a video from nothing and takes no source video{where}")
            return False
        problems = [f"{field}: an edit job does not take it (the source video decides size, fps and length)"
                    for field in EDIT_REFUSED if field in job.model_fields_set]
        if problems:
            raise InvalidInputError("; ".join(problems), details={"fields": problems}, source="client")
        if job.video_url is None:
            raise _invalid("video_url", f"{job.model} edits a source video; give its URL")
        if (job.retake is None) == (job.extend is None):
            raise _invalid("retake, extend", "an edit job takes exactly one of retake or extend")
        if "resolution" in job.model_fields_set and job.resolution not in rule["resolutions"]:
            raise _invalid("resolution", f"{name} renders at most {', '.join(rule['resolutions'])}, "
                                         f"not {job.resolution}")
        if job.loras and "loras" not in rule["features"]:
            raise _invalid("loras", f"{name} has no loras")
        declared = rule["variants"].get("edit", {})
        qualities = declared.get("qualities")
        if qualities is None or job.quality not in qualities:
            raise _invalid("quality", f"{job.model} edits at quality {_names(qualities) if qualities else 'none'}, "
                                      f"not {job.quality!r}")
        return True

    @staticmethod
    def _keyframes(job: JobInput, rule: dict[str, Any], frames: int) -> None:
        """Each image's frame inside the video and on a frame of its own, and at most the family's
        ``max_keyframes`` (the worker's ``keyframes.resolve_guides`` and ``FamilyRegistry.plan``)."""
        guides = [("image_urls[0]", 0)] if job.image_urls else []
        for index, key in enumerate(job.keyframes or []):
            field = f"keyframes[{index}]"
            if key.frame is not None:
                frame, where = (key.frame if key.frame >= 0 else frames + key.frame), f"frame {key.frame}"
            else:
                frame = round(key.at_s * job.fps)
                where = f"at_s {key.at_s:g} (frame {frame} at {job.fps} fps)"
            if not 0 <= frame <= frames - 1:
                raise _invalid(f"{field}.{'frame' if key.frame is not None else 'at_s'}",
                               f"{where} is outside the video's frames 0..{frames - 1} ({frames} frames)")
            guides.append((field, frame))
        if job.last_image_url:
            guides.append(("last_image_url", frames - 1))
        taken: dict[int, str] = {}
        for field, frame in guides:
            if frame in taken:
                named = field if field.startswith("keyframes") else taken[frame]
                other = taken[frame] if named == field else field
                raise _invalid(named, f"frame {frame} is already taken by {other}; one image per frame")
            taken[frame] = field
        most = rule["variants"]["keyframes"]["max_keyframes"]
        if guides and len(guides) - (rule["mode"] == "i2v") > most:
            raise _invalid("keyframes", f"{rule['family_name']} takes at most {most} keyframes")

    def _variant(self, job: JobInput, rule: dict[str, Any]) -> str | None:
        """The variant `job` asks for, checked as the worker's ``FamilyRegistry._variant``."""
        asked = []
        if job.keyframes or job.last_image_url:
            asked.append(("keyframes", "keyframes" if job.keyframes else "last_image_url"))
        if job.audio_url:
            asked.append(("audio", "audio_url"))
        if job.control_video_url or job.control:
            if not (job.control_video_url and job.control):
                missing = "control" if job.control_video_url else "control_video_url"
                raise _invalid(missing, "control_video_url and control go together")
            asked.append((f"control-{job.control}", "control"))
        if job.reference_audio_url:
            asked.append(("id-lora", "reference_audio_url"))
        if not asked:
            return None
        if len(asked) > 1:
            raise _invalid(asked[1][1], f"a job takes one of keyframes/last_image_url, audio_url, "
                                        f"control_video_url or reference_audio_url, not {asked[0][1]} and "
                                        f"{asked[1][1]} together")
        name, field = asked[0]
        if job.last_image_url and rule["mode"] != "i2v":
            raise _invalid("last_image_url", f"{job.model} is text-to-video; the last frame goes with an "
                                             f"i2v model's start image (use keyframes for t2v)")
        declared = rule["variants"].get(name)
        if declared is not None and declared.get("refused"):
            raise _invalid(field, f"{rule['family_name']} cannot serve {name}: {declared['refused']}")
        if declared is None:
            others = [m for m, r in self.models.items() if "qualities" in r["variants"].get(name, {})]
            where = f"models that have it: {_names(others)}" if others else "no model has it"
            raise _invalid(field, f"{job.model} has no {name} template; {where}")
        if job.quality not in declared["qualities"]:
            raise _invalid("quality", f"{name} on {job.model} is made at quality "
                                      f"{_names(declared['qualities'])}, not {job.quality!r}")
        return name

    def _named_loras(self, job: JobInput, rule: dict[str, Any]) -> None:
        """A named LoRA must be one of the job's family (the worker's ``JobLoraSet._named``)."""
        owners = {n: r["family"] for r in self.models.values() for n in r.get("loras", {})}
        for index, entry in enumerate(job.loras or []):
            if entry.name is None:
                continue
            field = f"loras[{index}].name"
            if entry.name not in owners:
                known = ", ".join(sorted(rule.get("loras", {}))) or "none"
                raise _invalid(field, f"no LoRA named {entry.name!r}; {rule['family_name']} has: {known} "
                                      "(`ltx-worker loras list`)")
            if owners[entry.name] != rule["family"]:
                raise _invalid(field, f"{entry.name} is a LoRA for another family ({owners[entry.name]}), "
                                      f"not {rule['family_name']}")


@cache
def default_rules() -> Rules:
    """The `Rules` of the ``rules.json`` shipped with this package (read once)."""
    return Rules(json.loads(resources.files(__package__).joinpath("rules.json").read_text()))


def check_job(job: dict | JobInput, *, rules: Rules | None = None) -> None:
    """Refuse a job the worker would refuse for its fields or its model's rules, before any request.

    Args:
        job: the job's ``input`` (a dict of JSON types, or a `JobInput`).
        rules: the worker's models data (default: this package's ``rules.json``).

    Raises:
        InvalidInputError: the worker's INVALID_INPUT message, naming the field (module docstring
            lists what is checked here and what only the worker can check).
    """
    (rules or default_rules()).check(job)
