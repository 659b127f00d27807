"""A job's audio and control video: probed with PyAV under caps, re-encoded under the worker's name.

SPEC.md ("Job input, version 2"): every file is decoded before it reaches ComfyUI, with caps on
duration, pixels, frames and sample rate, and a file that is not what its field says is refused
naming the field. The caps are checked on what the file *declares* first (stream headers: no
decoding of a 10,000-frame or 8K video just to refuse it), then again while decoding (a file
may lie). What ComfyUI gets is always a file the worker wrote:

* `prepare_audio`: a 16-bit PCM WAV of the whole track (≤ MAX_AUDIO_S; ComfyUI's
  TrimAudioDuration cuts ``audio_start_s``.. as the official image+audio template does);
* `prepare_control_video`: an H.264 MP4 at the job's fps, sampled by timestamp from the source
  (sample and hold), no larger than needed to cover the job's width x height, at most the
  frames the job needs (or, when ``duration`` was left out, as many as the source lasts).

Files are opened by `media_open.open_media` (only the accepted containers are parsed, no
protocol is opened) and decoded through `media_open.decoded_frames`, which checks the job's
deadline and cancel before every frame and every decoded picture's size.

Errors are `WorkerError(INVALID_INPUT)` whose message starts with the field name, except TIMEOUT
and CANCELLED from the job's `InputBudget`.
"""

from __future__ import annotations

import io
import wave
from dataclasses import asdict, dataclass

import av

from .input_budget import NO_BUDGET, InputBudget
from .inputs import input_error
from .media_open import checked_video_stream, declared_seconds, decoded_frames, open_media
from .video_resample import HoldWriter, even_side

#: Sample rates a sound track may have (Hz): telephone to studio.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8_000, 192_000
MAX_CHANNELS = 8


@dataclass(frozen=True)
class AudioFacts:
    """What the audio file was: container format, codec, sample rate (Hz) and channels (of its
    first frame, which the WAV keeps), its length (s), where the video starts in it (s) and how
    much of it the video uses (s)."""

    format: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float
    start_s: float
    used_s: float

    def to_dict(self) -> dict:
        """The facts as the result's ``settings.inputs.audio``."""
        return _rounded(self)


@dataclass(frozen=True)
class ControlVideoFacts:
    """What the control video was and what the worker made of it: source format, codec, pixel
    size, frame rate, frames decoded and length (s); frames written at the job's fps and the
    written pixel size."""

    format: str
    codec: str
    width: int
    height: int
    fps: float
    frames_decoded: int
    duration_s: float
    frames_written: int
    written_width: int
    written_height: int

    def to_dict(self) -> dict:
        """The facts as the result's ``settings.inputs.control_video``."""
        return _rounded(self)


def _rounded(facts) -> dict:
    """A facts dataclass as a dict, seconds and rates rounded to 3 decimals."""
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(facts).items()}


