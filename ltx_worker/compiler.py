"""From a checked job to the filled API graph ComfyUI runs.

`template_values` is the one place job fields become template parameters (docs/architecture.md,
"Templates and bindings", lists them); `compile_job` picks the template of (model, quality) and
fills it. Values come from the job, its family's `RenderPlan` (sizes, frames, defaults) and what
the worker made (the seed, the uploaded image's name, the job's file-name tag).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .contract.job import CAMERA_LORAS, JobInput
from .errors import ErrorCode, WorkerError
from .graph import Graph
from .templates import Template


@dataclass(frozen=True)
class CompiledJob:
    """A filled graph and what it was filled from.

    Attributes:
        template: the template used.
        graph: the filled API-format graph (a copy; the template is untouched).
        values: parameter -> value as filled.
        output_id: id of the node whose saved MP4 is the result.
        enhanced_prompt_id: id of the node showing the enhancer's prompt, when enhancing.
        control_output_id: id of the node showing a control job's control images, or None.
    """

    template: Template
    graph: Graph
    values: dict[str, Any]
    output_id: str
    enhanced_prompt_id: str | None
    control_output_id: str | None = None


@dataclass(frozen=True)
class JobFiles:
    """The job's input files as uploaded to ComfyUI's input folder (names the worker made).

    Attributes:
        image: the start image (i2v; a control job's first frame), or None.
        guides: the keyframes job's images in frame order, each ``{"image": file name,
            "frame": pixel frame index, "strength": float}`` (the start image included on i2v).
        audio_file: the image+audio job's WAV, or None.
        audio_duration_s: how much of it TrimAudioDuration keeps (seconds).
        control_video: the control job's MP4 (already at the job's fps), or None.
        reference_audio_file: the ID-LoRA job's voice clip (WAV), or None.
        edit_values: an edit job's own parameters (`edit_job.EditInputs.template_values` and
            the uploaded window's names: ``source_video``, ``context_guides``, the masks).
    """

    image: str | None = None
    guides: tuple[dict[str, Any], ...] = ()
    audio_file: str | None = None
    audio_duration_s: float | None = None
    control_video: str | None = None
    reference_audio_file: str | None = None
    edit_values: dict[str, Any] = field(default_factory=dict)


def template_values(job: JobInput, seed: int, files: JobFiles, tag: str) -> dict[str, Any]:
    """Every template parameter for `job` (a template binds the ones it uses).

    Args:
        job: a job from `contract.job.parse_job_input` (its `plan` is set).
        seed: the seed both sampling stages use.
        files: the job's uploaded input files (`JobFiles`).
        tag: the run's file-name tag (the handler's ``<job tag>-<run>``); the MP4 is saved as
            ``ltxw/<tag>_<counter>_.mp4``.
    """
    plan = job.plan
    image = files.image
    return {
        "prompt": job.prompt,
        "negative_prompt": plan.negative_prompt,
        "width": plan.width,
        "height": plan.height,
        "half_width": plan.width // 2,
        "half_height": plan.height // 2,
        "frames": plan.frames,
        "fps": plan.fps,
        "seed": seed,
        "image": image,
        "image_strength": plan.image_strength,
        "camera_lora": CAMERA_LORAS[job.camera_lora] if job.camera_lora else None,
        "camera_preset": job.camera_lora or "none",
        "camera_strength": job.camera_strength,
        "filename_prefix": f"ltxw/{tag}",
        "audio": job.audio,
        "enhance_prompt": job.enhance_prompt,
        "guides": [dict(g) for g in files.guides],
        "audio_file": files.audio_file,
        "audio_start_s": job.audio_start_s,
        "audio_duration_s": files.audio_duration_s,
        "control_video": files.control_video,
        "reference_audio_file": files.reference_audio_file,
        **files.edit_values,
    }


def check_fits(template: Template, job: JobInput) -> None:
    """Refuse a job that asks for something `template` has no slot for (cheap: no graph copy;
    the handler calls it before fetching any input).

    Raises:
        WorkerError: INVALID_INPUT for a camera move or the enhancer on a template without
            that slot.
    """
    taken = template.params_taken
    if job.camera_lora and not {"camera_lora", "camera_preset"} & taken:
        what = (f"{job.model} {job.variant} jobs (its official template has no camera LoRA)"
                if job.variant else job.model)
        raise WorkerError(ErrorCode.INVALID_INPUT, f"camera_lora: camera moves are not available for {what}")
    if job.enhance_prompt and "enhance_prompt" not in taken:
        raise WorkerError(ErrorCode.INVALID_INPUT,
                          f"enhance_prompt: template {template.name} has no prompt enhancer")


def compile_job(template: Template, job: JobInput, seed: int, files: JobFiles, tag: str) -> CompiledJob:
    """Fill `template` for `job` (see `template_values`).

    Raises:
        WorkerError: INVALID_INPUT from `check_fits`.
        templates.TemplateError: the template's bindings do not resolve (a template bug).
    """
    check_fits(template, job)
    values = template_values(job, seed, files, tag)
    graph = template.fill(values)
    enhanced = None
    if job.enhance_prompt and template.enhanced_prompt_output:
        enhanced = template.node_id(graph, template.enhanced_prompt_output)
    control = template.node_id(graph, template.control_output) if template.control_output else None
    return CompiledJob(template, graph, values, template.node_id(graph, template.output), enhanced, control)
