"""Where an edit works: the window of source frames a retake or extend graph runs on (issue 19).

An edit job regenerates a section of a source video (retake) or adds new seconds before or after
it (extend). The graph never runs on the whole source: it runs on a *window* (the section or the
new part, plus context frames of the source either side), at most the family's frame cap long,
and the output is the source with the window's new frames spliced in. So a source longer than
the cap can be edited, and every frame outside the new ones is the source's own.

The window is laid on LTX's latent grid. The video VAE is causal with a temporal compression of
8 (comfy_extras/nodes_lt.py; ltx-core's ``VideoLatentShape``): latent frame 0 holds pixel frame 0
alone, latent frame i >= 1 holds pixel frames 8(i-1)+1 .. 8i, so a window of L = 8n+1 frames is
n+1 latent frames, and a noise mask per latent frame (the pack's LTXWTimeMask) can only switch
at a window-relative frame 0, 1, 9, 17, ... The new frames are therefore whole latent frames:

* retake: the section [first, last] grows outward to the grid (its end first, its start when the
  end is the source's last frame); context before it is 8k+1 frames (or none when the section
  starts the source), after it a multiple of 8.
* extend at the end: context 8k+1 frames (the source's last), then 8m new frames.
* extend at the start: 8m+1 new frames, then 8k context frames (the source's first). The causal
  VAE cannot encode context that follows new frames as kept latents (its first latent frame is
  one pixel frame), so these context frames go in as guides (LTXVAddGuide) at the window's end.

All numbers are frame indices of the source (0-based) unless named ``_s`` (seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Pixel frames per latent frame of LTX's video VAE (after the first, which holds one).
TIME_COMPRESSION = 8
#: A section or extension lasts at least this long (Lightricks' API; SPEC.md, version 3).
MIN_EDIT_S = 2.0
#: Context each side of a retake section when the job does not say (seconds, at most).
DEFAULT_RETAKE_CONTEXT_S = 2.0


class WindowError(ValueError):
    """An edit that cannot be laid out; ``field`` names the job field (``retake``,
    ``extend.duration_s`` ...), the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class EditWindow:
    """The frames an edit graph works on and what it regenerates.

    Attributes:
        kind: "retake", "extend_end" or "extend_start".
        window_first, window_frames: the window's first source frame and its length (8n+1);
            for an extend at the start the window begins with the new frames, so
            ``window_first`` is the first source frame the window holds after them (0).
        new_first, new_frames: where the regenerated (retake) or added (extend) frames are in
            the *output* and how many there are.
        context_before, context_after: source frames kept around the new ones in the window.
        output_frames: frames of the output (the source's for a retake, plus the new ones for an
            extend).
        fps: the source's frame rate.
    """

    kind: str
    window_first: int
    window_frames: int
    new_first: int
    new_frames: int
    context_before: int
    context_after: int
    output_frames: int
    fps: float

    @property
    def new_last(self) -> int:
        """The last new frame of the output (inclusive)."""
        return self.new_first + self.new_frames - 1

    def report(self) -> dict:
        """What the result's ``settings.edit`` says: the regenerated frames ``[first, last]``
        and seconds, the window and the context, in frames and seconds."""
        def s(frames: float) -> float:
            return round(frames / self.fps, 3)

        return {"kind": self.kind, "frames": [self.new_first, self.new_last],
                "seconds": [s(self.new_first), s(self.new_last + 1)],
                "window_frames": self.window_frames, "window_s": s(self.window_frames),
                "context_before_frames": self.context_before, "context_after_frames": self.context_after,
                "context_before_s": s(self.context_before), "context_after_s": s(self.context_after),
                "output_frames": self.output_frames}


def _grid_up(frames: int) -> int:
    return TIME_COMPRESSION * math.ceil(frames / TIME_COMPRESSION)


def _section_on_grid(first: int, end: int, source_frames: int) -> tuple[int, int]:
    """The section [first, end) grown outward to whole latent frames of a window that starts at
    the section (first == 0) or 8k+1 frames before it: ``(first, frames)``. Its end grows first;
    where that passes the source's end, its start moves back. A section from frame 0 is 8m+1
    frames; when the source itself is shorter than that, the last frames past the largest 8m+1
    stay the source's (at most 7, reported by the window's frame count)."""
    if first >= 1:
        new = _grid_up(end - first)
        if first + new <= source_frames:
            return first, new
        first = source_frames - new
        if first >= 1:
            return first, new
        end = source_frames
    new = _grid_up(end - 1) + 1
    while new > source_frames:
        new -= TIME_COMPRESSION
    return 0, new


