"""Edits end to end: retake and extend of a source video (issue 19).

Each job runs through the worker's handler and the session's REAL ComfyUI 0.33.0 on tiny random
weights (`ltx-2.3-edit`: the distilled LTX-2.3 checkpoint, the pack's LTXWTimeMask). Sources are
made here (`media_samples.edit_clip`: a smooth drifting gradient, each frame's index in binary
blocks, a 440 Hz tone) and sent as data: URIs. What is measured against the source:

* outside the new frames the output is the source's own frames (their index blocks read back in
  order) at PSNR >= 35 dB after the output's encode; inside, the tiny weights' noise (far lower);
* the sound outside a retaken section is the source's tone, within the AAC encoder's tolerance;
* the join: the mean absolute difference between the last new frame and the next source frame
  (extend at the start; the reverse at the end), against that of two consecutive source frames.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import math

import av
import numpy as np
import pytest

from ltx_worker.contract.output import JobOutput

from media_samples import edit_clip, frame_index
from support import data_uri, run_job

PROMPT = "the camera drifts slowly over a calm coloured sea"
MODEL = "ltx-2.3-edit"


def _served(handler) -> None:
    if (MODEL, "fast", "edit") not in handler.served_variants:
        pytest.skip(f"ComfyUI {handler.comfyui_version} here does not run {MODEL} fast")


def _read(path: str) -> tuple[list[np.ndarray], float, np.ndarray | None]:
    """An MP4's frames (RGB), frame rate and sound (mono float at 48 kHz, or None)."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        fps = float(stream.average_rate)
    with av.open(path) as container:
        sound = None
        if container.streams.audio:
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=48000)
            chunks = [o.to_ndarray()[0] for f in container.decode(container.streams.audio[0])
                      for o in resampler.resample(f)]
            sound = np.concatenate(chunks)
    return frames, fps, sound


