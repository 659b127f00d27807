"""The job's video: fetch it from ComfyUI into the output folder and measure it with PyAV.

The facts returned are read from the file (container and streams), never copied from the
request, so a backend can trust them.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..errors import ErrorCode, WorkerError


@dataclass(frozen=True)
class VideoFacts:
    """What an MP4 holds, measured from the file.

    Attributes:
        width, height: pixels of the video stream.
        fps: frames per second (the stream's average rate).
        frames: video frames in the file (packets counted by demuxing).
        duration_s: frames / fps, seconds.
        has_audio: whether the file has an audio stream.
        bytes: file size.
        sha256: hex digest of the file.
        content_type: ``video/mp4``.
    """

    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    has_audio: bool
    bytes: int
    sha256: str
    content_type: str = "video/mp4"

    def to_dict(self) -> dict:
        """JSON-safe dict of the facts."""
        return asdict(self)


def probe_video(path: Path) -> VideoFacts:
    """Measure the video at `path`.

    Raises:
        WorkerError: OUTPUT_MISSING when the file is absent, empty or has no video stream.
    """
    try:
        size = path.stat().st_size
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            rate = Fraction(video.average_rate or video.guessed_rate or 0)
            has_audio = bool(container.streams.audio)
            frames = sum(1 for p in container.demux(video) if p.size)
            width, height = video.codec_context.width, video.codec_context.height
    except (OSError, IndexError, av.FFmpegError) as err:
        raise WorkerError(
            ErrorCode.OUTPUT_MISSING, f"the generated video could not be read ({type(err).__name__})"
        ) from None
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    fps = float(rate) if rate else 0.0
    return VideoFacts(
        width=width,
        height=height,
        fps=round(fps, 3),
        frames=frames,
        duration_s=round(frames / fps, 3) if fps else 0.0,
        has_audio=has_audio,
        bytes=size,
        sha256=digest.hexdigest(),
    )


def write_poster(video_path: Path, dest: Path, quality: int = 85) -> Path:
    """Save the video's first frame as a JPEG at `dest` (the poster); returns `dest`.

    Raises:
        WorkerError: OUTPUT_MISSING when no frame can be decoded.
    """
    try:
        with av.open(str(video_path)) as container:
            frame = next(container.decode(video=0))
            frame.to_image().save(dest, format="JPEG", quality=quality)
    except (OSError, StopIteration, av.FFmpegError) as err:
        raise WorkerError(
            ErrorCode.OUTPUT_MISSING, f"no poster frame could be decoded ({type(err).__name__})"
        ) from None
    return dest