def retake_window(source_frames: int, fps: float, start_s: float, duration_s: float, cap: int,
                  context_s: float = DEFAULT_RETAKE_CONTEXT_S) -> EditWindow:
    """The window of a retake of [start_s, start_s + duration_s) in a source of `source_frames`
    frames at `fps`, the graph at most `cap` frames (the family's 8k+1 frame cap).

    A section past the end is clamped to it. Context is up to `context_s` each side, as much as
    the source and the cap allow.

    Raises:
        WindowError: ``retake`` when less than MIN_EDIT_S is left of the section, or the section
            alone (on the grid) does not fit the cap.
    """
    first = round(start_s * fps)
    end = min(source_frames, round((start_s + duration_s) * fps))
    if end - first < round(MIN_EDIT_S * fps):
        left = max(0, end - first) / fps
        raise WindowError("retake", f"the section keeps {left:.2f} s of the {source_frames / fps:.2f} s source; "
                                    f"at least {MIN_EDIT_S:g} s must be left (start_s + duration_s)")
    first, new = _section_on_grid(first, end, source_frames)
    if new > cap:
        raise WindowError("retake", f"the section is {new} frames on the latent grid; {cap} is the most one "
                                    f"graph makes ({cap / fps:.1f} s)")
    want = round(context_s * fps)
    room = cap - new
    if first == 0:
        before = 0
    else:
        k = min((first - 1) // TIME_COMPRESSION, max(0, want - 1) // TIME_COMPRESSION,
                (room - 1) // TIME_COMPRESSION if room >= 1 else -1)
        if k < 0:
            raise WindowError("retake", f"no room for the frame before the section within {cap} frames")
        before = TIME_COMPRESSION * k + 1
    room -= before
    after_max = source_frames - (first + new)
    after = TIME_COMPRESSION * min(after_max // TIME_COMPRESSION, want // TIME_COMPRESSION,
                                   max(0, room) // TIME_COMPRESSION)
    return EditWindow("retake", first - before, before + new + after, first, new, before, after,
                      source_frames, fps)


def extend_window(source_frames: int, fps: float, duration_s: float, cap: int, at: str = "end",
                  context_s: float | None = None) -> EditWindow:
    """The window of an extend by `duration_s` at the source's `at` ("end" or "start"), with up
    to `context_s` of the source as context (default: as much as fits the cap).

    The new part is whole latent frames: at the end 8m frames (at least the seconds asked), at
    the start 8m+1; the context fills the rest of the window (8k+1 frames at the end, 8k at the
    start).

    Raises:
        WindowError: ``extend.duration_s`` when the new part alone leaves no room for context in
            `cap`; ``extend.context_s`` when the source is shorter than one latent frame of
            context; ``extend.at`` for another value.
    """
    if at not in ("end", "start"):
        raise WindowError("extend.at", f"must be 'end' or 'start', not {at!r}")
    asked = round(duration_s * fps)
    want = source_frames if context_s is None else min(source_frames, round(context_s * fps))
    if at == "end":
        new = _grid_up(asked)
        room = cap - new
        k = min((want - 1) // TIME_COMPRESSION, (room - 1) // TIME_COMPRESSION) if room >= 1 else -1
        if k < 0 or want < 1:
            raise WindowError("extend.duration_s", f"{duration_s:g} s is {new} new frames; with context the "
                                                   f"window must stay within {cap} frames ({cap / fps:.1f} s)")
        context = TIME_COMPRESSION * k + 1
        return EditWindow("extend_end", source_frames - context, context + new, source_frames, new, context, 0,
                          source_frames + new, fps)
    new = _grid_up(max(0, asked - 1)) + 1
    room = cap - new
    k = min(want // TIME_COMPRESSION, room // TIME_COMPRESSION)
    if room < TIME_COMPRESSION:
        raise WindowError("extend.duration_s", f"{duration_s:g} s is {new} new frames; with context the window "
                                               f"must stay within {cap} frames ({cap / fps:.1f} s)")
    if k < 1:
        raise WindowError("extend.context_s", f"the context must be at least {TIME_COMPRESSION} frames "
                                              f"({TIME_COMPRESSION / fps:.2f} s)")
    context = TIME_COMPRESSION * k
    return EditWindow("extend_start", 0, new + context, 0, new, 0, context, source_frames + new, fps)