class _Pcm:
    """Decoded audio frames as 16-bit PCM at the first frame's rate (Hz) and layout (mono, or
    stereo for 2+ channels): `rate`, `channels` (of the first frame), `samples` (per channel).

    ADTS-AAC and MPEG audio may change sample rate or channel layout from one frame to the next
    (two streams concatenated); a resampler serves one input setup, so on a change the old one is
    flushed and a new one made for the frame, the output unchanged. Every frame's rate and channel
    count are held to the caps the stream's header was held to.
    """

    def __init__(self, field: str) -> None:
        self.field = field
        self.rate = self.channels = self.samples = 0
        self.layout = "mono"
        self.data = bytearray()
        self._setup: tuple | None = None
        self._resampler: av.AudioResampler | None = None

    @property
    def out_channels(self) -> int:
        """Channels of the PCM written: 1 or 2."""
        return 2 if self.layout == "stereo" else 1

    def add(self, frame: av.AudioFrame) -> None:
        """Append one decoded frame (any rate, layout or sample format within the caps).

        Raises:
            WorkerError: INVALID_INPUT naming the field for a frame outside 8..192 kHz or 1..8 channels.
        """
        setup = (frame.format.name, frame.layout.name, frame.sample_rate)
        if setup != self._setup:
            if not MIN_SAMPLE_RATE <= frame.sample_rate <= MAX_SAMPLE_RATE:
                raise input_error(self.field, f"has frames at {frame.sample_rate} Hz, outside "
                                              f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz")
            if not 1 <= frame.layout.nb_channels <= MAX_CHANNELS:
                raise input_error(self.field, f"has frames of {frame.layout.nb_channels} channels; "
                                              f"1..{MAX_CHANNELS} are accepted")
            if self._setup is None:  # the first frame sets the output
                self.rate, self.channels = frame.sample_rate, frame.layout.nb_channels
                self.layout = "stereo" if self.channels >= 2 else "mono"
            self.flush()
            self._setup = setup
            self._resampler = av.AudioResampler(format="s16", layout=self.layout, rate=self.rate)
        self._take(self._resampler.resample(frame))

    def flush(self) -> None:
        """Drain the resampler's buffered samples (at the end, and before a setup change)."""
        if self._resampler is not None:
            self._take(self._resampler.resample(None))
            self._resampler = None

    def _take(self, frames: list) -> None:
        for out in frames:
            self.data += bytes(out.planes[0])[: out.samples * self.out_channels * 2]
            self.samples += out.samples


def prepare_audio(data: bytes, *, field: str, start_s: float, max_s: float, min_s: float,
                  budget: InputBudget = NO_BUDGET) -> tuple[bytes, AudioFacts]:
    """Check a sound track and re-encode it as a 16-bit PCM WAV (mono, or stereo for 2+ channels)
    at its first frame's rate; a rate or layout change mid-stream is resampled to the first frame's.

    Args:
        data: the fetched file.
        field: the job field, for errors (``audio_url``).
        start_s: where the video starts in the track (``audio_start_s``).
        max_s: longest track accepted (declared, then decoded).
        min_s: shortest part after `start_s` the video may follow.
        budget: the job's deadline and cancel, checked before every decoded frame.

    Returns:
        (WAV bytes, `AudioFacts`); ``used_s`` is the length after `start_s`.

    Raises:
        WorkerError: INVALID_INPUT naming `field`: not audio (an image, a video with pictures),
            an unknown container, a sample rate outside 8..192 kHz, more than 8 channels (in the
            header or any frame), longer than `max_s`, shorter than `min_s` after `start_s`, or
            undecodable (truncated); TIMEOUT or CANCELLED from `budget`.
    """
    container = open_media(data, field, "audio")
    with container:
        pictures = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
        if pictures:
            raise input_error(field, "is a video or an image, not a sound track")
        if not container.streams.audio:
            raise input_error(field, "has no audio stream")
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        channels = int(stream.codec_context.channels or 0)
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise input_error(field, f"sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz")
        if not 1 <= channels <= MAX_CHANNELS:
            raise input_error(field, f"{channels} channels; 1..{MAX_CHANNELS} are accepted")
        declared = declared_seconds(stream, container)
        if declared is not None and declared > max_s:
            raise input_error(field, f"lasts {declared:.1f} s, more than the {max_s:g} s limit")
        pcm = _Pcm(field)
        for frame in decoded_frames(container, stream, field=field, kind="audio", budget=budget):
            pcm.add(frame)
            if pcm.samples > max_s * pcm.rate:
                raise input_error(field, f"lasts more than the {max_s:g} s limit")
        pcm.flush()
        if not pcm.rate:  # no frame decoded: no samples, at the header's rate
            pcm.rate, pcm.channels = rate, channels
        codec = stream.codec_context.name
        fmt = container.format.name
    duration = pcm.samples / pcm.rate
    if pcm.samples > max_s * pcm.rate:
        raise input_error(field, f"lasts {duration:.1f} s, more than the {max_s:g} s limit")
    used = duration - start_s
    if used < min_s:
        raise input_error(field, f"lasts {duration:.2f} s; after audio_start_s {start_s:g} s that leaves "
                                 f"{max(used, 0.0):.2f} s, less than the {min_s:g} s a video can follow")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out_wav:
        out_wav.setnchannels(pcm.out_channels)
        out_wav.setsampwidth(2)
        out_wav.setframerate(pcm.rate)
        out_wav.writeframes(bytes(pcm.data))
    return buf.getvalue(), AudioFacts(fmt, codec, pcm.rate, pcm.channels, duration, start_s, used)


def prepare_control_video(
    data: bytes, *, field: str, fps: int, frames: int, cover: tuple[int, int],
    max_s: float, max_frames: int, max_pixels: int, budget: InputBudget = NO_BUDGET,
) -> tuple[bytes, ControlVideoFacts]:
    """Check a control video and re-encode its first `frames` frames at `fps` as H.264 MP4.

    Frames are sampled by presentation time (frame i shows what the source shows at i/fps from
    its first frame, up to and including the source's end), so a 30 fps source makes a 24 fps
    control of the same motion, and a 2.0 s source gives the 49 frames of a 2 s video at 24 fps. The picture
    is scaled down (never up) to the smallest size covering `cover` (the job's width x height,
    which ComfyUI then crops to) and to even sides.

    Args:
        data: the fetched file. field: the job field, for errors (``control_video_url``).
        fps: the job's frame rate. frames: the most frames to write (the job's frame count, or
            its cap when the length follows the video).
        cover: (width, height) of the job's video.
        max_s, max_frames, max_pixels: caps on the source's declared length, declared and
            decoded frame count, and declared and every decoded frame's size (width x height).
        budget: the job's deadline and cancel, checked before every decoded and written frame.

    Returns:
        (MP4 bytes, `ControlVideoFacts`); ``frames_written`` may be below `frames` when the
        source is shorter (the caller decides whether that is enough).

    Raises:
        WorkerError: INVALID_INPUT naming `field`: not a video (audio, an image), a size over
            `max_pixels` (declared, or of any decoded frame), more than `max_frames` frames or
            `max_s` seconds, undecodable; TIMEOUT or CANCELLED from `budget`.
    """
    container = open_media(data, field, "video")
    with container:
        stream, width, height, declared = checked_video_stream(
            container, field=field, max_pixels=max_pixels, max_frames=max_frames, max_s=max_s,
            no_video="has no video stream (a sound track is not a control video)")
        source_fps = float(stream.average_rate or stream.guessed_rate or fps)
        scale = min(1.0, max(cover[0] / width, cover[1] / height))
        out_w, out_h = even_side(width * scale), even_side(height * scale)
        buf = io.BytesIO()
        decoded = 0
        first: float | None = None
        with av.open(buf, mode="w", format="mp4") as out:
            writer = HoldWriter(out, fps, out_w, out_h, budget=budget, field=field, doing="re-encoding it",
                                limit=frames, options={"crf": "14", "preset": "veryfast"})
            try:
                for frame in decoded_frames(container, stream, field=field, kind="video", budget=budget,
                                            max_frames=max_frames, max_pixels=max_pixels):
                    decoded += 1
                    t = frame.time if frame.time is not None else decoded / source_fps
                    first = t if first is None else first
                    writer.until(t - first)
                    writer.hold(frame)
                    if writer.full:
                        break
            except av.FFmpegError:  # decoding errors are turned into INVALID_INPUT already; this is the encoder
                raise input_error(field, "not a decodable video (could not be re-encoded)") from None
            if decoded == 0:
                raise input_error(field, "has no decodable frames")
            held = writer.held
            last_time = (held.time if held is not None and held.time is not None else decoded / source_fps)
            # the last frame is held to the source's end, inclusive: a 2.0 s source gives 2 s * fps + 1
            # frames, the 8k+1 count a 2 s video needs (half a target frame of tolerance)
            writer.until(last_time - (first or 0.0) + 1.0 / source_fps + 0.5 / fps)
            writer.flush()
            written = writer.written
        fmt, codec = container.format.name, stream.codec_context.name
    source_s = declared if declared is not None else decoded / source_fps
    return buf.getvalue(), ControlVideoFacts(fmt, codec, width, height, source_fps, decoded, source_s,
                                             written, out_w, out_h)
