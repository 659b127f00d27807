"""Small audio and video files the tests make themselves (PyAV, no fixtures on disk).

* `tone_wav`: a sine tone, or a speech-like signal (a 140 Hz buzz with a syllable envelope);
* `moving_video`: frames of a white square crossing a dark background, MP4/H.264 by default;
* `wav_header_with_rate`: a WAV whose header declares any sample rate (1 Hz included);
* `png_bytes`: a tiny PNG, for "an image where audio is expected".

Hostile files (issue: malformed media must be INVALID_INPUT, never INTERNAL), made for real:

* `png_with_exif`, `webp_with_exif`, `jpeg_with_exif`: a 1x1 picture whose EXIF block is
  whatever bytes are given (``b"xx"``: Pillow's ``exif_transpose`` raises SyntaxError);
* `concatenated_audio`: two encoded streams (ADTS-AAC, MP2) back to back, so the sample rate or
  channel layout changes mid-stream;
* `size_switching_video`: an AVI/MKV (MJPEG) whose header declares a small picture and whose
  later frames are large;
* `sdp_text`, `ffconcat_text`, `hls_text`: FFmpeg's reference and network "containers".
"""

from __future__ import annotations

import io
import math
import struct
import wave
import zlib
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


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_exif(exif: bytes = b"xx") -> bytes:
    """A 1x1 PNG written byte by byte with an ``eXIf`` chunk of `exif` (about 80 bytes)."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xc8\x1e\x1e")  # filter byte + one red pixel
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"eXIf", exif)
            + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b""))


def webp_with_exif(exif: bytes = b"xx") -> bytes:
    """A 1x1 WebP whose EXIF chunk holds `exif` after the ``Exif\\0\\0`` marker (about 70 bytes)."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 30, 30)).save(buf, format="WEBP", exif=b"Exif\x00\x00" + exif)
    return buf.getvalue()


def jpeg_with_exif(exif: bytes = b"xx") -> bytes:
    """An 8x8 JPEG with an APP1 ``Exif`` segment of `exif` spliced in after the SOI marker."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="JPEG")
    plain = buf.getvalue()
    segment = b"Exif\x00\x00" + exif
    return plain[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + plain[2:]


def _encoded_tone(fmt: str, codec: str, rate: int, layout: str, seconds: float) -> bytes:
    channels = av.AudioLayout(layout).nb_channels
    t = np.arange(int(rate * seconds)) / rate
    mono = (0.3 * np.sin(2 * math.pi * 440 * t) * 32767).astype("<i2")
    frame = av.AudioFrame.from_ndarray(np.repeat(mono, channels)[None, :], format="s16", layout=layout)
    frame.rate = rate
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()


def concatenated_audio(first: tuple[int, str], second: tuple[int, str], fmt: str = "adts", codec: str = "aac",
                       seconds: float = 1.0) -> bytes:
    """Two streams of `seconds` of a tone, `first` then `second` ((rate Hz, layout) each),
    encoded apart in a headerless format (``adts`` AAC, ``mp2``) and joined: a file whose rate
    or channel layout changes mid-stream."""
    return _encoded_tone(fmt, codec, *first, seconds) + _encoded_tone(fmt, codec, *second, seconds)


def size_switching_video(small: tuple[int, int] = (64, 64), large: tuple[int, int] = (1920, 1088),
                         frames: tuple[int, int] = (3, 3), fmt: str = "avi") -> bytes:
    """An MJPEG video whose stream header declares `small` (`frames[0]` frames of it) and whose
    next `frames[1]` frames, made by a second encoder, are `large`: the size changes in-band."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream("mjpeg", rate=24)
        stream.width, stream.height, stream.pix_fmt = *small, "yuvj420p"
        large_encoder = av.CodecContext.create("mjpeg", "w")
        large_encoder.width, large_encoder.height, large_encoder.pix_fmt = *large, "yuvj420p"
        large_encoder.time_base = Fraction(1, 24)
        for i in range(frames[0] + frames[1]):
            encoder, (width, height) = (stream, small) if i < frames[0] else (large_encoder, large)
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), 40 + 30 * i, np.uint8), format="rgb24")
            frame = frame.reformat(format="yuvj420p")
            frame.pts, frame.time_base = i, Fraction(1, 24)
            for packet in encoder.encode(frame):
                packet.stream, packet.pts, packet.dts, packet.time_base = stream, i, i, Fraction(1, 24)
                out.mux(packet)
    return buf.getvalue()


