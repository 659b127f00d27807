"""A job's input files, from URL fields to names in ComfyUI's input folder.

`fetch_inputs` fetches and checks every file a job names (start image, keyframe images, last
image, audio, control video, an ID-LoRA job's reference voice) *before* anything is uploaded, so
a refused file leaves nothing behind and ComfyUI is never reached (SPEC.md: each file is decoded
before it reaches ComfyUI). It also fixes the job's length when ``duration`` was left out and
the video follows its audio or control video (`families.RenderPlan.follows_input`).
`CheckedInputs.upload` then puts the files in ComfyUI's input folder under names the worker
makes (``ltxw-<tag>-<role>.<ext>``, removed by the handler's cleanup) and returns the
`compiler.JobFiles` the template is filled with.

The stage is bounded: every download by IMAGE_FETCH_TIMEOUT_S of wall-clock time, the whole
stage (downloads, decoding, re-encoding) by the job's deadline, and it stops when the job is
cancelled; `CheckedInputs.upload` puts nothing in ComfyUI's input folder once the job is cancelled
(`input_budget`). Whatever unexpected error a file raises while it is fetched or checked (a
decoder's own exception) is INVALID_INPUT naming the field, logged with its trace: a hostile file
must not look like a broken worker (INTERNAL, retried, worker replaced).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from .comfy.client import ComfyClient
from .compiler import JobFiles
from .config import Settings
from .contract.job import JobInput
from .edit_job import EditInputs, prepare_edit
from .errors import ErrorCode, WorkerError
from .families import RenderPlan
from .input_budget import InputBudget
from .inputs import fetch_source, input_error, prepare_image
from .media import prepare_audio, prepare_control_video

log = logging.getLogger(__name__)


@dataclass
class CheckedInputs:
    """Every input file of a job, fetched and checked, not yet uploaded.

    Attributes:
        plan: the job's plan, its frame count fixed when the length follows an input.
        start_image: PNG bytes of the start image (i2v outside keyframes jobs), or None.
        guides: (PNG bytes, frame, strength) per guide of a keyframes job, in frame order.
        audio: WAV bytes of the image+audio job's sound track, or None.
        audio_duration_s: seconds of it the template keeps (TrimAudioDuration).
        control_video: MP4 bytes of a control job's video at the job's fps, or None.
        reference_audio: WAV bytes of an ID-LoRA job's voice clip, or None.
        edit: an edit job's source and window files (`edit_job.EditInputs`), or None.
        facts: what each input was (sizes, lengths, rates) for the result's ``settings.inputs``.
    """

    plan: RenderPlan
    start_image: bytes | None = None
    guides: list[tuple[bytes, int, float]] = field(default_factory=list)
    audio: bytes | None = None
    audio_duration_s: float | None = None
    control_video: bytes | None = None
    reference_audio: bytes | None = None
    edit: EditInputs | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def upload(self, client: ComfyClient, tag: str, deadline: float | None,
               cancel: threading.Event | None = None) -> JobFiles:
        """Upload the files to ComfyUI's input folder; returns their names as `JobFiles`.

        `cancel` (the job's cancel event) is checked before each file: once the job is cancelled
        (and the handler has cleaned the input folder) no file is written there any more.

        Raises:
            WorkerError: COMFY_UNAVAILABLE or TIMEOUT from the upload; CANCELLED when `cancel` is set.
        """
        def put(data: bytes, role: str, content_type: str) -> str:
            if cancel is not None and cancel.is_set():
                raise WorkerError(ErrorCode.CANCELLED, f"the job was cancelled before its {role} was uploaded")
            return client.upload_input(data, f"ltxw-{tag}-{role}", content_type, deadline=deadline)

        image = put(self.start_image, "start.png", "image/png") if self.start_image else None
        guides = tuple(
            {"image": put(png, f"guide{i}.png", "image/png"), "frame": frame, "strength": strength}
            for i, (png, frame, strength) in enumerate(self.guides)
        )
        audio = put(self.audio, "audio.wav", "audio/wav") if self.audio else None
        control = put(self.control_video, "control.mp4", "video/mp4") if self.control_video else None
        reference = put(self.reference_audio, "reference.wav", "audio/wav") if self.reference_audio else None
        edit_values = {}
        if self.edit is not None:
            edit = self.edit
            audio = put(edit.window_wav, "window.wav", "audio/wav")
            edit_values = {**edit.template_values(), "source_video": put(edit.window_mp4, "window.mp4", "video/mp4"),
                           "context_guides": [{"video": put(edit.guide_mp4, "guide.mp4", "video/mp4"),
                                               "frame": edit.new_in_window + edit.window.new_frames,
                                               "strength": 1.0}] if edit.guide_mp4 else []}
        return JobFiles(image, guides, audio, self.audio_duration_s, control, reference, edit_values)

    def describe(self) -> str:
        """The inputs in words, for the progress message (``start image, 2 guide images, audio``)."""
        parts = []
        if self.start_image:
            parts.append("start image")
        if self.guides:
            parts.append(f"{len(self.guides)} guide image{'s' if len(self.guides) > 1 else ''}")
        if self.audio:
            parts.append("audio")
        if self.control_video:
            parts.append("control video")
        if self.reference_audio:
            parts.append("reference voice")
        if self.edit:
            parts.append(f"{self.edit.window.kind.replace('_', ' at the ')} window")
        return ", ".join(parts) or "none"


@contextmanager
def _last_resort(field_name: str, what: str) -> Iterator[None]:
    """Turn any unexpected exception raised while `field_name` is fetched or checked into
    INVALID_INPUT "not a decodable <what>" naming the field (the trace goes to the log)."""
    try:
        yield
    except (WorkerError, MemoryError):
        raise
    except Exception as err:
        log.exception("%s: unexpected %s while checking the %s", field_name, type(err).__name__, what)
        raise input_error(field_name, f"not a decodable {what} ({type(err).__name__})") from None


def _image(source: str, field_name: str, settings: Settings, budget: InputBudget) -> tuple[bytes, dict[str, Any]]:
    with _last_resort(field_name, "image"):
        raw = fetch_source(source, field=field_name, max_bytes=settings.max_image_bytes,
                           timeout_s=settings.image_fetch_timeout_s, budget=budget)
        budget.check(field_name)
        png, (width, height) = prepare_image(raw, max_bytes=settings.max_image_bytes,
                                             max_pixels=settings.max_image_pixels, field=field_name)
    return png, {"width": width, "height": height}


def fetch_inputs(job: JobInput, settings: Settings, *, deadline: float | None = None,
                 cancel: threading.Event | None = None) -> CheckedInputs:
    """Fetch and check every input file of `job` (see the module docstring); nothing is uploaded.

    Args:
        deadline: when the job must end (``time.monotonic()`` seconds), or None.
        cancel: the job's cancel event (`comfy.types.PromptRun.cancel`), or None.

    Raises:
        WorkerError: INVALID_INPUT naming the field (refused URL, oversized, not what the field
            says, over a cap, audio or control video shorter than ``duration``, or any error
            while decoding it); INPUT_FETCH_FAILED when a download fails or takes longer than
            IMAGE_FETCH_TIMEOUT_S; TIMEOUT past `deadline`; CANCELLED once `cancel` is set.
    """
    budget = InputBudget(deadline, cancel)
    plan = job.plan
    checked = CheckedInputs(plan)
    if plan.variant == "keyframes":
        facts = []
        for guide in plan.guides:
            png, size = _image(guide.source, guide.field, settings, budget)
            checked.guides.append((png, guide.frame, guide.strength))
            facts.append({"field": guide.field, "frame": guide.frame, "strength": guide.strength, **size})
        checked.facts["guides"] = facts
    elif job.image_urls:
        checked.start_image, checked.facts["image"] = _image(job.image_urls[0], "image_urls[0]", settings, budget)
    if job.audio_url:
        _audio(job, settings, checked, budget)
    if job.control_video_url:
        _control_video(job, settings, checked, budget)
    if job.video_url:
        with _last_resort("video_url", "video file"):
            checked.edit = prepare_edit(job, plan, settings, budget)
        checked.plan = checked.edit.plan(plan)
        checked.facts["video"] = checked.edit.facts.to_dict()
    if job.reference_audio_url:
        checked.reference_audio, facts = _wav(job.reference_audio_url, "reference_audio_url", 0.0, settings, budget)
        checked.facts["reference_audio"] = facts.to_dict()
    return checked


def _wav(source: str, field: str, start_s: float, settings: Settings, budget: InputBudget):
    """An audio field's file fetched and checked into WAV from `start_s` (`media.prepare_audio`):
    ``(WAV bytes, AudioFacts)``."""
    with _last_resort(field, "audio file"):
        raw = fetch_source(source, field=field, max_bytes=settings.max_audio_bytes,
                           timeout_s=settings.image_fetch_timeout_s, budget=budget)
        return prepare_audio(raw, field=field, start_s=start_s, max_s=settings.max_audio_s,
                             min_s=settings.min_audio_s, budget=budget)


def _audio(job: JobInput, settings: Settings, checked: CheckedInputs, budget: InputBudget) -> None:
    wav, facts = _wav(job.audio_url, "audio_url", job.audio_start_s, settings, budget)
    plan = checked.plan
    if plan.follows_input:
        checked.plan = plan.with_input_seconds(facts.used_s)
        # the video is capped at the family's longest: the kept audio ends with it
        checked.audio_duration_s = min(facts.used_s, checked.plan.frames / plan.fps)
    else:
        if facts.used_s + 1e-6 < job.duration:
            raise input_error("audio_url", f"lasts {facts.used_s:.2f} s from audio_start_s {job.audio_start_s:g} s, "
                                           f"shorter than duration {job.duration} s; leave duration out to "
                                           f"follow the audio")
        checked.audio_duration_s = float(job.duration)
    checked.audio = wav
    checked.facts["audio"] = facts.to_dict()


def _control_video(job: JobInput, settings: Settings, checked: CheckedInputs, budget: InputBudget) -> None:
    plan = checked.plan
    family = plan.family
    most = family.frames_for(family.duration_s["max"], plan.fps) if plan.follows_input else plan.frames
    with _last_resort("control_video_url", "video file"):
        raw = fetch_source(job.control_video_url, field="control_video_url", max_bytes=settings.max_video_bytes,
                           timeout_s=settings.image_fetch_timeout_s, budget=budget)
        mp4, facts = prepare_control_video(
            raw, field="control_video_url", fps=plan.fps, frames=most, cover=(plan.width, plan.height),
            max_s=settings.max_video_s, max_frames=settings.max_video_frames,
            max_pixels=settings.max_video_pixels, budget=budget,
        )
    have = facts.frames_written
    if plan.follows_input:
        least = family.frames_for(family.duration_s["min"], plan.fps)
        usable = 8 * ((have - 1) // 8) + 1
        if usable < least:
            raise input_error("control_video_url", f"gives {have} frames at {plan.fps} fps "
                                                   f"({facts.duration_s:.2f} s); {family.name} needs at "
                                                   f"least {least} ({family.duration_s['min']} s)")
        checked.plan = replace(plan, frames=usable)
    elif have < plan.frames:
        raise input_error("control_video_url", f"gives {have} frames at {plan.fps} fps ({facts.duration_s:.2f} s); "
                                               f"duration {job.duration} s needs {plan.frames}; leave duration "
                                               f"out to follow the video")
    checked.control_video = mp4
    checked.facts["control_video"] = {"control": job.control, **facts.to_dict()}
