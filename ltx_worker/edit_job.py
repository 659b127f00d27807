"""An edit job's inputs: the source fetched and normalised, the window laid out, and the files
the edit graph reads (issue 19; docs/edits.md).

`prepare_edit` fetches ``video_url`` (SSRF-safe, capped), normalises it (`edit_source`), reads its
sound as 48 kHz stereo samples, lays the window out on the latent grid (`edit_window`) and cuts
the files ComfyUI gets:

* the window's frames as an MP4 at the graph's size (each side rounded to a multiple of 32, the
  video VAE's spatial compression), the new part filled with the nearest source frame (it is
  noised from sigma 1 under the mask, so its pixels do not matter);
* the window's sound as a WAV (the source's samples, silence for the new part and for a silent
  source), which the audio VAE encodes;
* for an extend at the start, the context frames as a guide clip (8j+1 frames, LTXVAddGuide's
  length) placed at the window's end.

`EditInputs.template_values` gives the masks (window-relative seconds, `LTXWTimeMask`), and
`edit_splice.splice_edit` puts the new frames and samples into the source.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import wave
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from .config import Settings
from .edit_plan import frame_cap
from .edit_source import EditSourceFacts, prepare_edit_source
from .edit_window import EditWindow, WindowError, extend_window, retake_window
from .errors import ErrorCode, WorkerError
from .families import RenderPlan
from .input_budget import InputBudget
from .inputs import fetch_source, input_error
from .media_open import open_media

#: Sample rate and channels of an edit's sound, in and out (AAC's usual; the audio VAE resamples).
AUDIO_RATE = 48_000
#: The graph's picture sides are multiples of this (LTX's video VAE compresses space by 32).
GRAPH_MULTIPLE = 32
_WINDOW_X264 = {"crf": "12", "preset": "ultrafast"}


@dataclass
class EditInputs:
    """An edit job's checked source and the files its graph reads.

    Attributes:
        window: where the graph works and what it makes (`edit_window.EditWindow`).
        facts: the source as found and normalised (``settings.inputs.video``).
        source_mp4: the normalised source (H.264, constant rate, upright, 8-bit).
        rate: its exact frame rate.
        audio: the source's sound, float32 ``[2, samples]`` at `AUDIO_RATE`, as long as the
            picture; None for a silent source.
        replace: what is made anew: "audio_and_video", "video" or "audio".
        graph_size: (width, height) the graph runs at.
        window_mp4, window_wav: the window's frames and sound.
        guide_mp4, guide_frames: an extend at the start's context guide clip and its length.
    """

    window: EditWindow
    facts: EditSourceFacts
    source_mp4: bytes
    rate: Fraction
    audio: np.ndarray | None
    replace: str
    graph_size: tuple[int, int]
    window_mp4: bytes
    window_wav: bytes
    guide_mp4: bytes | None = None
    guide_frames: int = 0

    @property
    def new_in_window(self) -> int:
        """Where the new frames start in the window (window-relative frame index)."""
        return 0 if self.window.kind == "extend_start" else self.window.context_before

    def plan(self, plan: RenderPlan) -> RenderPlan:
        """The job's plan with the graph's size, the window's frames and the source's fps."""
        return dataclasses.replace(plan, width=self.graph_size[0], height=self.graph_size[1],
                       frames=self.window.window_frames, fps=self.window.fps)

    def template_values(self) -> dict[str, Any]:
        """The masks' template parameters (window-relative seconds): the video mask covers the
        new frames (the whole window for an extend at the start, whose context comes as a guide)
        when the picture is made anew, the audio mask the new frames' time when the sound is."""
        w, fps = self.window, self.window.fps
        start, length = self.new_in_window / fps, w.new_frames / fps
        video = self.replace in ("video", "audio_and_video")
        sound = self.replace in ("audio", "audio_and_video") and self.audio is not None
        whole = w.kind == "extend_start"
        return {"video_mask_start_s": 0.0 if whole else start,
                "video_mask_duration_s": (w.window_frames / fps if whole else length) if video else 0.0,
                "audio_mask_start_s": start, "audio_mask_duration_s": length if sound else 0.0}

    def output_settings(self) -> dict[str, Any]:
        """What the result's ``settings`` say of an edit's output (the source's size, fps and the
        output's length, not the graph's) and ``settings.edit`` (`report`)."""
        w = self.window
        return {"width": self.facts.out_width, "height": self.facts.out_height, "frames": w.output_frames,
                "fps": round(w.fps, 3), "duration": round(w.output_frames / w.fps, 3), "aspect_ratio": "source",
                "edit": self.report()}

    def report(self) -> dict[str, Any]:
        """The result's ``settings.edit``: the window (`EditWindow.report`), what was replaced and
        the graph's size."""
        return {**self.window.report(), "replace": self.replace,
                "graph_width": self.graph_size[0], "graph_height": self.graph_size[1]}


