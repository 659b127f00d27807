"""Tiny, randomly initialised LTX-2.3 weights under the real LTX-2.3 file names.

LTX-2.3 (22B) ships all-in-one checkpoints like LTX-2 (CheckpointLoaderSimple,
LTXVAudioVAELoader and LTXAVTextEncoderLoader all read the checkpoint). ComfyUI 0.33.0 has no
2.3 branch in its model detection: the file loads as ``ltxav`` and every 2.3 layout flag comes
from the safetensors metadata ``config.transformer`` (FACTS.md, "Tiny LTX-2.3 and LTX-2.5 on
ComfyUI 0.33.0"). The sizes are ltx2's; the differences from LTX-2:

* transformer: gated attention (``*.to_gate_logits.*``), cross-attention AdaLN (9-row
  scale/shift tables, ``prompt_adaln_single``, ``audio_prompt_adaln_single``, per-block
  ``{,audio_}prompt_scale_shift_table``), gated connectors, and the caption projection moved out
  of the DiT: ``caption_proj_before_connector`` with ``caption_projection_first_linear: false``;
  the connectors then run at the cross-attention widths (video 48, audio 16);
* text projection ``text_embedding_projection.{video,audio}_aggregate_embed.{weight,bias}`` in
  the checkpoint: the tiny Gemma 3's ``hidden_size * (num_hidden_layers + 1)`` = 96 stacked
  hidden states to the video and audio cross-attention widths (ComfyUI's ``dual_linear``);
* the video decoder paints a mosaic (:mod:`.mosaic_decoder`), as LTX-2's does, so videos encode fast;
* vocoder with bandwidth extension (``vocoder.vocoder.*``, ``vocoder.bwe_generator.*``,
  ``vocoder.mel_stft.*``): 16 kHz HiFi-GAN, then a BWE generator to 48 kHz whose STFT and mel
  buffers hold a real Hann-windowed DFT basis and a Slaney mel filterbank.

================================================================  ==========================
file (folder under models/)                                       contents
================================================================  ==========================
checkpoints/ltx-2.3-22b-dev-fp8.safetensors, ...-distilled-fp8    ``model.diffusion_model.*``,
                                                                  ``vae.*``, ``audio_vae.*``,
                                                                  ``vocoder.*``, text projection;
                                                                  metadata ``config``
loras/ltx_2.3_22b_distilled_1.1_lora_dynamic_fro09_avg_rank_111   LoRA over every linear of the
_bf16.safetensors                                                 transformer blocks (bf16)
loras/ltx2.3-transition.safetensors                               the named transition LoRA, the
                                                                  same shape, own seed (bf16)
loras/ltx-2.3-id-lora-talkvid-3k.safetensors                      the ID-LoRA, likewise
latent_upscale_models/ltx-2.3-spatial-upscaler-x2-1.1             ltx2's tiny upscaler, own seed
text_encoders/gemma_3_12B_it_fp4_mixed.safetensors                ltx2's tiny Gemma 3 (shared)
loras/gemma-3-12b-it-abliterated_lora_rank64_bf16.safetensors     the enhancer's LoRA: every
                                                                  linear of the tiny Gemma 3
                                                                  layers, keys
                                                                  ``text_encoders.gemma3_12b.
                                                                  transformer.model.layers.*``
================================================================  ==========================

The abliterated LoRA's key names are the generic ComfyUI form (comfy/lora.py,
``model_lora_keys_clip``) for the LTXAV text encoder that LTXAVTextEncoderLoader builds; the key
names of the published file were not checked. Importing this module has no side effects and
does not import ComfyUI; only the builders do.
"""

from __future__ import annotations

import json
import pathlib
from typing import TYPE_CHECKING

