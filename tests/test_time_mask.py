"""The pack's time-range noise mask (issue 19's building block for retake and extend).

The frame arithmetic (custom_nodes/ltx_worker_nodes/timemask.py) on its own, then the node
LTXWTimeMask in the session's REAL ComfyUI: registered with its inputs, and run on a video and an
audio latent made by ComfyUI's own LTX nodes, the mask read back from the node's output through
a SaveLatent of it (the test's graph multiplies nothing: it saves the mask as the samples).
"""

from __future__ import annotations

import re

import pytest
import torch

from support import pack_module

TM = pack_module("timemask")


def test_latent_frames_hold_pixel_frames_as_the_causal_vae_packs_them():
    assert list(TM.pixel_frames_of(0)) == [0]
    assert list(TM.pixel_frames_of(1)) == list(range(1, 9))
    assert list(TM.pixel_frames_of(6)) == list(range(41, 49))


def test_video_section_on_the_latent_grid_marks_exactly_its_latent_frames():
    # 49 frames at 24 fps = 7 latent frames; pixel frames 25..40 are latent frames 4 and 5
    assert TM.video_frames_inside(7, 24.0, 25 / 24, 16 / 24) == [False, False, False, False, True, True, False]
    # a section off the grid marks every latent frame one of its pixel frames falls in
    assert TM.video_frames_inside(7, 24.0, 1.0, 1.0) == [False, False, False, True, True, True, True]
    assert TM.video_frames_inside(7, 25.0, 0.0, 0.04) == [True] + [False] * 6  # pixel frame 0 alone
    assert TM.video_frames_inside(7, 24.0, 5.0, 1.0) == [False] * 7  # past the end
    assert TM.video_frames_inside(7, 24.0, 1.0, 0.0) == [False] * 7


def test_audio_section_marks_the_latent_frames_it_overlaps():
    flags = TM.audio_frames_inside(50, 25.0, 0.5, 0.5)  # 2 s at 25 latents per second
    assert [j for j, x in enumerate(flags) if x] == list(range(12, 25))
    assert TM.audio_frames_inside(50, 25.0, 0.0, 2.0) == [True] * 50


def test_mask_shapes_are_exact_per_modality():
    video = torch.zeros(2, 128, 7, 4, 6)
    mask = TM.mask_for(video, [False, True, True, False, False, False, True])
    assert mask.shape == (2, 1, 7, 1, 1) and mask.dtype == torch.float32
    assert mask[1, 0, :, 0, 0].tolist() == [0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    audio = torch.zeros(1, 8, 5, 16)
    mask = TM.mask_for(audio, [True, False, False, False, True], value_inside=0.75, value_outside=0.25)
    assert mask.shape == (1, 1, 5, 16) and mask[0, 0, :, 3].tolist() == [0.75, 0.25, 0.25, 0.25, 0.75]
    with pytest.raises(ValueError):
        TM.mask_for(video, [True] * 6)
    with pytest.raises(ValueError):
        TM.video_frames_inside(7, 0.0, 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# the node in the session's ComfyUI
# ---------------------------------------------------------------------------------------------

def _mask_values(text: str) -> list[float]:
    """The noise mask's values from PreviewAny's text of the node's output latent (a dict printed
    with torch's repr: the mask is small enough to be printed whole)."""
    body = text.split("'noise_mask': tensor(", 1)[1]
    return [float(v) for v in re.findall(r"-?\d+\.\d*(?:e-?\d+)?", body.split(")", 1)[0])]


def _run(comfy, graph: dict) -> str:
    from ltx_worker.comfy.client import ComfyClient

    client = ComfyClient(comfy.url)
    prompt_id, entry = client.run_prompt(graph, timeout_s=60)
    client.forget(prompt_id)
    return entry["outputs"]["3"]["text"][0]


def test_the_node_masks_video_and_audio_latents_in_comfyui(comfy):
    info = comfy.object_info.get("LTXWTimeMask")
    assert info, f"LTXWTimeMask is not loaded; see {comfy.log_path}"
    assert list(info["input"]["required"]) == ["latent", "start_s", "duration_s", "fps", "inside", "outside"]
    assert list(info["input"]["optional"]) == ["audio_vae"] and info["output"] == ["LATENT"]
    if not comfy.has_ltx2:
        pytest.skip(f"ComfyUI {comfy.version} has no LTX-2 audio VAE loader")
    # 49 frames at 24 fps: 7 latent frames; pixel frames 25..40 are latent frames 4 and 5
    video = {"1": {"class_type": "EmptyLTXVLatentVideo", "inputs": {"width": 64, "height": 64, "length": 49,
                                                                     "batch_size": 1}},
             "2": {"class_type": "LTXWTimeMask", "inputs": {"latent": ["1", 0], "start_s": 25 / 24,
                                                            "duration_s": 16 / 24, "fps": 24.0, "inside": 1.0,
                                                            "outside": 0.0}},
             "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}}}
    assert _mask_values(_run(comfy, video)) == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]
    # the audio latent of 49 frames at 24 fps: the audio VAE's rate decides its frames
    audio = {"0": {"class_type": "LTXVAudioVAELoader", "inputs": {"ckpt_name": "ltx-2.3-22b-dev-fp8.safetensors"}},
             "1": {"class_type": "LTXVEmptyLatentAudio", "inputs": {"frames_number": 49, "frame_rate": 24,
                                                                     "batch_size": 1, "audio_vae": ["0", 0]}},
             "2": {"class_type": "LTXWTimeMask", "inputs": {"latent": ["1", 0], "start_s": 0.5, "duration_s": 0.5,
                                                            "fps": 24.0, "inside": 1.0, "outside": 0.0,
                                                            "audio_vae": ["0", 0]}},
             "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}}}
    values = _mask_values(_run(comfy, audio))
    frames = round(49 / 24 * 25)  # the LTX audio VAE: 16 kHz, hop 160, downsampled 4 = 25 a second
    bins = len(values) // frames
    assert len(values) == frames * bins
    per_frame = [values[i * bins] for i in range(frames)]
    assert all(values[i * bins:(i + 1) * bins] == [per_frame[i]] * bins for i in range(frames))
    assert per_frame == [1.0 if x else 0.0 for x in TM.audio_frames_inside(frames, 25.0, 0.5, 0.5)]
