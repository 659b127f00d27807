"""An edit job's source video (``video_url``), checked and normalised before ComfyUI sees it (issue 19).

`prepare_edit_source` opens the fetched bytes with the video demuxers only (`media_open`), checks
the declared size, frame count, length and frame rate against the caps, then decodes every frame
under the job's budget and writes one normalised H.264 MP4 that the edit's window is cut from and
its output spliced into:

* **rotation** (a phone clip's display matrix, ``frame.rotation``) is applied to the pixels, so
  the picture is upright and the MP4 has none;
* **variable frame rate** is resampled to the stream's average rate by presentation time (output
  frame i shows the source frame on screen at i / fps, to the nearest half frame), so frame i is
  at i / fps exactly;
* **10-bit or HDR** pictures are converted to 8-bit yuv420p tagged BT.709 (swscale's conversion;
  no tone mapping: a PQ/HLG source looks flat, and the facts say what it was);
* a picture larger than the output cap is scaled down (aspect kept), sides even.

Each of these is reported in `EditSourceFacts` (the result's ``settings.inputs.video``). What
cannot be normalised is refused naming the field: not a video, no frame rate, fewer than
`MIN_SOURCE_FRAMES` frames, over a cap, undecodable. The sound, when the source has it, is the
job's to keep: `prepare_audio` reads it from the same bytes.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass

import av
import numpy as np

from .input_budget import NO_BUDGET, InputBudget
from .inputs import input_error
from .media_open import checked_video_stream, decoded_frames, open_media
from .video_resample import HoldWriter, even_side

#: Lightricks' minimum for a retake or extend source (its API refuses shorter clips).
MIN_SOURCE_FRAMES = 73
#: Frame time spread (relative to the mean interval) above which a stream counts as variable rate.
_VFR_SPREAD = 0.01
_TEN_BIT = ("10le", "10be", "12le", "12be", "16le", "16be")
#: The normalised MP4: near-lossless, tagged BT.709.
_X264 = {"crf": "12", "preset": "ultrafast", "colorprim": "bt709", "transfer": "bt709", "colormatrix": "bt709"}


@dataclass(frozen=True)
class EditSourceFacts:
    """What the source was and what was done to it.

    Attributes:
        format, codec: the container and video codec names (FFmpeg's).
        width, height: the picture as decoded (before rotation).
        fps: the frame rate of the output (the stream's average rate).
        frames_decoded, frames: frames read, and frames of the normalised MP4.
        duration_s: frames / fps of the normalised MP4.
        out_width, out_height: the normalised picture (after rotation and scaling).
        rotation: degrees the picture was turned to be upright (0: none).
        variable_frame_rate: whether frames came at uneven intervals (resampled).
        converted_from: the source's pixel format / transfer when it was 10-bit or HDR, else None.
        scaled: whether the picture was scaled down to the cap.
        has_audio: whether the source has a sound track.
    """

    format: str
    codec: str
    width: int
    height: int
    fps: float
    frames_decoded: int
    frames: int
    duration_s: float
    out_width: int
    out_height: int
    rotation: int
    variable_frame_rate: bool
    converted_from: str | None
    scaled: bool
    has_audio: bool

    def to_dict(self) -> dict:
        """The facts as the result reports them (seconds and rates rounded to 3 places)."""
        out = asdict(self)
        out["fps"], out["duration_s"] = round(self.fps, 3), round(self.duration_s, 3)
        return out


def _upright(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    """The frame as RGB, turned by `rotation` degrees (a multiple of 90, FFmpeg's sign:
    counter-clockwise positive) so that it shows as the player would show it."""
    rgb = frame.to_ndarray(format="rgb24")
    return np.ascontiguousarray(np.rot90(rgb, k=(rotation // 90) % 4)) if rotation else rgb


def prepare_edit_source(data: bytes, *, field: str, max_size: tuple[int, int], max_s: float, max_frames: int,
                        max_pixels: int, budget: InputBudget = NO_BUDGET) -> tuple[bytes, EditSourceFacts]:
    """Check an edit's source video and write it normalised (module doc) as H.264 MP4.

    Args:
        data: the fetched file. field: the job field, for errors (``video_url``).
        max_size: (width, height) the output may have at most (the job's resolution cap, in the
            picture's orientation: a portrait source is fitted to (height, width) swapped).
        max_s, max_frames, max_pixels: caps on the declared length, the declared and decoded
            frame count, and the declared and every decoded frame's size.
        budget: the job's deadline and cancel.

    Returns:
        (MP4 bytes, `EditSourceFacts`).

    Raises:
        WorkerError: INVALID_INPUT naming `field` (not a video, no video stream, no frame rate,
            too short, over a cap, undecodable); TIMEOUT or CANCELLED from `budget`.
    """
    container = open_media(data, field, "video")
    with container:
        stream, width, height, _ = checked_video_stream(container, field=field, max_pixels=max_pixels,
                                                         max_frames=max_frames, max_s=max_s)
        rate = stream.average_rate or stream.guessed_rate
        if not rate or float(rate) <= 0 or not math.isfinite(float(rate)) or float(rate) > 240:
            raise input_error(field, f"declares no usable frame rate ({rate})")
        fps = float(rate)
        has_audio = bool(container.streams.audio)
        buf = io.BytesIO()
        out = av.open(buf, mode="w", format="mp4")
        writer: HoldWriter | None = None
        rotation, converted, decoded = 0, None, 0
        first = last = None
        steps: list[float] = []
        scale = 1.0
        try:
            for frame in decoded_frames(container, stream, field=field, kind="video", budget=budget,
                                        max_frames=max_frames, max_pixels=max_pixels):
                if writer is None:
                    rotation = int(round(frame.rotation or 0)) % 360
                    if rotation % 90:
                        raise input_error(field, f"is rotated by {rotation} degrees (only quarter turns are taken)")
                    trc = str(frame.color_trc) if frame.color_trc is not None else ""
                    hdr = any(k in trc.lower() for k in ("2084", "b67", "hlg"))
                    if frame.format.name.endswith(_TEN_BIT) or hdr:
                        converted = frame.format.name + (f", transfer {trc}" if hdr else "")
                    up_w, up_h = (height, width) if rotation in (90, 270) else (width, height)
                    cap_w, cap_h = max_size if up_w >= up_h else (max_size[1], max_size[0])
                    scale = min(1.0, cap_w / up_w, cap_h / up_h)
                    # the frame nearest each output time (lead 0.5): a constant-rate source keeps its frames
                    writer = HoldWriter(out, rate, even_side(up_w * scale), even_side(up_h * scale), budget=budget,
                                        field=field, doing="normalising it", lead=0.5, options=_X264)
                decoded += 1
                t = frame.time if frame.time is not None else decoded / fps
                if last is not None:
                    steps.append(t - last)
                first = t if first is None else first
                last = t
                writer.until(t - first)
                writer.hold(av.VideoFrame.from_ndarray(_upright(frame, rotation), format="rgb24"))
            if writer is None:
                raise input_error(field, "has no decodable frames")
            writer.until(last - first + 1.0 / fps)  # the last frame lasts one frame interval
            writer.flush()
        finally:
            out.close()
        fmt, codec = container.format.name, stream.codec_context.name
    if decoded < MIN_SOURCE_FRAMES:
        raise input_error(field, f"has {decoded} frames; an edit needs at least {MIN_SOURCE_FRAMES} "
                                 f"({MIN_SOURCE_FRAMES / fps:.2f} s at {fps:g} fps)")
    mean = sum(steps) / len(steps) if steps else 0.0
    vfr = bool(mean > 0 and (max(steps) - min(steps)) / mean > _VFR_SPREAD)
    count, out_w, out_h = writer.written, writer.width, writer.height
    scaled = scale < 1.0
    facts = EditSourceFacts(fmt, codec, width, height, fps, decoded, count, count / fps, out_w, out_h, rotation,
                            vfr, converted, scaled, has_audio)
    return buf.getvalue(), facts
