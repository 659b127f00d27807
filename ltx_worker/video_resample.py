"""Writing frames that come at any times as an H.264 MP4 at a constant frame rate (sample and hold).

A control video (`media.prepare_control_video`) and an edit's source (`edit_source`) are both
re-timed to a constant rate by presentation time: the writer holds the last decoded frame and
writes it for every output time before the next one's, so output frame i shows what the source
shows at i / fps. `lead` moves each output time by that many frames: 0 samples at i / fps (a
control video, cut to the job's frame count), 0.5 takes the frame nearest to i / fps (an edit
source, whose frame i must be the source's frame i when the rate is constant).
"""

from __future__ import annotations

from fractions import Fraction

import av

from .input_budget import InputBudget


def even_side(n: float) -> int:
    """A picture side H.264 (yuv420p) takes: `n` rounded down to even, at least 2."""
    return max(2, int(n) // 2 * 2)


class HoldWriter:
    """An H.264 video stream of `out` at `fps`, `width` x `height`, yuv420p, written by holding.

    Args:
        out: an `av` output container (the caller opens and closes it).
        fps: the output frame rate.
        width, height: the output picture (even sides: `even_side`); held frames are scaled to it.
        budget, field, doing: checked before every frame written (`InputBudget.check`).
        limit: the most frames to write (None: no limit).
        lead: output frames' sampling offset, in frames (module doc).
        options: libx264 options (crf, preset, colour tags).
    """

    def __init__(self, out, fps: Fraction | int, width: int, height: int, *, budget: InputBudget, field: str,
                 doing: str, limit: int | None = None, lead: float = 0.0, options: dict | None = None) -> None:
        self.out, self.fps, self.width, self.height = out, Fraction(fps), width, height
        self.budget, self.field, self.doing, self.limit, self.lead = budget, field, doing, limit, lead
        self.stream = out.add_stream("libx264", rate=self.fps)
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "yuv420p"
        self.stream.options = options or {}
        self.stream.codec_context.time_base = 1 / self.fps
        self.held: av.VideoFrame | None = None
        self.written = 0

    @property
    def full(self) -> bool:
        """Whether `limit` frames are written."""
        return self.limit is not None and self.written >= self.limit

    def until(self, t: float) -> None:
        """Write the held frame for every output time before `t` seconds (from the first frame)."""
        while self.held is not None and not self.full and (self.written + self.lead) / self.fps < t - 1e-6:
            self.budget.check(self.field, self.doing)
            picture = self.held.reformat(width=self.width, height=self.height, format="yuv420p")
            picture.pts, picture.time_base = self.written, 1 / self.fps
            for packet in self.stream.encode(picture):
                self.out.mux(packet)
            self.written += 1

    def hold(self, frame: av.VideoFrame) -> None:
        """The frame shown from now on (until the next `hold`)."""
        self.held = frame

    def flush(self) -> None:
        """Write what the encoder still holds."""
        for packet in self.stream.encode(None):
            self.out.mux(packet)
