"""An edit's source video, checked and normalised (ltx_worker/edit_source.py; issue 19).

Sources are made here with PyAV (small pictures, 80 frames): constant and variable frame rate,
25 fps, a phone clip's display rotation, 10-bit, with and without sound; hostile ones are other
files or broken MP4s. Each is normalised and the MP4 written is decoded again.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from ltx_worker.edit_source import MIN_SOURCE_FRAMES, prepare_edit_source
from ltx_worker.errors import WorkerError

from media_samples import mux_sound, png_bytes, tone_wav

CAPS = {"max_size": (1280, 720), "max_s": 120.0, "max_frames": 3000, "max_pixels": 3840 * 2160}


def source(frames: int = 80, fps: int = 24, size=(96, 64), *, times=None, rotation: int = 0,
           pix_fmt: str = "yuv420p", audio: bool = False) -> bytes:
    """An MP4: a bright band at the picture's left edge, and frame i's index written in binary as
    7 black or white blocks across the right half, so the frame shown at any time can be read
    back. Frame times are i / fps, or `times` (seconds, on a millisecond clock)."""
    width, height = size
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        clock = Fraction(1, 1000) if times is not None else Fraction(1, fps)
        stream.codec_context.time_base = clock
        if rotation:
            stream.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=48000) if audio else None
        for i in range(frames):
            img = np.full((height, width, 3), 60, dtype=np.uint8)
            img[:, : width // 8] = 250
            for bit in range(7):
                block = slice(width // 2 + bit * (width // 16), width // 2 + (bit + 1) * (width // 16))
                img[:, block] = 255 if i >> bit & 1 else 0
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=pix_fmt)
            frame.pts = round(times[i] * 1000) if times is not None else i
            frame.time_base = clock
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if sound is not None:
            mux_sound(out, sound, (np.sin(np.arange(48000 * frames // fps) * 0.05) * 0.3).astype(np.float32))
    return buf.getvalue()


def decoded(mp4: bytes) -> tuple[list[np.ndarray], float]:
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)], float(stream.average_rate)


def levels(frames: list[np.ndarray]) -> list[int]:
    """The source frame index each frame shows (its binary blocks, see `source`)."""
    out = []
    for f in frames:
        w = f.shape[1]
        bits = [f[:, w // 2 + b * (w // 16) + 1: w // 2 + (b + 1) * (w // 16) - 1].mean() > 128 for b in range(7)]
        out.append(sum(1 << b for b, on in enumerate(bits) if on))
    return out


def test_a_constant_rate_source_is_kept_frame_for_frame():
    mp4, facts = prepare_edit_source(source(audio=True), field="video_url", **CAPS)
    frames, fps = decoded(mp4)
    assert (facts.frames, facts.fps, fps, len(frames)) == (80, 24.0, 24.0, 80)
    assert levels(frames) == list(range(80))
    assert (facts.out_width, facts.out_height, facts.rotation, facts.variable_frame_rate) == (96, 64, 0, False)
    assert facts.has_audio and facts.converted_from is None and not facts.scaled
    assert facts.to_dict()["duration_s"] == round(80 / 24, 3)


def test_25_fps_and_a_silent_source():
    mp4, facts = prepare_edit_source(source(fps=25), field="video_url", **CAPS)
    assert facts.fps == 25.0 and decoded(mp4)[1] == 25.0 and not facts.has_audio


def test_a_phone_clips_rotation_is_applied_to_the_pixels():
    mp4, facts = prepare_edit_source(source(rotation=90), field="video_url", **CAPS)
    frames, _ = decoded(mp4)
    assert facts.rotation == 90 and (facts.out_width, facts.out_height) == (64, 96)
    first = frames[0].astype(int)
    assert first.shape[:2] == (96, 64)
    # the band at the left edge is at the bottom once turned 90 degrees counter-clockwise
    assert first[-8:].mean() > 200 and first[:8].mean() < 100


def test_a_variable_rate_source_is_resampled_to_its_average_rate():
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.uniform(0.5, 1.5, 100) / 24)
    times -= times[0]
    mp4, facts = prepare_edit_source(source(100, times=times.tolist()), field="video_url", **CAPS)
    frames, fps = decoded(mp4)
    assert facts.variable_frame_rate and len(frames) == facts.frames
    assert abs(len(frames) - (times[-1] * fps + 1)) <= 1
    for i, level in enumerate(levels(frames)):  # frame i shows the source frame on screen at i / fps
        shown = int(np.searchsorted(np.round(times, 3), (i + 0.5) / fps, side="left") - 1)
        assert level == shown, (i, level, shown)


def test_ten_bit_is_converted_and_a_large_picture_scaled_down():
    mp4, facts = prepare_edit_source(source(pix_fmt="yuv420p10le"), field="video_url", **CAPS)
    assert facts.converted_from and facts.converted_from.startswith("yuv420p10")
    with av.open(io.BytesIO(mp4)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
    _, facts = prepare_edit_source(source(), field="video_url", **{**CAPS, "max_size": (64, 36)})
    assert facts.scaled and (facts.out_width, facts.out_height) == (54, 36)


def test_what_cannot_be_an_edit_source_is_refused_naming_the_field():
    good = source()
    cases = [
        (tone_wav(2.0), "video_url: not a video format"),
        (png_bytes(), "video_url: not a video format"),
        (good[: len(good) // 3], "video_url: "),
        (source(40), f"video_url: has 40 frames; an edit needs at least {MIN_SOURCE_FRAMES}"),
    ]
    for data, words in cases:
        with pytest.raises(WorkerError, match="^" + words) as err:
            prepare_edit_source(data, field="video_url", **CAPS)
        assert err.value.code.value == "INVALID_INPUT"
    for caps, words in (({"max_pixels": 64 * 64}, "declares 96x64 pixels, more than"),
                        ({"max_s": 2.0}, "lasts 3.3 s, more than the 2 s limit"),
                        ({"max_frames": 50}, "more than the 50 frame limit")):
        with pytest.raises(WorkerError, match=words):
            prepare_edit_source(good, field="video_url", **{**CAPS, **caps})