def sdp_text(port: int) -> bytes:
    """An SDP session description: FFmpeg's sdp demuxer binds UDP `port` and `port`+1 on 127.0.0.1
    and waits for RTP packets."""
    return (f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=hostile\nc=IN IP4 127.0.0.1\nt=0 0\n"
            f"m=audio {port} RTP/AVP 0\na=rtpmap:0 PCMU/8000\n").encode()


def ffconcat_text(*names: str) -> bytes:
    """An ``ffconcat`` script listing `names`: FFmpeg's concat demuxer opens them (relative to
    the working directory)."""
    return ("ffconcat version 1.0\n" + "".join(f"file {name}\n" for name in names)).encode()


def hls_text(segment_url: str) -> bytes:
    """An HLS playlist (m3u8) of one segment at `segment_url`."""
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{segment_url}\n#EXT-X-ENDLIST\n".encode()


def edit_clip(frames: int = 120, fps: float = 24, size: tuple[int, int] = (96, 64), *, audio: bool = True,
              rotation: int = 0, times: list[float] | None = None, freq: float = 440.0) -> bytes:
    """A smooth source for edits (issue 19): a soft diagonal gradient drifting slowly (x264 keeps
    it near lossless, so PSNR outside an edit's new frames measures the splice), frame i's index
    in 7 binary blocks along the top eighth (read back by `frame_index`), and, with `audio`, a
    sine at `freq` Hz at 48 kHz for the whole picture. `times` gives frame times (seconds, on a
    millisecond clock) for a variable-rate clip; `rotation` sets a phone clip's display matrix."""
    width, height = size
    buf = io.BytesIO()
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    with av.open(buf, mode="w", format="mp4") as out:
        rate = Fraction(fps).limit_denominator(1001)
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "10"}
        clock = Fraction(1, 1000) if times is not None else 1 / rate
        stream.codec_context.time_base = clock
        if rotation:
            stream.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=48000) if audio else None
        band = max(2, height // 8)
        for i in range(frames):
            phase = i / 48.0
            img = np.empty((height, width, 3), np.float32)
            img[..., 0] = 110 + 60 * np.sin(xx / width * 3.0 + phase)
            img[..., 1] = 110 + 60 * np.sin(yy / height * 3.0 - phase)
            img[..., 2] = 120 + 40 * np.sin((xx + yy) / (width + height) * 4.0 + phase * 0.5)
            for bit in range(7):
                block = slice(bit * width // 7, (bit + 1) * width // 7)
                img[:band, block] = 250 if i >> bit & 1 else 5
            frame = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24").reformat(format="yuv420p")
            frame.pts = round(times[i] * 1000) if times is not None else i
            frame.time_base = clock
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if sound is not None:
            seconds = (times[-1] + 1 / fps) if times is not None else frames / fps
            t = np.arange(int(48000 * seconds)) / 48000
            mux_sound(out, sound, (0.3 * np.sin(2 * math.pi * freq * t)).astype(np.float32))
    return buf.getvalue()


def mux_sound(out, stream, samples: np.ndarray, rate: int = 48000) -> None:
    """Encode mono float `samples` (-1..1) on the audio `stream` of the output container `out`
    in 1024-sample frames, then flush the encoder."""
    samples = samples.reshape(1, -1)
    for start in range(0, samples.shape[1], 1024):
        chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]),
                                           format="fltp", layout="mono")
        chunk.sample_rate, chunk.pts = rate, start
        for packet in stream.encode(chunk):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def frame_index(rgb: np.ndarray) -> int:
    """The index `edit_clip` wrote into a frame (its top blocks), read back from RGB pixels."""
    height, width = rgb.shape[:2]
    band = max(2, height // 8)
    bits = [rgb[: max(1, band - 1), bit * width // 7 + 1:(bit + 1) * width // 7 - 1].mean() > 128 for bit in range(7)]
    return sum(1 << b for b, on in enumerate(bits) if on)
