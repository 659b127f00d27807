"""Tiny, randomly initialised LTX-2 weights under the real LTX-2 file names.

The files let the LTX-2 workflows (text/image to video with sound, two stages with
the x2 latent upscaler, camera and distilled LoRAs) run end to end in a real ComfyUI
(0.33.0 and later, the versions with LTX-2 support) on a CPU in about a second. The
pictures and sound are noise: the weights are random, only the shapes and the code
paths are real.

Every module is built from ComfyUI's own classes (``comfy.ldm.lightricks.*``,
``comfy.text_encoders.llama``, ``comfy.clip_model``) with small sizes, filled with
seeded random numbers and saved with safetensors under the key prefixes that 0.33.0's
loaders read:

================================  ===============================================
file (folder under models/)       contents
================================  ===============================================
checkpoints/ltx-2-19b-*-fp8       ``model.diffusion_model.*`` AV transformer,
                                  ``vae.*`` video VAE, ``audio_vae.*`` audio VAE,
                                  ``vocoder.*`` vocoder,
                                  ``text_embedding_projection.aggregate_embed.*``;
                                  metadata ``{"config": json}`` with the sizes
                                  (keys ``transformer``, ``vae``, ``audio_vae``,
                                  ``vocoder``)
text_encoders/gemma_3_12B_...     tiny Gemma 3 (``model.*``, ``vision_model.*``,
                                  ``multi_modal_projector.*``) and ``spiece_model``
                                  (a sentencepiece tokenizer trained on the spot)
latent_upscale_models/...         ``LatentUpsampler``; metadata ``{"config": json}``
loras/...                         ``diffusion_model.<module>.lora_A/lora_B.weight``
================================  ===============================================

ComfyUI cannot size a text encoder from its file: it always builds Gemma 3 12B. The
test-only custom node ``tests/comfy_nodes/tiny_text_encoders`` therefore shrinks
Gemma inside the ComfyUI process with :data:`GEMMA_TEXT_CONFIG`,
:data:`GEMMA_HEAD_DIM` and :data:`GEMMA_VISION_CONFIG` from `gemma3`.

Importing this module has no side effects and does not import ComfyUI; only
:func:`write_tiny_ltx2` does.
"""

from __future__ import annotations

import json
import pathlib
from typing import TYPE_CHECKING

from .common import _prepare_comfy, _randomised, _save, lora_state_dict, lora_targets
from .gemma3 import GEMMA_TEXT_CONFIG, gemma_state_dict

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

# --------------------------------------------------------------------------------------
# Sizes. The names are those of the real configs; the values are tiny.
# --------------------------------------------------------------------------------------

#: Transformer config stored in the checkpoint metadata (``config["transformer"]``).
#: ComfyUI's detection (comfy/model_detection.py, "Lightricks ltxv" branch) counts the
#: blocks and reads attn2.to_k, then lets this dict override what it guessed (it would
#: guess ``attention_head_dim = rows // 32``, i.e. 32 heads). Rules the sizes obey
#: (comfy/ldm/lightricks/av_model.py): the text context is projected to the inner dims,
#: so ``cross_attention_dim == num_attention_heads * attention_head_dim`` and
#: ``audio_cross_attention_dim == audio_num_attention_heads * audio_attention_head_dim``;
#: the connectors work at ``caption_channels == connector_num_attention_heads *
#: connector_attention_head_dim``; the split RoPE needs every per-head width even and
#: the video inner dim a multiple of 6 (three position axes, cos and sin).
#: ``in_channels`` (128) and ``audio_in_channels`` (8 channels x 16 mel bins) are fixed
#: by the VAEs. The flags mirror the published 19B checkpoint.
TRANSFORMER_CONFIG: dict = {
    "_class_name": "AVTransformer3DModel",
    "num_layers": 2,
    "num_attention_heads": 2,
    "attention_head_dim": 24,
    "cross_attention_dim": 48,
    "audio_num_attention_heads": 2,
    "audio_attention_head_dim": 8,
    "audio_cross_attention_dim": 16,
    "caption_channels": 32,
    "connector_num_attention_heads": 2,
    "connector_attention_head_dim": 16,
    "connector_num_layers": 2,
    "in_channels": 128,
    "out_channels": 128,
    "audio_in_channels": 128,
    "audio_out_channels": 128,
    "positional_embedding_theta": 10000.0,
    "positional_embedding_max_pos": [20, 2048, 2048],
    "audio_positional_embedding_max_pos": [20],
    "causal_temporal_positioning": True,
    "use_middle_indices_grid": True,
    "timestep_scale_multiplier": 1000,
    "av_ca_timestep_scale_multiplier": 1000.0,
    "rope_type": "split",
    "frequencies_precision": "float64",
    "norm_eps": 1e-06,
}

