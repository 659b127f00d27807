"""The tiny video decoders paint blocks, not per-pixel noise (what keeps the suite's encoding cheap).

A random decoder's per-pixel noise made SaveVideo the slowest node of every tiny LTX-2 job (H.264
cannot compress noise); `ltx_worker.tinymodels.mosaic_decoder` makes each latent cell one colour,
and LTX-Video's block-mean decoder (one colour per 8x8 pixels) runs at the narrowest width it
allows. Checked in ComfyUI's own VAE code (a subprocess in the session's ComfyUI tree), on a
random latent.
"""

from __future__ import annotations

import json
import subprocess
import sys

from ltx_worker.config import PROJECT_ROOT

PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import torch
from ltx_worker.tinymodels import common, ltx2_checkpoint, ltxv
common._prepare_comfy()
from comfy.ldm.lightricks.vae.causal_video_autoencoder import VideoVAE

def vae(config, state):
    model = VideoVAE(config=json.loads(json.dumps(config)))
    model.load_state_dict({k: v.float() for k, v in state.items() if k in model.state_dict()})
    return model

state = ltx2_checkpoint.checkpoint_state_dict(2001)
ltx2 = vae(ltx2_checkpoint.VIDEO_VAE_CONFIG, {k[4:]: v for k, v in state.items() if k.startswith("vae.")})
legacy = vae(ltxv.VAE_CONFIG, ltxv._vae_state_dict())
out = {}
torch.manual_seed(0)
for name, model, cell in (("ltx2", ltx2, 32), ("ltxv", legacy, 8)):  # LTX-Video: 8x8-pixel block means
    with torch.no_grad():
        video = model.decode(torch.randn(1, 128, 3, 2, 3))[0]  # (3, frames, height, width)
    first = video[:, 1:9]  # the frames of the second latent frame
    cells = video[:, :, ::cell, ::cell].repeat_interleave(cell, 2).repeat_interleave(cell, 3)
    out[name] = {"shape": list(video.shape), "std": float(video.std()),
                 "within_frames": float((first - first[:, :1]).abs().max()),
                 "within_cells": float((video - cells).abs().max()),
                 "frame_0_vs_1": float((video[:, 0] - video[:, 1]).abs().mean()),
                 "width": model.decoder.conv_out.in_channels}
print(json.dumps(out))
"""


def test_every_latent_cell_decodes_to_one_colour_held_for_its_frames(comfyui_dir):
    run = subprocess.run([sys.executable, "-c", PROBE, str(PROJECT_ROOT)], cwd=comfyui_dir,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    facts = json.loads(run.stdout.strip().splitlines()[-1])
    for name, got in facts.items():
        assert got["shape"] == [3, 17, 64, 96], (name, got)  # 1 + 8 + 8 frames, 32 px per cell
        assert got["within_frames"] < 1e-4 and got["within_cells"] < 1e-4, (name, got)
        assert got["frame_0_vs_1"] > 0.01 and got["std"] > 0.05, (name, got)  # and not flat
    assert facts["ltxv"]["width"] == 48