def graph_side(n: int) -> int:
    """A picture side as the graph takes it: the nearest multiple of `GRAPH_MULTIPLE`, at least one."""
    return max(GRAPH_MULTIPLE, GRAPH_MULTIPLE * round(n / GRAPH_MULTIPLE))


def _replace(job, has_audio: bool) -> str:
    if job.extend is not None:
        return "audio_and_video" if has_audio else "video"
    asked = job.retake.replace
    if asked is None:
        return "audio_and_video" if has_audio else "video"
    if asked != "video" and not has_audio:
        raise input_error("retake.replace", f"{asked!r} needs a source with sound; this one is silent (use 'video')")
    return asked


def _window(job, facts: EditSourceFacts, cap: int) -> EditWindow:
    try:
        if job.retake is not None:
            return retake_window(facts.frames, facts.fps, job.retake.start_s, job.retake.duration_s, cap)
        ext = job.extend
        return extend_window(facts.frames, facts.fps, ext.duration_s, cap, ext.at, ext.context_s)
    except WindowError as err:
        raise WorkerError(ErrorCode.INVALID_INPUT, str(err), details={"fields": [str(err)]}) from None


def read_sound(data: bytes, *, field: str, seconds: float | None, budget: InputBudget) -> np.ndarray:
    """The first sound track of a video file as float32 ``[2, n]`` at `AUDIO_RATE` (rate or layout
    changes resampled, the resampler's tail flushed), cut or padded with silence to `seconds` (the
    picture's length), or whole when `seconds` is None (ComfyUI's own MP4, `edit_splice`).

    Raises:
        WorkerError: INVALID_INPUT naming `field` when the track cannot be decoded; TIMEOUT or
            CANCELLED from `budget`.
    """
    want = None if seconds is None else int(round(seconds * AUDIO_RATE))
    chunks = []
    got = 0
    container = open_media(data, field, "video")
    with container:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        try:
            for frame in itertools.chain(container.decode(container.streams.audio[0]), [None]):  # None: flush
                budget.check(field, "reading its sound")
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
                    got += chunks[-1].shape[1]
                if want is not None and got >= want:
                    break
        except av.FFmpegError:
            raise input_error(field, "has a sound track that cannot be decoded") from None
    samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((2, 0), np.float32)
    if want is not None:
        samples = samples[:, :want]
        if samples.shape[1] < want:
            samples = np.pad(samples, ((0, 0), (0, want - samples.shape[1])))
    return samples.astype(np.float32)


def wav_bytes(samples: np.ndarray) -> bytes:
    """16-bit PCM stereo WAV at `AUDIO_RATE` of float samples ``[2, n]`` in -1..1."""
    pcm = (np.clip(samples, -1.0, 1.0).T * 32767.0).round().astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(AUDIO_RATE)
        out.writeframes(pcm.tobytes())
    return buf.getvalue()


def source_frames(mp4: bytes):
    """The frames of a normalised MP4 the worker wrote, in order (`av.VideoFrame`s)."""
    with av.open(io.BytesIO(mp4)) as container:
        yield from container.decode(container.streams.video[0])


def _cut(edit_window: EditWindow, source_mp4: bytes, rate: Fraction, size: tuple[int, int],
         guide_frames: int, budget: InputBudget) -> tuple[bytes, bytes | None]:
    """The window MP4 (and the guide clip of an extend at the start) at the graph's `size`."""
    w = edit_window
    kept = range(w.window_first, w.window_first + w.window_frames - (0 if w.kind == "retake" else w.new_frames))
    outputs = [_Mp4(rate, size)] + ([_Mp4(rate, size)] if guide_frames else [])
    window = outputs[0]
    for index, frame in enumerate(source_frames(source_mp4)):
        budget.check("video_url", "cutting the edit window")
        if index == 0 and w.kind == "extend_start":
            window.put(frame, w.new_frames)  # the new part (noised away), then the context
        if index in kept:
            window.put(frame)
            if guide_frames and index < guide_frames:
                outputs[1].put(frame)
        if index >= kept.stop - 1:
            if w.kind == "extend_end":
                window.put(frame, w.new_frames)
            break
    return window.close(), outputs[1].close() if guide_frames else None