#: Video VAE config (``config["vae"]``), read by comfy.sd.VAE for the checkpoint's
#: ``vae.*`` keys. 128 latent channels, x32 spatial (patch 4 and three x2 steps) and
#: x8 temporal compression as in LTX-2; the last decoder block must be ``res_x``
#: because ComfyUI recognises the VAE by ``decoder.up_blocks.0.res_blocks.0.conv1``.
VIDEO_VAE_CONFIG: dict = {
    "_class_name": "CausalVideoAutoencoder",
    "dims": 3,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 128,
    "encoder_blocks": [
        ["res_x", {"num_layers": 1}],
        ["compress_space_res", {"multiplier": 1}],
        ["compress_time_res", {"multiplier": 1}],
        ["compress_all_res", {"multiplier": 1}],
        ["compress_all_res", {"multiplier": 1}],
        ["res_x", {"num_layers": 1}],
    ],
    "decoder_blocks": [
        ["res_x", {"num_layers": 1, "inject_noise": False}],
        ["compress_all", {"residual": True, "multiplier": 1}],
        ["compress_all", {"residual": True, "multiplier": 1}],
        ["compress_all", {"residual": True, "multiplier": 1}],
        ["res_x", {"num_layers": 1, "inject_noise": False}],
    ],
    "encoder_base_channels": 8,
    "decoder_base_channels": 8,
    "scaling_factor": 1.0,
    "norm_layer": "pixel_norm",
    "patch_size": 4,
    "latent_log_var": "uniform",
    "use_quant_conv": False,
    # Causal (unlike the real LTX-2 VAE) so a decoded frame depends only on its own and earlier
    # latent frames: the i2v tests can then check the first frame is fixed by the start image.
    "causal_decoder": True,
    "timestep_conditioning": False,
    "spatial_padding_mode": "zeros",
}

#: Audio VAE config (``config["audio_vae"]``), read by
#: comfy.ldm.lightricks.vae.audio_vae.AudioVAE. Fixed by ComfyUI: 8 latent channels,
#: 64 mel bins (the latent has 64 / 4 = 16 frequency bins; 8 x 16 = the transformer's
#: 128 audio channels and the 128-wide latent statistics), stereo, 16 kHz, hop 160.
AUDIO_VAE_CONFIG: dict = {
    "model": {
        "params": {
            "ddconfig": {
                "double_z": True,
                "mel_bins": 64,
                "z_channels": 8,
                "resolution": 256,
                "downsample_time": False,
                "in_channels": 2,
                "out_ch": 2,
                "ch": 8,
                "ch_mult": [1, 2, 4],
                "num_res_blocks": 1,
                "attn_resolutions": [],
                "dropout": 0.0,
                "mid_block_add_attention": False,
                "norm_type": "pixel",
                "causality_axis": "height",
            },
            "sampling_rate": 16000,
        }
    },
    "preprocessing": {"stft": {"filter_length": 1024, "hop_length": 160}},
}

#: Vocoder config (``config["vocoder"]``): HiFi-GAN style, stereo (2 x 64 mel bins in).
#: The product of the upsample rates equals the mel hop (160), so the sound comes out
#: at the audio VAE's 16 kHz.
VOCODER_CONFIG: dict = {
    "resblock_kernel_sizes": [3],
    "upsample_rates": [10, 16],
    "upsample_kernel_sizes": [20, 32],
    "resblock_dilation_sizes": [[1, 3, 5]],
    "upsample_initial_channel": 16,
    "stereo": True,
    "resblock": "1",
    "activation": "snake",
    "use_bias_at_final": True,
    "use_tanh_at_final": True,
}

