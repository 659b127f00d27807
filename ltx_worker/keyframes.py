"""Keyframes of a job: the images a video passes through, resolved to frames (LTXVAddGuide).

`resolve_guides` turns a keyframes job's start image, ``keyframes`` and ``last_image_url`` into
`Guide`s in frame order, checked against the job's frame count (SPEC.md, "Job input, version 2";
the positions and strengths follow the official first+last frame templates,
FACTS-ltx2-families.md). `families.FamilyRegistry.plan` calls it; the handler fetches each
guide's image and the compiler fills the templates' repeated guide group with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import invalid_field

if TYPE_CHECKING:
    from .contract.job import JobInput


@dataclass(frozen=True)
class Guide:
    """One image the video passes through (LTXVAddGuide): where it comes from and where it goes.

    Attributes:
        field: the job field it came from (``image_urls[0]``, ``keyframes[2]``,
            ``last_image_url``), for errors and the result.
        source: its URL, data: URI or base64 string.
        frame: pixel frame index, 0..frames-1 (the last frame, frames-1, is what the official
            flf2v templates address as -1).
        strength: guide strength 0..1.
    """

    field: str
    source: str
    frame: int
    strength: float


#: Strength of the last-frame guide: the official first+last frame templates (FACTS-ltx2-families.md).
LAST_FRAME_STRENGTH = 0.7


def resolve_guides(job: JobInput, frames: int, image_strength: float) -> tuple[Guide, ...]:
    """The images of a keyframes job in frame order: the start image (i2v) at frame 0 with
    `image_strength`, each keyframe where it asks, the last image at frames-1 with
    `LAST_FRAME_STRENGTH`.

    Raises:
        WorkerError: INVALID_INPUT naming the keyframe that lies outside 0..frames-1 or on a
            frame another image already takes.
    """
    fps = job.fps
    guides: list[Guide] = []
    if job.image_urls:
        guides.append(Guide("image_urls[0]", job.image_urls[0], 0, image_strength))
    for index, key in enumerate(job.keyframes or []):
        field = f"keyframes[{index}]"
        if key.frame is not None:
            frame = key.frame if key.frame >= 0 else frames + key.frame
            where = f"frame {key.frame}"
        else:
            frame = round(key.at_s * fps)
            where = f"at_s {key.at_s:g} (frame {frame} at {fps} fps)"
        if not 0 <= frame <= frames - 1:
            raise invalid_field(f"{field}.{'frame' if key.frame is not None else 'at_s'}",
                          f"{where} is outside the video's frames 0..{frames - 1} ({frames} frames)")
        guides.append(Guide(field, key.image_url, frame, key.strength))
    if job.last_image_url:
        guides.append(Guide("last_image_url", job.last_image_url, frames - 1, LAST_FRAME_STRENGTH))
    taken: dict[int, str] = {}
    for guide in guides:
        if guide.frame in taken:
            field = guide.field if guide.field.startswith("keyframes") else taken[guide.frame]
            other = taken[guide.frame] if field == guide.field else guide.field
            raise invalid_field(field, f"frame {guide.frame} is already taken by {other}; one image per frame")
        taken[guide.frame] = guide.field
    return tuple(sorted(guides, key=lambda g: g.frame))
