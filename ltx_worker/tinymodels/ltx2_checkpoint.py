"""The tiny LTX-2 checkpoint: its sizes and its state dict, shared by `ltx2` and `control_ltx2`.

`ltx2` writes the checkpoints (`CHECKPOINTS`); `control_ltx2` shapes the IC-LoRAs on the dev
checkpoint and rebuilds it here when the file is not on disk. Both import this module, so
neither imports the other back (tests/test_imports.py). The sizes are documented in `ltx2`'s
module docstring.

Importing this module has no side effects and does not import ComfyUI; only
:func:`checkpoint_state_dict` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .common import _prepare_comfy, _randomised
from .gemma3 import GEMMA_TEXT_CONFIG
from .mosaic_decoder import mosaic_video_decoder

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

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
    # Listed from the pixel side; no res_x block there (the real VAE has one): at a quarter of the
    # pixel size it was 40 % of a tiny decode (0.38 of 1.39 s at 704x704x49) for no test's sake.
    "decoder_blocks": [
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

#: Checkpoint file name -> random seed. The two differ only in their seed.
CHECKPOINTS: dict[str, int] = {
    "ltx-2-19b-distilled-fp8.safetensors": 2001,
    "ltx-2-19b-dev-fp8.safetensors": 2002,
}


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
    return mosaic_video_decoder(_randomised(out, seed), "vae.")


def _transformer_kwargs() -> dict:
    """TRANSFORMER_CONFIG as LTXAVModel keyword arguments (as ComfyUI passes them)."""
    return {k: v for k, v in TRANSFORMER_CONFIG.items() if not k.startswith("_")}
