"""An edit's output: the source with the window's new frames and samples spliced in (issue 19).

The edit graph decodes its whole window, but LTX's video VAE is causal: every frame decoded after
the section depends on the new latents too (docs/edits.md, measured). So only the new frames are
taken from ComfyUI's MP4; every other frame of the output is the source's own (the normalised
source, re-encoded once), and every sample outside the new part is the source's. New frames are
scaled from the graph's size back to the output's.

Sound: a retake that replaces the sound takes the generated samples over the section's time with a
short linear crossfade at both edges (`CROSSFADE_S`, inside the section); an extend appends (or
prepends) the generated samples of the new part; a silent source gives a silent output.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from .edit_job import AUDIO_RATE, EditInputs, read_sound, source_frames
from .errors import ErrorCode, WorkerError
from .input_budget import InputBudget

#: Length of the crossfade at each edge of a retaken sound section (seconds).
CROSSFADE_S = 0.01
#: The output's encode: near transparent for the source's frames (PSNR >= 35 dB on smooth video).
_X264 = {"crf": "16", "preset": "veryfast", "colorprim": "bt709", "transfer": "bt709", "colormatrix": "bt709"}


def _generated(window_mp4: Path, budget: InputBudget) -> tuple[Iterator[av.VideoFrame], np.ndarray | None]:
    """ComfyUI's window MP4: its frames (an iterator) and its sound as float32 ``[2, n]`` at
    `AUDIO_RATE` (`edit_job.read_sound`; None without a sound track)."""
    data = window_mp4.read_bytes()
    with av.open(io.BytesIO(data)) as container:
        has_sound = bool(container.streams.audio)
    sound = read_sound(data, field="video_url", seconds=None, budget=budget) if has_sound else None
    return source_frames(data), sound


def _take(samples: np.ndarray, start: int, count: int) -> np.ndarray:
    """`count` samples of `samples` from `start`, padded with silence past its end."""
    part = samples[:, max(0, start):max(0, start) + count]
    return np.pad(part, ((0, 0), (0, count - part.shape[1]))) if part.shape[1] < count else part


def spliced_sound(edit: EditInputs, generated: np.ndarray | None) -> np.ndarray | None:
    """The output's samples (float32 ``[2, n]`` at `AUDIO_RATE`), or None for a silent source."""
    source, w = edit.audio, edit.window
    if source is None:
        return None
    generated = generated if generated is not None else np.zeros((2, 0), np.float32)

    def at(frame: int) -> int:
        return int(round(frame / w.fps * AUDIO_RATE))

    if w.kind == "extend_end":
        return np.concatenate([source, _take(generated, at(w.context_before), at(w.new_frames))], axis=1)
    if w.kind == "extend_start":
        return np.concatenate([_take(generated, 0, at(w.new_frames)), source], axis=1)
    if edit.replace == "video":
        return source
    out = source.copy()
    a, b = at(w.new_first), min(source.shape[1], at(w.new_last + 1))
    new = _take(generated, a - at(w.window_first), b - a)
    fade = min(int(CROSSFADE_S * AUDIO_RATE), (b - a) // 2)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32) if fade else np.zeros(0, np.float32)
    mix = np.ones(b - a, np.float32)
    mix[:fade], mix[len(mix) - fade:] = ramp, ramp[::-1]
    out[:, a:b] = new * mix + out[:, a:b] * (1.0 - mix)
    return out


def splice_edit(edit: EditInputs, window_mp4: Path, out_path: Path, budget: InputBudget) -> dict:
    """Write the output MP4 to `out_path`: the source's frames with the new ones from ComfyUI's
    `window_mp4` (scaled to the source's size), and the spliced sound (`spliced_sound`).

    Returns:
        what was spliced: output frames, seconds, new frames taken, audio samples.

    Raises:
        WorkerError: OUTPUT_MISSING when ComfyUI's MP4 has fewer frames than the window's new
            part; TIMEOUT or CANCELLED from `budget`.
    """
    w = edit.window
    generated, gen_sound = _generated(window_mp4, budget)
    for _ in range(edit.new_in_window):  # the window's context before the new frames
        next(generated, None)
    take_video = edit.replace in ("video", "audio_and_video")
    sound = spliced_sound(edit, gen_sound)
    width, height = edit.facts.out_width, edit.facts.out_height
    source = source_frames(edit.source_mp4)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        video = out.add_stream("libx264", rate=edit.rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = dict(_X264)
        video.codec_context.time_base = 1 / edit.rate
        audio = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo") if sound is not None else None
        for index in range(w.output_frames):
            budget.check("video_url", "splicing the edit into the source")
            new = w.new_first <= index <= w.new_last
            frame = None
            if new and take_video:
                frame = next(generated, None)
                if frame is None:
                    raise WorkerError(ErrorCode.OUTPUT_MISSING, f"the edit graph's video has fewer than the "
                                                                f"window's {w.new_frames} new frames")
            if not (new and w.kind != "retake"):
                kept = next(source)  # a retake's section drops the source's own frame
                frame = frame if frame is not None else kept
            picture = frame.reformat(width=width, height=height, format="yuv420p")
            picture.pts, picture.time_base = index, 1 / edit.rate
            for packet in video.encode(picture):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        if audio is not None:
            step = 1024
            for start in range(0, sound.shape[1], step):
                chunk = np.ascontiguousarray(sound[:, start:start + step])
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts = AUDIO_RATE, start
                for packet in audio.encode(frame):
                    out.mux(packet)
            for packet in audio.encode(None):
                out.mux(packet)
    out_path.write_bytes(buf.getvalue())
    return {"output_frames": w.output_frames, "output_s": round(w.output_frames / w.fps, 3),
            "new_frames": w.new_frames, "audio_samples": int(sound.shape[1]) if sound is not None else 0}
