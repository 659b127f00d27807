"""An edit job's fields checked against its family (issue 19; SPEC.md, "Job input, version 3").

An edit model (``ltx-2.3-edit``: family.json ``models`` maps it to mode ``edit``) takes a source
video (``video_url``) and exactly one of ``retake`` or ``extend``; the source decides size, fps
and length, so the fields that set them are refused when present (`EDIT_REFUSED`).
``resolution`` caps the output size; its default is the family's largest. Generation models
refuse the edit fields. The window and the source's own limits are checked once the source is
probed (`edit_job`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ErrorCode, WorkerError, invalid_field

if TYPE_CHECKING:
    from .contract.job import JobInput
    from .families import Family

#: Fields an edit job refuses when present: the source decides size, fps and length (SPEC.md,
#: "Job input, version 3"); the sound is the source's.
EDIT_REFUSED = ("fps", "duration", "aspect_ratio", "image_urls", "last_image_url", "keyframes", "audio_url",
                "audio_start_s", "control_video_url", "control", "camera_lora", "camera_strength",
                "image_strength", "reference_audio_url", "transition", "audio")
#: The job fields that ask for an edit.
EDIT_FIELDS = ("video_url", "retake", "extend")


def edit_size_cap(job: JobInput, family: Family, mode: str) -> tuple[int, int] | None:
    """Check an edit job's fields; returns the output's size cap ``(long side, short side)`` in
    pixels (the job's ``resolution``, read from its 16:9 size), or None for a job of a generation
    model (which must not carry the edit fields). An edit job without ``resolution`` gets the
    family's largest, set on `job` so that the result reports the cap used.

    Args:
        job: the validated job. family: its model's family. mode: the model's mode.

    Raises:
        WorkerError: INVALID_INPUT naming the field: an edit field on a generation model, a
            refused field on an edit job (`EDIT_REFUSED`, every one listed), no ``video_url``, neither or both of
            ``retake`` and ``extend``, a resolution the family does not render.
    """
    given = job.model_fields_set
    if mode != "edit":
        for name in EDIT_FIELDS:
            if getattr(job, name) is not None:
                edits = [m for m, kind in family.models.items() if kind == "edit"]
                declared = family.variants.get("edit")
                where = (f"; {family.name}'s edit model is {edits[0]}" if edits
                         else f" ({declared.refused})" if declared is not None and declared.refused else "")
                raise invalid_field(name, f"{job.model} makes a video from nothing and takes no source video{where}")
        return None
    problems = [f"{name}: an edit job does not take it (the source video decides size, fps and length)"
                for name in EDIT_REFUSED if name in given]
    if problems:
        raise WorkerError(ErrorCode.INVALID_INPUT, "; ".join(problems), details={"fields": problems})
    if job.video_url is None:
        raise invalid_field("video_url", f"{job.model} edits a source video; give its URL")
    if (job.retake is None) == (job.extend is None):
        raise invalid_field("retake, extend", "an edit job takes exactly one of retake or extend")
    if "resolution" in given:
        if job.resolution not in family.resolutions:
            raise invalid_field("resolution", f"{family.name} renders at most "
                                              f"{', '.join(family.resolutions)}, not {job.resolution}")
        name = job.resolution
    else:  # the family's largest, which the result then reports
        name = job.resolution = max(family.resolutions, key=lambda r: _pixels(family.resolutions[r]))
    width, height = family.resolutions[name].get("16:9") or next(iter(family.resolutions[name].values()))
    return max(width, height), min(width, height)


def _pixels(sizes: dict[str, tuple[int, int]]) -> int:
    return max(w * h for w, h in sizes.values())


def frame_cap(family: Family, fps: float) -> int:
    """The most frames one graph of `family` makes at `fps` (8k+1, the family's ``max_seconds``:
    481 at 24 fps for LTX-2.3)."""
    return 8 * int((family.max_seconds * fps - 1) // 8) + 1
