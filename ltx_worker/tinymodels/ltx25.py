"""Tiny, randomly initialised LTX-2.5 weights under the real LTX-2.5 file names.

LTX-2.5 (22B, distilled) ships split files: the transformer for UNETLoader, the video VAE and
the audio VAE for two VAELoaders, a Gemma 4 12B text encoder holding the LTX text projection for
CLIPLoader type "ltxv", a Gemma 4 E2B prompt enhancer (CLIPLoader type "ltxv" too) and a latent
upscaler. ComfyUI 0.33.0 loads the transformer as ``ltxav`` with every flag from the file's
metadata ``config.transformer`` (UNETLoader passes it); the layout is LTX-2.3's
(:data:`ltx23.TRANSFORMER_CONFIG`) without bias in the video feed-forward (``ff_bias: false``)
and with ``keyframes_abs_pos_embedding``, which ComfyUI switches on by the key's presence.

=====================================================================  ===========================
file (folder under models/)                                            contents
=====================================================================  ===========================
diffusion_models/ltx-2.5-22b-distilled-transformer-comfy-int8-convrot  ``model.diffusion_model.*``
.safetensors                                                           (plain float32, not int8);
                                                                       metadata ``config``
vae/ltx-2.5-video-vae-bf16.safetensors                                 ltx2's conv video VAE,
                                                                       mosaic decoder
                                                                       (``encoder.*``,
                                                                       ``decoder.*``, statistics),
                                                                       bf16; metadata ``vae``
vae/ltx-2.5-audio-vae-bf16.safetensors                                 ``audio_vae.*`` +
                                                                       ``vocoder.*`` (2.3's BWE
                                                                       vocoder, 48 kHz), bf16;
                                                                       metadata ``audio_vae``,
                                                                       ``vocoder``
text_encoders/gemma4-12b-with-proj-ltx-2.5-comfy-int8-convrot          tiny Gemma 4 12B (48
.safetensors                                                           layers), the projection
                                                                       ``text_embedding_projection
                                                                       .{video,audio}_aggregate_
                                                                       embed.*`` and
                                                                       ``tokenizer_json``
text_encoders/gemma4_e2b_it_int8_convrot.safetensors                   tiny Gemma 4 E2B (35
                                                                       layers, vision and audio
                                                                       towers), ``tokenizer_json``
latent_upscale_models/ltx-2.5-latent-spatial-upscaler-x2-bf16-1.0      ltx2's tiny upscaler, bf16
.safetensors
=====================================================================  ===========================

The video VAE is the conv VAE (the real file may hold the diffusion decoder, ComfyUI key
``decoder.conv_in_x_t.weight``; unchecked). The Gemma 4 sizes and tokenizer are in
:mod:`ltx_worker.tinymodels.gemma4`; the test-only node ``tests/comfy_nodes/tiny_text_encoders``
shrinks ComfyUI's Gemma 4 classes to them. Importing this module has no side effects and does
not import ComfyUI; only :func:`write_tiny_ltx25` does.
"""

from __future__ import annotations

import json
import pathlib

from . import gemma4, ltx2, ltx2_checkpoint, ltx23
from .common import _prepare_comfy, _randomised, _save
from .mosaic_decoder import mosaic_video_decoder

#: Transformer config (metadata ``config["transformer"]``): LTX-2.3's, no video FF bias.
TRANSFORMER_CONFIG: dict = {**ltx23.TRANSFORMER_CONFIG, "ff_bias": False}

TRANSFORMER_FILE = "ltx-2.5-22b-distilled-transformer-comfy-int8-convrot.safetensors"
VIDEO_VAE_FILE = "ltx-2.5-video-vae-bf16.safetensors"
AUDIO_VAE_FILE = "ltx-2.5-audio-vae-bf16.safetensors"
TEXT_ENCODER_FILE = "gemma4-12b-with-proj-ltx-2.5-comfy-int8-convrot.safetensors"
ENHANCER_FILE = "gemma4_e2b_it_int8_convrot.safetensors"
UPSCALER_FILE = "ltx-2.5-latent-spatial-upscaler-x2-bf16-1.0.safetensors"
_TRANSFORMER_SEED = 2511
_VIDEO_VAE_SEED = 2521
_AUDIO_VAE_SEED = 2522
_TEXT_ENCODER_SEED = 2531
_ENHANCER_SEED = 2541
_UPSCALER_SEED = 2551