#: x2 spatial latent upscaler config (metadata ``config`` of the upscaler file), read
#: by LatentUpscaleModelLoader (comfy_extras/nodes_hunyuan.py) through
#: ``LatentUpsampler.from_config``. mid_channels must be a multiple of 32 (GroupNorm).
UPSCALER_CONFIG: dict = {
    "_class_name": "LatentUpsampler",
    "in_channels": 128,
    "mid_channels": 32,
    "num_blocks_per_stage": 1,
    "dims": 3,
    "spatial_upsample": True,
    "temporal_upsample": False,
    "spatial_scale": 2.0,
    "rational_resampler": False,
}

#: LoRA ranks: the distilled LoRA and each camera LoRA.
DISTILLED_LORA_RANK: int = 8
CAMERA_LORA_RANK: int = 4

#: Checkpoint file name -> random seed. The two differ only in their seed.
CHECKPOINTS: dict[str, int] = {
    "ltx-2-19b-distilled-fp8.safetensors": 2001,
    "ltx-2-19b-dev-fp8.safetensors": 2002,
}
TEXT_ENCODER_FILE = "gemma_3_12B_it_fp4_mixed.safetensors"
UPSCALER_FILE = "ltx-2-spatial-upscaler-x2-1.0.safetensors"
DISTILLED_LORA_FILE = "ltx-2-19b-distilled-lora-384.safetensors"
#: Camera moves, in the spelling of the LoRA file names.
CAMERA_MOVES: tuple[str, ...] = (
    "static",
    "dolly-in",
    "dolly-out",
    "dolly-left",
    "dolly-right",
    "jib-up",
    "jib-down",
)
_GEMMA_SEED = 2101
_UPSCALER_SEED = 2201
_DISTILLED_LORA_SEED = 2301
_CAMERA_LORA_SEED = 2400  # + index in CAMERA_MOVES

#: The transformer checkpoint the LoRAs are shaped for (both checkpoints share shapes).
_LORA_BASE_SEED = CHECKPOINTS["ltx-2-19b-dev-fp8.safetensors"]