from . import gemma3, ltx2, ltx2_checkpoint
from .common import _prepare_comfy, _randomised, _save, lora_state_dict, lora_targets
from .mosaic_decoder import mosaic_video_decoder

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: Transformer config (metadata ``config["transformer"]``): ltx2's sizes plus the 2.3 flags.
#: With the caption projection outside the DiT, each connector's width (heads x head dim)
#: must equal its cross-attention width.
TRANSFORMER_CONFIG: dict = {
    **ltx2_checkpoint.TRANSFORMER_CONFIG,
    "apply_gated_attention": True,
    "connector_apply_gated_attention": True,
    "cross_attention_adaln": True,
    "caption_proj_before_connector": True,
    "caption_projection_first_linear": False,
    "connector_num_attention_heads": 2,
    "connector_attention_head_dim": 24,
    "audio_connector_num_attention_heads": 2,
    "audio_connector_attention_head_dim": 8,
}

#: Vocoder with bandwidth extension (metadata ``config["vocoder"]``; ComfyUI picks
#: VocoderWithBWE when it has a "bwe" key). The base vocoder is ltx2's (16 kHz); the BWE
#: generator reads a 64-bin mel of each stereo channel (its input is fixed at 2 x 64) and its
#: upsample rates multiply to hop_length x 48000 / 16000 = 240.
VOCODER_CONFIG: dict = {
    "vocoder": ltx2_checkpoint.VOCODER_CONFIG,
    "bwe": {
        "resblock_kernel_sizes": [3],
        "upsample_rates": [10, 24],
        "upsample_kernel_sizes": [20, 48],
        "resblock_dilation_sizes": [[1, 3, 5]],
        "upsample_initial_channel": 16,
        "stereo": True,
        "resblock": "1",
        "activation": "snake",
        "use_bias_at_final": True,
        "input_sampling_rate": 16000,
        "output_sampling_rate": 48000,
        "hop_length": 80,
        "n_fft": 256,
        "num_mels": 64,
    },
}

CHECKPOINTS: dict[str, int] = {
    "ltx-2.3-22b-distilled-fp8.safetensors": 2311,
    "ltx-2.3-22b-dev-fp8.safetensors": 2312,
}
DISTILLED_LORA_FILE = "ltx_2.3_22b_distilled_1.1_lora_dynamic_fro09_avg_rank_111_bf16.safetensors"
UPSCALER_FILE = "ltx-2.3-spatial-upscaler-x2-1.1.safetensors"
ENHANCER_LORA_FILE = "gemma-3-12b-it-abliterated_lora_rank64_bf16.safetensors"
#: The named transition LoRA (template_ltx2_3_style_transition; models.txt lora=ltx23-transition).
TRANSITION_LORA_FILE = "ltx2.3-transition.safetensors"
#: The ID-LoRA of video_ltx2_3_id_lora (models.txt profile ltx23-id-lora).
ID_LORA_FILE = "ltx-2.3-id-lora-talkvid-3k.safetensors"
DISTILLED_LORA_RANK = 8
ENHANCER_LORA_RANK = 4
_LORA_BASE = "ltx-2.3-22b-dev-fp8.safetensors"
_DISTILLED_LORA_SEED = 2331
_TRANSITION_LORA_SEED = 2332
_ID_LORA_SEED = 2333
_UPSCALER_SEED = 2341
_ENHANCER_LORA_SEED = 2351