def write_tiny_ltx25(models_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the tiny LTX-2.5 files under ``models_dir/<folder>/<file>`` (see the module table).

    About 10 MB, a few seconds on two CPU cores, byte-for-byte reproducible with the same torch,
    tokenizers, safetensors and ComfyUI tree (the Gemma 4 tokenizer is trained on the tree's
    enhancer system prompts, see :func:`gemma4.tokenizer_json`). Existing files are overwritten;
    folders are created. Requires a ComfyUI tree with LTX-2.5 support
    (``comfy/text_encoders/gemma4.py``; 0.33.0 has it) importable, plus ``safetensors``,
    ``tokenizers`` and ``torchaudio`` (ComfyUI requirements).

    Returns:
        The paths written, in a fixed order.
    """
    _prepare_comfy()
    import torch

    models_dir = pathlib.Path(models_dir)
    bf16 = torch.bfloat16
    parts = ltx23.av_parts(TRANSFORMER_CONFIG, ltx23.VOCODER_CONFIG, keyframes=True)
    written = []

    transformer = _randomised({"model.diffusion_model." + k: v for k, v in parts["model.diffusion_model."].items()},
                              _TRANSFORMER_SEED)
    written.append(_save(transformer, models_dir / "diffusion_models" / TRANSFORMER_FILE,
                         {"config": json.dumps({"transformer": TRANSFORMER_CONFIG}, sort_keys=True)}))

    video_vae = mosaic_video_decoder(_randomised(dict(parts["vae."]), _VIDEO_VAE_SEED), "")
    written.append(_save(_cast(video_vae, bf16), models_dir / "vae" / VIDEO_VAE_FILE,
                         {"config": json.dumps({"vae": ltx2_checkpoint.VIDEO_VAE_CONFIG}, sort_keys=True)}))

    audio = {prefix + k: v for prefix in ("audio_vae.", "vocoder.") for k, v in parts[prefix].items()}
    audio = ltx23.fix_vocoder_buffers(_randomised(audio, _AUDIO_VAE_SEED), ltx23.VOCODER_CONFIG, "vocoder.")
    written.append(_save(_cast(audio, bf16), models_dir / "vae" / AUDIO_VAE_FILE,
                         {"config": json.dumps({"audio_vae": ltx2_checkpoint.AUDIO_VAE_CONFIG,
                                                "vocoder": ltx23.VOCODER_CONFIG}, sort_keys=True)}))

    text_encoder = gemma4.gemma4_12b_state_dict(_TEXT_ENCODER_SEED)
    text_encoder.update(_randomised(ltx23.text_projection_shapes(TRANSFORMER_CONFIG, gemma4.GEMMA4_12B_FIELDS),
                                    _TEXT_ENCODER_SEED))
    text_encoder["tokenizer_json"] = gemma4.tokenizer_tensor()
    written.append(_save(text_encoder, models_dir / "text_encoders" / TEXT_ENCODER_FILE, {}))

    enhancer = gemma4.gemma4_e2b_state_dict(_ENHANCER_SEED)
    written.append(_save(enhancer, models_dir / "text_encoders" / ENHANCER_FILE, {}))

    written.append(_save(_cast(ltx2.upscaler_state_dict(_UPSCALER_SEED), bf16),
                         models_dir / "latent_upscale_models" / UPSCALER_FILE,
                         {"config": json.dumps(ltx2.UPSCALER_CONFIG, sort_keys=True)}))
    return written


def _cast(state: dict, dtype) -> dict:
    """`state` with every floating-point tensor cast to `dtype` (others kept)."""
    return {k: v.to(dtype).contiguous() if v.is_floating_point() else v for k, v in state.items()}