def write_tiny_ltx2(models_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the tiny LTX-2 model files under ``models_dir/<folder>/<file>``.

    Files (real names, as in models.txt): both checkpoints
    (``checkpoints/ltx-2-19b-distilled-fp8.safetensors``,
    ``checkpoints/ltx-2-19b-dev-fp8.safetensors``), the text encoder
    (``text_encoders/gemma_3_12B_it_fp4_mixed.safetensors``), the upscaler
    (``latent_upscale_models/ltx-2-spatial-upscaler-x2-1.0.safetensors``), the
    distilled LoRA and the seven camera LoRAs (``loras/``). Existing files are
    overwritten; folders are created. About 7 MB in all, a few seconds on two CPU
    cores, byte-for-byte the same on every run with the same torch and sentencepiece.

    Requires ComfyUI's ``comfy`` package to be importable (the caller puts a ComfyUI
    tree with LTX-2 support, 0.33.0 or later, on ``sys.path``), plus ``safetensors``
    and ``sentencepiece``. When CUDA is unavailable and ComfyUI's model management
    is not yet imported, ComfyUI's ``--cpu`` option is switched on first (its import
    fails without a GPU otherwise). Everything is built and saved on the CPU in
    float32.

    Args:
        models_dir: ComfyUI's models folder (or a stand-in for it).

    Returns:
        The paths written, in a fixed order.

    Raises:
        ImportError: ComfyUI lacks LTX-2 (``comfy.ldm.lightricks.av_model``) or a
            needed package is missing.
        OSError: a file cannot be written.
    """
    _prepare_comfy()

    models_dir = pathlib.Path(models_dir)
    written: list[pathlib.Path] = []
    meta = {
        "config": json.dumps(
            {
                "transformer": TRANSFORMER_CONFIG,
                "vae": VIDEO_VAE_CONFIG,
                "audio_vae": AUDIO_VAE_CONFIG,
                "vocoder": VOCODER_CONFIG,
            },
            sort_keys=True,
        )
    }
    lora_base: dict[str, torch.Tensor] | None = None
    for name, seed in CHECKPOINTS.items():
        state = checkpoint_state_dict(seed)
        written.append(_save(state, models_dir / "checkpoints" / name, meta))
        if seed == _LORA_BASE_SEED:
            lora_base = state
    assert lora_base is not None

    written.append(
        _save(gemma_state_dict(_GEMMA_SEED), models_dir / "text_encoders" / TEXT_ENCODER_FILE, {})
    )
    written.append(
        _save(
            upscaler_state_dict(_UPSCALER_SEED),
            models_dir / "latent_upscale_models" / UPSCALER_FILE,
            {"config": json.dumps(UPSCALER_CONFIG, sort_keys=True)},
        )
    )
    targets = lora_targets(lora_base)
    written.append(
        _save(
            lora_state_dict(targets, DISTILLED_LORA_RANK, _DISTILLED_LORA_SEED),
            models_dir / "loras" / DISTILLED_LORA_FILE,
            {},
        )
    )
    for index, move in enumerate(CAMERA_MOVES):
        written.append(
            _save(
                lora_state_dict(targets, CAMERA_LORA_RANK, _CAMERA_LORA_SEED + index),
                models_dir / "loras" / camera_lora_file(move),
                {},
            )
        )
    from .control_ltx2 import write_tiny_control_ltx2  # the control templates' files (IC-LoRAs, Lotus)

    written += write_tiny_control_ltx2(models_dir)
    return written


def camera_lora_file(move: str) -> str:
    """File name of the camera LoRA for ``move`` (one of :data:`CAMERA_MOVES`).

    Raises:
        ValueError: unknown move.
    """
    if move not in CAMERA_MOVES:
        raise ValueError(f"unknown camera move {move!r}; expected one of {CAMERA_MOVES}")
    return f"ltx-2-19b-lora-camera-control-{move}.safetensors"


def checkpoint_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """State dict of a tiny LTX-2 checkpoint (float32, CPU), keys as ComfyUI reads them.

    ``model.diffusion_model.*`` (LTXAVModel built from :data:`TRANSFORMER_CONFIG`),
    ``vae.*`` (VideoVAE, :data:`VIDEO_VAE_CONFIG`), ``audio_vae.*`` (the audio
    autoencoder) and ``vocoder.*`` (LTXVAudioVAELoader maps ``audio_vae.`` to
    ``autoencoder.``), ``text_embedding_projection.aggregate_embed.weight`` (read by
    LTXAVTextEncoderLoader: Gemma's ``hidden_size * (num_hidden_layers + 1)`` stacked
    hidden states to ``caption_channels``). Requires ComfyUI importable.
    """
    _prepare_comfy()
    import comfy.ldm.lightricks.av_model as av_model
    import comfy.ldm.lightricks.vae.audio_vae as audio_vae
    import comfy.ldm.lightricks.vae.causal_video_autoencoder as video_vae
    import comfy.ops
    import torch

    ops = comfy.ops.disable_weight_init
    out: dict[str, torch.Tensor] = {}
    with torch.device("cpu"):
        transformer = av_model.LTXAVModel(
            dtype=torch.float32, device="cpu", operations=ops, **_transformer_kwargs()
        )
        vae = video_vae.VideoVAE(config=VIDEO_VAE_CONFIG)
        audio = audio_vae.AudioVAE(
            metadata={"config": {"audio_vae": AUDIO_VAE_CONFIG, "vocoder": VOCODER_CONFIG}}
        )
    parts = (
        ("model.diffusion_model.", transformer.state_dict()),
        ("vae.", vae.state_dict()),
        ("audio_vae.", audio.autoencoder.state_dict()),
        ("vocoder.", audio.vocoder.state_dict()),
    )
    for prefix, state in parts:
        for key, value in state.items():
            out[prefix + key] = value
    projection_in = GEMMA_TEXT_CONFIG["hidden_size"] * (GEMMA_TEXT_CONFIG["num_hidden_layers"] + 1)
    out["text_embedding_projection.aggregate_embed.weight"] = torch.empty(
        TRANSFORMER_CONFIG["caption_channels"], projection_in
    )
    return _randomised(out, seed)


def upscaler_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """State dict of the tiny x2 spatial latent upscaler (:data:`UPSCALER_CONFIG`)."""
    _prepare_comfy()
    import comfy.ldm.lightricks.latent_upsampler as latent_upsampler
    import comfy.ops
    import torch

    with torch.device("cpu"):
        model = latent_upsampler.LatentUpsampler.from_config(
            UPSCALER_CONFIG, operations=comfy.ops.disable_weight_init
        )
    return _randomised(dict(model.state_dict()), seed)


def _transformer_kwargs() -> dict:
    """TRANSFORMER_CONFIG as LTXAVModel keyword arguments (as ComfyUI passes them)."""
    return {k: v for k, v in TRANSFORMER_CONFIG.items() if not k.startswith("_")}