def _source_frames(clip: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(clip)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 pictures, dB (100 for equal ones)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 pictures (0..255)."""
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def _edit(handler, clip: bytes, job_id: str, **fields) -> dict:
    out = run_job(handler, {"model": MODEL, "prompt": PROMPT, "seed": 3,
                            "video_url": data_uri(clip, "video/mp4"), **fields}, job_id=job_id)
    assert "error" not in out, out
    JobOutput.model_validate(out)
    print(job_id, {k: round(v, 1) for k, v in out["timings"].items()})
    return out


def test_a_retake_keeps_every_frame_and_sample_outside_its_section(job_handler):
    """Retake of 2 s in a 10 s 16:9 source with sound (audio_and_video by default)."""
    _served(job_handler)
    clip = edit_clip(240, 24, (96, 56))
    out = _edit(job_handler, clip, "edit-retake", retake={"start_s": 4.0, "duration_s": 2.0})
    edit = out["settings"]["edit"]
    first, last = edit["frames"]
    assert edit["kind"] == "retake" and edit["replace"] == "audio_and_video"
    assert first <= 96 and last >= 143 and (last - first + 1) % 8 == 0, edit
    frames, fps, sound = _read(out["video_path"])
    source = _source_frames(clip)
    assert len(frames) == 240 and fps == 24.0 and frames[0].shape == (56, 96, 3)
    outside = [i for i in range(240) if not first <= i <= last]
    assert [frame_index(frames[i]) for i in outside] == [i % 128 for i in outside]
    kept = min(psnr(frames[i], source[i]) for i in outside)
    inside = max(psnr(frames[i], source[i]) for i in range(first, last + 1))
    print(f"retake PSNR outside >= {kept:.1f} dB, inside <= {inside:.1f} dB")
    assert kept >= 35.0 and inside < kept - 10
    tone = 0.3 * np.sin(2 * math.pi * 440 * np.arange(len(sound)) / 48000)
    a, b = int(first / 24 * 48000), int((last + 1) / 24 * 48000)
    outside_err = np.sqrt(np.mean((sound[4800:a - 4800] - tone[4800:a - 4800]) ** 2))
    print(f"retake sound RMS error outside the section {outside_err:.4f} (tone RMS 0.212)")
    assert outside_err < 0.02 and len(sound) == pytest.approx(10 * 48000, abs=2048)
    assert b <= len(sound)


def _join(frames: list[np.ndarray], source: list[np.ndarray], new: int, kept: int) -> tuple[float, float]:
    """The join figure: mean absolute difference between output frame `new` (the new part's
    edge) and output frame `kept` (the source's next to it), and the mean over the source of two
    consecutive frames' difference."""
    consecutive = float(np.mean([mad(source[i], source[i + 1]) for i in range(len(source) - 1)]))
    return mad(frames[new], frames[kept]), consecutive


def test_an_extend_at_the_end_of_a_silent_rotated_25_fps_phone_clip(job_handler):
    """A 9:16 phone clip (stored 96x56, display rotation 90), 25 fps, silent: 2 s more after it
    from 2 s of context; the picture is upright and every source frame is kept."""
    _served(job_handler)
    clip = edit_clip(100, 25, (96, 56), audio=False, rotation=90)
    out = _edit(job_handler, clip, "edit-extend-end", extend={"duration_s": 2.0, "context_s": 2.0})
    edit, facts = out["settings"]["edit"], out["settings"]["inputs"]["video"]
    assert facts["rotation"] in (90, 270) and (facts["out_width"], facts["out_height"]) == (56, 96)
    assert edit["kind"] == "extend_end" and edit["replace"] == "video" and edit["frames"][0] == 100
    assert edit["frames"][1] - 100 + 1 >= 50 and edit["context_before_frames"] <= 50
    frames, fps, sound = _read(out["video_path"])
    assert sound is None and fps == 25.0 and frames[0].shape == (96, 56, 3)
    assert len(frames) == edit["output_frames"] == edit["frames"][1] + 1
    source = [np.ascontiguousarray(np.rot90(f, 1 if facts["rotation"] == 90 else -1)) for f in _source_frames(clip)]
    assert min(psnr(frames[i], source[i]) for i in range(100)) >= 35.0
    join, consecutive = _join(frames, source, 100, 99)
    print(f"extend at the end: join {join:.1f} vs consecutive source frames {consecutive:.1f} (of 255)")


def test_an_extend_at_the_start_with_sound_from_a_variable_rate_clip(job_handler):
    """A variable-rate 16:9 clip with sound: 2 s before it, its first 2 s as the guide."""
    _served(job_handler)
    times = [round(i / 24 + (0.008 if i % 3 == 1 else 0.0), 3) for i in range(96)]
    clip = edit_clip(96, 24, (96, 56), times=times)
    out = _edit(job_handler, clip, "edit-extend-start", extend={"duration_s": 2.0, "at": "start", "context_s": 2.0})
    edit, facts = out["settings"]["edit"], out["settings"]["inputs"]["video"]
    assert facts["variable_frame_rate"] and edit["kind"] == "extend_start" and edit["frames"][0] == 0
    new = edit["frames"][1] + 1
    assert new % 8 == 1 and new >= 48 and edit["replace"] == "audio_and_video"
    frames, fps, sound = _read(out["video_path"])
    assert len(frames) == edit["output_frames"] == new + facts["frames"]
    assert [frame_index(f) for f in frames[new:]] == [i % 128 for i in range(facts["frames"])]
    assert len(sound) == pytest.approx(len(frames) / fps * 48000, abs=2048)
    tone = 0.3 * np.sin(2 * math.pi * 440 * np.arange(len(sound) - int(new / fps * 48000)) / 48000)
    tail = sound[int(new / fps * 48000):]
    assert np.sqrt(np.mean((tail[4800:-4800] - tone[4800:-4800]) ** 2)) < 0.02, "the source's sound follows"
    join, consecutive = _join(frames, _source_frames(clip), new - 1, new)
    print(f"extend at the start: join {join:.1f} vs consecutive source frames {consecutive:.1f} (of 255)")


def test_a_retake_of_the_picture_only_in_a_30_s_source_longer_than_the_frame_cap(job_handler):
    """30 s at 24 fps (720 frames, past LTX-2.3's 481-frame cap): the picture of 3 s from 20 s
    is made anew, the sound is the source's throughout."""
    _served(job_handler)
    clip = edit_clip(720, 24, (64, 40), freq=330.0)
    out = _edit(job_handler, clip, "edit-retake-30s",
                retake={"start_s": 20.0, "duration_s": 3.0, "replace": "video"})
    edit = out["settings"]["edit"]
    assert edit["replace"] == "video" and edit["window_frames"] <= 481 and edit["output_frames"] == 720
    first, last = edit["frames"]
    frames, _, sound = _read(out["video_path"])
    assert len(frames) == 720 and frames[0].shape == (40, 64, 3)
    outside = [i for i in range(720) if not first <= i <= last]
    assert [frame_index(frames[i]) for i in outside] == [i % 128 for i in outside]
    tone = 0.3 * np.sin(2 * math.pi * 330 * np.arange(len(sound)) / 48000)
    assert np.sqrt(np.mean((sound[4800:-4800] - tone[4800:-4800]) ** 2)) < 0.02, "the sound is untouched"
    print(f"retake of 3 s in a 30 s source: {out['timings']['total_s']:.1f} s in all")


def test_a_pro_retake_of_the_sound_only_keeps_every_source_frame(job_handler, monkeypatch):
    """Quality pro (the dev checkpoint, LTX2Scheduler, the family's pro guidance): `replace:
    audio` makes the section's sound anew and leaves the picture the source's. The template's
    30 steps run as 4 here (tiny weights on a CPU; the graph is otherwise the template's)."""
    if (MODEL, "pro", "edit") not in job_handler.served_variants:
        pytest.skip(f"ComfyUI {job_handler.comfyui_version} here does not run {MODEL} pro")
    clip = edit_clip(96, 24, (64, 40))
    template = job_handler.templates.get(MODEL, "pro", "edit")
    graph = copy.deepcopy(template.graph)
    graph[template.node_id(graph, "Scheduler")]["inputs"]["steps"] = 4  # time on a CPU: 4 of the 30 steps
    monkeypatch.setattr(job_handler, "_template_for", lambda job: dataclasses.replace(template, graph=graph))
    out = _edit(job_handler, clip, "edit-retake-pro", quality="pro",
                retake={"start_s": 1.0, "duration_s": 2.0, "replace": "audio"})
    assert out["settings"]["template"] == "ltx23_edit_pro" and out["settings"]["edit"]["replace"] == "audio"
    frames, _, sound = _read(out["video_path"])
    source = _source_frames(clip)
    assert len(frames) == 96 and min(psnr(f, s) for f, s in zip(frames, source, strict=True)) >= 35.0
    first, last = out["settings"]["edit"]["frames"]
    tone = 0.3 * np.sin(2 * math.pi * 440 * np.arange(len(sound)) / 48000)
    a, b = int(first / 24 * 48000) + 960, int((last + 1) / 24 * 48000) - 960
    inside = np.sqrt(np.mean((sound[a:b] - tone[a:b]) ** 2))
    assert inside > 0.05, "the section's sound is made anew (not the source's tone)"
