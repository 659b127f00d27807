"""Opening a job's audio or video file with PyAV so that only the accepted containers are parsed,
and the per-frame checks every decode loop shares.

`open_media` hands FFmpeg a ``format_whitelist`` of exactly the demuxers a field accepts and a
``protocol_whitelist`` that allows none: PyAV reads the bytes through its own I/O, which needs no
protocol, so FFmpeg's reference and network demuxers (SDP binds UDP ports and waits, ``ffconcat``
and HLS open other files or URLs) are refused by the probe, before anything else is parsed, with
one message whatever the text names.

`decoded_frames` decodes one stream under the job's `InputBudget` (deadline, cancel), a frame
count cap and, for pictures, a pixel cap on every decoded frame (`check_frame_pixels`): a file may
declare 64x64 and switch to 1920x1088 in-band. Every video input (the control video, a future
edit source) goes through it.

Errors are `WorkerError(INVALID_INPUT)` whose message starts with the field name, except the
budget's TIMEOUT and CANCELLED.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import av

from .input_budget import InputBudget
from .inputs import input_error

#: FFmpeg demuxers accepted per kind, by their full names (each comma-separated name is one demuxer
#: with its aliases; ``av.ContainerFormat(name, "r").name`` gives them).
AUDIO_DEMUXERS = ("wav", "mp3", "flac", "ogg", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "aac", "aiff")
VIDEO_DEMUXERS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "gif")
#: What the sender is told each kind may be.
KIND_NAMES = {"audio": "WAV, MP3, FLAC, Ogg, M4A/MP4, WebM/MKV, AAC, AIFF", "video": "MP4/MOV, WebM/MKV, AVI, GIF"}
_DEMUXERS = {"audio": AUDIO_DEMUXERS, "video": VIDEO_DEMUXERS}
#: No protocol is allowed: PyAV's own I/O reads the bytes; nothing may open another file or URL.
_NO_PROTOCOL = "none"


def open_media(data: bytes, field: str, kind: str):
    """Open `data` for reading as an `av.container.InputContainer` of `kind` (``audio`` or ``video``).

    Only the demuxers of `AUDIO_DEMUXERS` / `VIDEO_DEMUXERS` may parse it, and no protocol may be
    opened from inside it. The caller closes the container (``with``).

    Raises:
        WorkerError: INVALID_INPUT naming `field`: "not an audio format" / "not a video format"
            when the probe finds any other container (an image, a text such as SDP, ffconcat or
            HLS, a video given as audio); "not a decodable ..." when the container is broken.
    """
    options = {"format_whitelist": ",".join(_DEMUXERS[kind]), "protocol_whitelist": _NO_PROTOCOL}
    try:
        return av.open(io.BytesIO(data), mode="r", metadata_errors="ignore", container_options=options)
    except av.error.ArgumentError:  # EINVAL: the probe found a container not on the whitelist
        article = "an" if kind == "audio" else "a"
        raise input_error(field, f"not {article} {kind} format ({KIND_NAMES[kind]})") from None
    except (av.FFmpegError, ValueError, OSError, UnicodeDecodeError):
        raise input_error(field, f"not a decodable {kind} file") from None


def declared_seconds(stream, container) -> float | None:
    """How long a stream says it lasts (its own duration, else the container's), or None."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def checked_video_stream(container, *, field: str, max_pixels: int, max_frames: int, max_s: float,
                         no_video: str = "has no video stream"):
    """The first video stream of `container`, its declared size and length checked against the caps:
    ``(stream, width, height, declared seconds or None)``.

    Raises:
        WorkerError: INVALID_INPUT naming `field`: no video stream (`no_video` says so), no
            picture size, a declared size over `max_pixels`, more than `max_frames` frames or
            `max_s` seconds.
    """
    if not container.streams.video:
        raise input_error(field, no_video)
    stream = container.streams.video[0]
    width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
    if width <= 0 or height <= 0:
        raise input_error(field, "declares no picture size")
    if width * height > max_pixels:
        raise input_error(field, f"declares {width}x{height} pixels, more than the {max_pixels} pixel limit")
    if stream.frames and stream.frames > max_frames:
        raise input_error(field, f"declares {stream.frames} frames, more than the {max_frames} frame limit")
    declared = declared_seconds(stream, container)
    if declared is not None and declared > max_s:
        raise input_error(field, f"lasts {declared:.1f} s, more than the {max_s:g} s limit")
    return stream, width, height, declared


def check_frame_pixels(frame: av.VideoFrame, *, field: str, index: int, max_pixels: int) -> None:
    """Refuse a decoded picture (the `index`-th, from 1) over `max_pixels` pixels (width x height).

    Raises:
        WorkerError: INVALID_INPUT naming `field`, the frame and its size.
    """
    if frame.width * frame.height > max_pixels:
        raise input_error(field, f"frame {index} is {frame.width}x{frame.height} pixels, more than the "
                                 f"{max_pixels} pixel limit (the size changes inside the file)")


def decoded_frames(container, stream, *, field: str, kind: str, budget: InputBudget,
                   max_frames: int | None = None, max_pixels: int | None = None) -> Iterator:
    """The decoded frames of `stream` (`av.AudioFrame` or `av.VideoFrame`), checked one by one.

    Before each frame the job's `budget` is checked; each video frame's width x height is checked
    against `max_pixels` (`check_frame_pixels`); more than `max_frames` frames are refused.

    Raises:
        WorkerError: INVALID_INPUT naming `field` (over a cap; "not a decodable <kind>" when FFmpeg
            fails mid-stream); TIMEOUT or CANCELLED from `budget`.
    """
    count = 0
    frames = container.decode(stream)
    while True:
        budget.check(field, f"decoding its {kind}")
        try:
            frame = next(frames)
        except StopIteration:
            return
        except av.FFmpegError:
            raise input_error(field, f"not a decodable {kind} file (truncated or corrupt)") from None
        count += 1
        if max_frames is not None and count > max_frames:
            raise input_error(field, f"has more than the {max_frames} frame limit")
        if max_pixels is not None:
            check_frame_pixels(frame, field=field, index=count, max_pixels=max_pixels)
        yield frame
