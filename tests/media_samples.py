"""Small audio and video files the tests make themselves (PyAV, no fixtures on disk).

* `tone_wav`: a sine tone, or a speech-like signal (a 140 Hz buzz with a syllable envelope);
* `moving_video`: frames of a white square crossing a dark background, MP4/H.264 by default;
* `wav_header_with_rate`: a WAV whose header declares any sample rate (1 Hz included);
* `png_bytes`: a tiny PNG, for "an image where audio is expected".
"""

from __future__ import annotations

import io
import math
import struct
import wave
from fractions import Fraction

import av
import numpy as np
from PIL import Image


def tone_wav(seconds: float = 1.0, rate: int = 44_100, freq: float = 440.0, channels: int = 1,
             speech_like: bool = False) -> bytes:
    """A 16-bit PCM WAV of `seconds` of a sine at `freq` Hz (or a speech-like signal)."""
    t = np.arange(int(seconds * rate)) / rate
    if speech_like:
        envelope = 0.5 * (1 + np.sin(2 * math.pi * 4.0 * t))  # ~4 syllables a second
        signal = envelope * (np.sin(2 * math.pi * 140 * t) + 0.5 * np.sin(2 * math.pi * 280 * t)) / 1.5
    else:
        signal = np.sin(2 * math.pi * freq * t)
    pcm = (0.6 * signal * 32767).astype("<i2")
    if channels > 1:
        pcm = np.repeat(pcm[:, None], channels, axis=1)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buf.getvalue()


def wav_header_with_rate(rate: int, samples: int = 100) -> bytes:
    """A mono 16-bit WAV whose header says `rate` Hz (any value, e.g. 1) with `samples` of silence."""
    data = b"\0\0" * samples
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def moving_video(frames: int = 25, fps: int = 24, size: tuple[int, int] = (128, 96),
                 codec: str = "libx264", fmt: str = "mp4") -> bytes:
    """An MP4 of `frames` frames at `fps`: a white square moving left to right on dark grey."""
    width, height = size
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        side = max(4, height // 3)
        for i in range(frames):
            img = np.full((height, width, 3), 40, dtype=np.uint8)
            x = int((width - side) * i / max(1, frames - 1))
            y = (height - side) // 2
            img[y : y + side, x : x + side] = 235
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def png_bytes(size: tuple[int, int] = (64, 64), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A plain PNG image."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()