def write_tiny_ltx23(models_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the tiny LTX-2.3 files under ``models_dir/<folder>/<file>`` (see the module table).

    Both checkpoints (dev and distilled differ only in their seed), the distilled LoRA, the
    x2 upscaler, the Gemma 3 text encoder shared with LTX-2 (the same bytes ltx2 writes) and the
    prompt enhancer's abliterated Gemma LoRA. About 8.5 MB, a few seconds on two CPU cores,
    byte-for-byte reproducible with the same torch, sentencepiece and safetensors. Existing files
    are overwritten. Requires a ComfyUI tree with LTX-2.3 support (0.33.0 has it) importable.

    Returns:
        The paths written, in a fixed order.
    """
    _prepare_comfy()
    import torch

    models_dir = pathlib.Path(models_dir)
    written: list[pathlib.Path] = []
    meta = {"config": json.dumps({"transformer": TRANSFORMER_CONFIG, "vae": ltx2_checkpoint.VIDEO_VAE_CONFIG,
                                  "audio_vae": ltx2_checkpoint.AUDIO_VAE_CONFIG, "vocoder": VOCODER_CONFIG},
                                 sort_keys=True)}
    lora_base = None
    for name, seed in CHECKPOINTS.items():
        state = checkpoint_state_dict(seed)
        written.append(_save(state, models_dir / "checkpoints" / name, meta))
        if name == _LORA_BASE:
            lora_base = state
    assert lora_base is not None
    lora = lora_state_dict(lora_targets(lora_base), DISTILLED_LORA_RANK, _DISTILLED_LORA_SEED)
    written.append(_save(_to(lora, torch.bfloat16), models_dir / "loras" / DISTILLED_LORA_FILE, {}))
    transition = lora_state_dict(lora_targets(lora_base), DISTILLED_LORA_RANK, _TRANSITION_LORA_SEED)
    written.append(_save(_to(transition, torch.bfloat16), models_dir / "loras" / TRANSITION_LORA_FILE, {}))
    id_lora = lora_state_dict(lora_targets(lora_base), DISTILLED_LORA_RANK, _ID_LORA_SEED)
    written.append(_save(_to(id_lora, torch.bfloat16), models_dir / "loras" / ID_LORA_FILE, {}))
    written.append(_save(ltx2.upscaler_state_dict(_UPSCALER_SEED),
                         models_dir / "latent_upscale_models" / UPSCALER_FILE,
                         {"config": json.dumps(ltx2.UPSCALER_CONFIG, sort_keys=True)}))
    gemma = gemma3.gemma_state_dict(ltx2._GEMMA_SEED)
    written.append(_save(gemma, models_dir / "text_encoders" / ltx2.TEXT_ENCODER_FILE, {}))
    enhancer_lora = lora_state_dict(gemma3_lora_targets(gemma), ENHANCER_LORA_RANK, _ENHANCER_LORA_SEED)
    written.append(_save(_to(enhancer_lora, torch.bfloat16), models_dir / "loras" / ENHANCER_LORA_FILE, {}))
    from .control_ltx23 import write_tiny_control_ltx23  # the control templates' IC-LoRA and MoGe

    written += write_tiny_control_ltx23(models_dir)
    return written


def checkpoint_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """State dict of a tiny LTX-2.3 checkpoint (float32): :func:`av_parts` with
    :data:`TRANSFORMER_CONFIG` and :data:`VOCODER_CONFIG` under ``model.diffusion_model.``,
    ``vae.``, ``audio_vae.``, ``vocoder.``, plus the dual text projection."""
    parts = av_parts(TRANSFORMER_CONFIG, VOCODER_CONFIG)
    state = {prefix + key: value for prefix, part in parts.items() for key, value in part.items()}
    state.update(text_projection_shapes(TRANSFORMER_CONFIG, gemma3.GEMMA_TEXT_CONFIG))
    state = mosaic_video_decoder(_randomised(state, seed), "vae.")
    return fix_vocoder_buffers(state, VOCODER_CONFIG, "vocoder.")


def av_parts(transformer_config: dict, vocoder_config: dict, *, keyframes: bool = False) -> dict[str, dict]:
    """Unrandomised state dicts of the LTXAV transformer, video VAE, audio VAE and vocoder, keyed
    by the checkpoint prefix (``model.diffusion_model.``, ``vae.``, ``audio_vae.``, ``vocoder.``).

    ``keyframes`` adds ``keyframes_abs_pos_embedding`` (LTX-2.5; ComfyUI switches it on by the
    key's presence). Requires ComfyUI importable.
    """
    _prepare_comfy()
    import comfy.ldm.lightricks.av_model as av_model
    import comfy.ldm.lightricks.vae.audio_vae as audio_vae
    import comfy.ldm.lightricks.vae.causal_video_autoencoder as video_vae
    import comfy.ops
    import torch

    kwargs = {k: v for k, v in transformer_config.items() if not k.startswith("_")}
    with torch.device("cpu"):
        transformer = av_model.LTXAVModel(dtype=torch.float32, device="cpu", operations=comfy.ops.disable_weight_init,
                                          use_keyframes_abs_pos_embedding=keyframes, **kwargs)
        vae = video_vae.VideoVAE(config=ltx2_checkpoint.VIDEO_VAE_CONFIG)
        audio = audio_vae.AudioVAE(metadata={"config": {"audio_vae": ltx2_checkpoint.AUDIO_VAE_CONFIG,
                                                        "vocoder": vocoder_config}})
    return {
        "model.diffusion_model.": transformer.state_dict(),
        "vae.": vae.state_dict(),
        "audio_vae.": audio.autoencoder.state_dict(),
        "vocoder.": audio.vocoder.state_dict(),
    }


def text_projection_shapes(transformer_config: dict, text_config: dict) -> dict[str, torch.Tensor]:
    """Empty tensors shaped as the ``dual_linear`` text projection for a text encoder of
    `text_config` (``hidden_size``, ``num_hidden_layers``) feeding `transformer_config`'s
    cross-attention widths (ComfyUI's ``lt.sd_detect`` reads the output widths from them)."""
    import torch

    width = text_config["hidden_size"] * (text_config["num_hidden_layers"] + 1)
    out = {}
    for name, dim in (("video", transformer_config["cross_attention_dim"]),
                      ("audio", transformer_config["audio_cross_attention_dim"])):
        out[f"text_embedding_projection.{name}_aggregate_embed.weight"] = torch.empty(dim, width)
        out[f"text_embedding_projection.{name}_aggregate_embed.bias"] = torch.empty(dim)
    return out


def fix_vocoder_buffers(state: dict, vocoder_config: dict, prefix: str) -> dict:
    """Put a real causal-STFT basis and mel filterbank into the BWE vocoder's buffers
    (``<prefix>mel_stft.*``; random values there would make the bandwidth extension meaningless).
    The forward basis is the Hann-windowed DFT, real rows then imaginary rows; the inverse basis
    is unused by ComfyUI and gets its pseudo-inverse. Returns `state` (changed in place)."""
    import torch
    import torchaudio

    bwe = vocoder_config.get("bwe")
    if bwe is None:
        return state
    n_fft, sample_rate = bwe["n_fft"], bwe["input_sampling_rate"]
    n_freqs = n_fft // 2 + 1
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    freqs, times = torch.arange(n_freqs, dtype=torch.float64), torch.arange(n_fft, dtype=torch.float64)
    angle = 2 * torch.pi * torch.outer(freqs, times) / n_fft
    forward = torch.cat([torch.cos(angle), -torch.sin(angle)]) * window
    inverse = torch.linalg.pinv(forward).T
    mel = torchaudio.functional.melscale_fbanks(n_freqs, 0.0, sample_rate / 2.0, bwe["num_mels"], sample_rate,
                                                norm="slaney", mel_scale="slaney").T
    state[prefix + "mel_stft.stft_fn.forward_basis"] = forward.unsqueeze(1).float().contiguous()
    state[prefix + "mel_stft.stft_fn.inverse_basis"] = inverse.unsqueeze(1).float().contiguous()
    state[prefix + "mel_stft.mel_basis"] = mel.float().contiguous()
    return state


def gemma3_lora_targets(gemma: dict) -> dict[str, tuple[int, int]]:
    """LoRA targets of the tiny Gemma 3 (ltx2's text encoder file): every 2-D weight under
    ``model.layers.``, named as ComfyUI maps CLIP LoRA keys for the LTXAV text encoder
    (``text_encoders.gemma3_12b.transformer.model.layers.0.self_attn.q_proj``) -> (out, in)."""
    targets = {}
    for key in sorted(gemma):
        value = gemma[key]
        if key.startswith("model.layers.") and key.endswith(".weight") and value.ndim == 2:
            targets["text_encoders.gemma3_12b.transformer." + key[: -len(".weight")]] = tuple(value.shape)
    return targets


def _to(state: dict, dtype) -> dict:
    """`state` with every tensor cast to `dtype`."""
    return {key: value.to(dtype).contiguous() for key, value in state.items()}