class _Mp4:
    """An H.264 MP4 in memory at `rate`, frames scaled to `size`."""

    def __init__(self, rate: Fraction, size: tuple[int, int]) -> None:
        self.buf = io.BytesIO()
        self.out = av.open(self.buf, mode="w", format="mp4")
        self.stream = self.out.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height, self.stream.pix_fmt = size[0], size[1], "yuv420p"
        self.stream.options = dict(_WINDOW_X264)
        self.stream.codec_context.time_base = 1 / rate
        self.rate, self.size, self.count = rate, size, 0

    def put(self, frame: av.VideoFrame, times: int = 1) -> None:
        picture = frame.reformat(width=self.size[0], height=self.size[1], format="yuv420p")
        for _ in range(times):
            picture.pts, picture.time_base = self.count, 1 / self.rate
            for packet in self.stream.encode(picture):
                self.out.mux(packet)
            self.count += 1

    def close(self) -> bytes:
        for packet in self.stream.encode(None):
            self.out.mux(packet)
        self.out.close()
        return self.buf.getvalue()


def prepare_edit(job, plan: RenderPlan, settings: Settings, budget: InputBudget) -> EditInputs:
    """Fetch, check and normalise an edit job's source and cut its window (module doc).

    Args:
        job: the validated edit job (`contract.job.JobInput`). plan: its plan (the size cap in
            ``width`` x ``height``, long side first). settings: the caps (MAX_VIDEO_BYTES,
            MAX_VIDEO_S, MAX_VIDEO_FRAMES, MAX_VIDEO_PIXELS, IMAGE_FETCH_TIMEOUT_S).
        budget: the job's deadline and cancel.

    Raises:
        WorkerError: INVALID_INPUT naming the field (``video_url``: refused URL, not a video, too
            short, over a cap, undecodable; ``retake`` / ``extend.*``: a window that cannot be laid
            out; ``retake.replace``: sound asked of a silent source); INPUT_FETCH_FAILED; TIMEOUT;
            CANCELLED.
    """
    raw = fetch_source(job.video_url, field="video_url", max_bytes=settings.max_video_bytes,
                       timeout_s=settings.image_fetch_timeout_s, budget=budget)
    budget.check("video_url")
    mp4, facts = prepare_edit_source(raw, field="video_url", max_size=(plan.width, plan.height),
                                     max_s=settings.max_video_s, max_frames=settings.max_video_frames,
                                     max_pixels=settings.max_video_pixels, budget=budget)
    replace = _replace(job, facts.has_audio)
    window = _window(job, facts, frame_cap(plan.family, facts.fps))
    with av.open(io.BytesIO(mp4)) as container:
        rate = container.streams.video[0].average_rate
    audio = read_sound(raw, field="video_url", seconds=facts.frames / facts.fps, budget=budget) \
        if facts.has_audio else None
    size = (graph_side(facts.out_width), graph_side(facts.out_height))
    guide = 0
    if window.kind == "extend_start":
        guide = 8 * ((window.context_after - 1) // 8) + 1
    window_mp4, guide_mp4 = _cut(window, mp4, rate, size, guide, budget)
    sound = audio if audio is not None else np.zeros((2, int(round(facts.frames / facts.fps * AUDIO_RATE))),
                                                     np.float32)
    return EditInputs(window, facts, mp4, rate, audio, replace, size, window_mp4,
                      wav_bytes(_window_sound(window, sound)), guide_mp4, guide)


def _window_sound(w: EditWindow, sound: np.ndarray) -> np.ndarray:
    """The window's samples: the source's over its source frames, silence over the new part."""
    def at(frame: int) -> int:
        return int(round(frame / w.fps * AUDIO_RATE))

    silence = np.zeros((2, at(w.new_frames)), np.float32)
    if w.kind == "retake":
        return sound[:, at(w.window_first):at(w.window_first + w.window_frames)]
    if w.kind == "extend_end":
        return np.concatenate([sound[:, at(w.window_first):], silence], axis=1)
    return np.concatenate([silence, sound[:, :at(w.context_after)]], axis=1)
