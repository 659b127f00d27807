"""Families, templates, points, GPUs: every number with the place it comes from.

Sources (short names used below):

* **ltx-core**: Lightricks' ``ltx-core`` 1.0.0 wheel on PyPI (``pip download ltx-core --no-deps``),
  ``ltx_core/model/*/model_configurator.py``: the defaults its configurators read from a
  checkpoint's ``config`` metadata (transformer 48 layers, 32 heads x 128, cross-attention 4096,
  audio 32 x 64 / 2048; audio VAE ch 128, ch_mult 1-2-4, 2 res blocks, z 8; vocoder flat config
  = LTX-2, nested ``vocoder`` + ``bwe`` = LTX-2.3 and later, resblock AMP1, snakebeta, stereo).
* **ltx-pipelines**: the ``ltx-pipelines`` 1.0.0 wheel, ``ltx_pipelines/utils/constants.py``
  (distilled sigmas, LTX_2_3_PARAMS: 30 steps, video CFG 3 / audio CFG 7, STG block 28,
  modality scale 3).
* **diffusers**: ``scripts/convert_ltx2_to_diffusers.py`` in huggingface/diffusers (commit
  17b53f08661732caca6a546295950fc4b1696ad7), the per-version configs Hugging Face wrote for the
  released checkpoints: connectors (2.0: 30 heads x 128, 2 layers; 2.3: 32 x 128 and 32 x 64,
  8 layers, gated), video VAE block layouts, vocoders, upscaler (mid 1024, 4 blocks).
* **ComfyUI**: ComfyUI 0.33.0 (``comfy/model_detection.py``: the "Lightricks ltxv" branch reads
  the block count and ``attn2.to_k`` and lets ``config.transformer`` in the file's metadata
  override everything; ``keyframes_abs_pos_embedding`` switches the LTX-2.5 keyframe embedding;
  ``comfy/sd.py``: the video VAE is read from ``config.vae``; ``na_diffusion_decoder.py``:
  LTX_24_VAE_CONFIG, the neighbourhood-attention decoder of ``ltx-2.5-video-vae-bf16``).
* **FACTS**: ../shared/reference/FACTS.md and FACTS-ltx2-families.md (file sizes, template
  settings, the 2.3/2.5 layout flags, ``ff_bias: false`` for 2.5).
* **templates**: the worker's own graphs, ``workflows/<family>/<family>_t2v_<quality>.json``
  (copies of the official ComfyUI templates, FACTS-ltx2-families.md section 1).

Cross-checks run by ``--sizes`` (bf16 bytes of the modules built here against published files):
LTX-2 transformer + text projection + video VAE + audio VAE + vocoder = 43.327 GB against
``ltx-2-19b-distilled.safetensors`` 43,333,932,124 bytes (FACTS; the rest is the file header);
upscaler 995,735,808 bytes against 995,765,578 (FACTS). The 2.3/2.5 transformer is 21.0 B
parameters plus 1.16 B in the text projections (the "22B").
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

# fmt: off
# --------------------------------------------------------------------------------------------
# Transformers (checkpoint metadata ``config.transformer``; keys as ComfyUI's LTXAVModel takes)
# --------------------------------------------------------------------------------------------

#: LTX-2 19B. Widths and depth: ltx-core LTXModelConfigurator defaults (48 layers, 32 x 128,
#: cross 4096, audio 32 x 64, audio cross 2048) = diffusers "2.0" transformer config; caption
#: channels 3840 (Gemma 3 12B hidden size, ltx-core gemma/config.py); connectors 30 heads x 128,
#: 2 layers (diffusers "2.0" connectors); rope "split" in float64, cross-attention timestep
#: multiplier 1000, causal offset 1 (diffusers "2.0").
LTX2_TRANSFORMER: dict = {
    "num_layers": 48, "num_attention_heads": 32, "attention_head_dim": 128, "cross_attention_dim": 4096,
    "audio_num_attention_heads": 32, "audio_attention_head_dim": 64, "audio_cross_attention_dim": 2048,
    "caption_channels": 3840, "in_channels": 128, "out_channels": 128,
    "audio_in_channels": 128, "audio_out_channels": 128,
    "positional_embedding_theta": 10000.0, "positional_embedding_max_pos": [20, 2048, 2048],
    "audio_positional_embedding_max_pos": [20], "timestep_scale_multiplier": 1000,
    "av_ca_timestep_scale_multiplier": 1000.0, "rope_type": "split", "frequencies_precision": "float64",
    "use_middle_indices_grid": True, "causal_temporal_positioning": True, "norm_eps": 1e-06,
    "connector_num_attention_heads": 30, "connector_attention_head_dim": 128, "connector_num_layers": 2,
}

#: LTX-2.3 22B: the 2.0 widths plus the flags FACTS lists (gated attention in blocks and
#: connectors, cross-attention AdaLN, caption projection moved into the text encoder:
#: ``caption_proj_before_connector`` with no first linear; ltx-core _V2_EXPECTED_CONFIG) and
#: diffusers "2.3" connectors (8 layers; video 32 x 128 = 4096, audio 32 x 64 = 2048).
LTX23_TRANSFORMER: dict = {
    **LTX2_TRANSFORMER,
    "apply_gated_attention": True, "connector_apply_gated_attention": True, "cross_attention_adaln": True,
    "caption_proj_before_connector": True, "caption_projection_first_linear": False,
    "connector_num_layers": 8, "connector_num_attention_heads": 32, "connector_attention_head_dim": 128,
    "audio_connector_attention_head_dim": 64,
}

#: LTX-2.5 22B: 2.3 without bias in the video feed-forward (FACTS: ``ff_bias: false``) and with
#: the keyframe position embedding (ComfyUI detection: key ``keyframes_abs_pos_embedding``).
LTX25_TRANSFORMER: dict = {**LTX23_TRANSFORMER, "ff_bias": False, "use_keyframes_abs_pos_embedding": True}

# --------------------------------------------------------------------------------------------
# Video VAEs (``config.vae``), audio VAE + vocoder (``config.audio_vae`` / ``config.vocoder``)
# --------------------------------------------------------------------------------------------

#: LTX-2 video VAE. Encoder 4-6-6-2-2 layers, channels 256-512-1024-2048 after spatial, temporal,
#: all, all; decoder 4 x (res 5 layers) with three residual x2x2x2 upsamples halving the width,
#: base 128, non-causal, reflect padding (diffusers "2.0" video VAE = ComfyUI's version-2
#: default VideoVAE config); timestep conditioning on (ltx-core VideoDecoderConfigurator default,
#: and only then do the modules add up to the 43.33 GB file, see the module docstring).
LTX2_VIDEO_VAE: dict = {
    "_class_name": "CausalVideoAutoencoder", "dims": 3, "in_channels": 3, "out_channels": 3, "latent_channels": 128,
    "encoder_blocks": [["res_x", {"num_layers": 4}], ["compress_space_res", {"multiplier": 2}],
                       ["res_x", {"num_layers": 6}], ["compress_time_res", {"multiplier": 2}],
                       ["res_x", {"num_layers": 6}], ["compress_all_res", {"multiplier": 2}],
                       ["res_x", {"num_layers": 2}], ["compress_all_res", {"multiplier": 2}],
                       ["res_x", {"num_layers": 2}]],
    "decoder_blocks": [["res_x", {"num_layers": 5, "inject_noise": False}],
                       ["compress_all", {"residual": True, "multiplier": 2}],
                       ["res_x", {"num_layers": 5, "inject_noise": False}],
                       ["compress_all", {"residual": True, "multiplier": 2}],
                       ["res_x", {"num_layers": 5, "inject_noise": False}],
                       ["compress_all", {"residual": True, "multiplier": 2}],
                       ["res_x", {"num_layers": 5, "inject_noise": False}]],
    "scaling_factor": 1.0, "norm_layer": "pixel_norm", "patch_size": 4, "latent_log_var": "uniform",
    "use_quant_conv": False, "causal_decoder": False, "timestep_conditioning": True,
    "spatial_padding_mode": "reflect",
}

#: LTX-2.3 video VAE: diffusers "2.3" (encoder 4-6-4-2-2, channels 256-512-1024-1024; decoder
#: channels 1024 -> 512 -> 512 -> 256 -> 128 through spatiotemporal /2, spatiotemporal /1,
#: temporal /2, spatial /2 (diffusers reverses every decoder list but upsample_type), non-residual,
#: layers 2 | 2-4-6-4, zero padding). ComfyUI lists decoder blocks from the output side and builds
#: them in reverse. The encoder equals ComfyUI's LTX_24_VAE_CONFIG encoder. 1.45 GB in bf16.
LTX23_VIDEO_VAE: dict = {
    **LTX2_VIDEO_VAE,
    "encoder_blocks": [["res_x", {"num_layers": 4}], ["compress_space_res", {"multiplier": 2}],
                       ["res_x", {"num_layers": 6}], ["compress_time_res", {"multiplier": 2}],
                       ["res_x", {"num_layers": 4}], ["compress_all_res", {"multiplier": 2}],
                       ["res_x", {"num_layers": 2}], ["compress_all_res", {"multiplier": 1}],
                       ["res_x", {"num_layers": 2}]],
    "decoder_blocks": [["res_x", {"num_layers": 4}], ["compress_space", {"multiplier": 2}],
                       ["res_x", {"num_layers": 6}], ["compress_time", {"multiplier": 2}],
                       ["res_x", {"num_layers": 4}], ["compress_all", {"multiplier": 1}],
                       ["res_x", {"num_layers": 2}], ["compress_all", {"multiplier": 2}],
                       ["res_x", {"num_layers": 2}]],
    "timestep_conditioning": False, "spatial_padding_mode": "zeros",
}

#: LTX-2.5 video VAE = ``ltx-2.5-video-vae-bf16.safetensors`` of the template, the
#: neighbourhood-attention diffusion decoder: ComfyUI's LTX_24_VAE_CONFIG defaults (1.47 GB in bf16).
LTX25_VIDEO_VAE: dict = {"_class_name": "CausalDiffusionVAE"}

#: Audio autoencoder, the same for all families (ltx-core AudioDecoderConfigurator defaults =
#: diffusers "2.0" and "2.3" audio VAE: ch 128, ch_mult 1-2-4, 2 res blocks, no attention, z 8,
#: 64 mel bins, 16 kHz, hop 160, causal along height).
AUDIO_VAE: dict = {
    "model": {"params": {"ddconfig": {
        "double_z": True, "mel_bins": 64, "z_channels": 8, "resolution": 256, "downsample_time": False,
        "in_channels": 2, "out_ch": 2, "ch": 128, "ch_mult": [1, 2, 4], "num_res_blocks": 2,
        "attn_resolutions": [], "dropout": 0.0, "mid_block_add_attention": False, "norm_type": "pixel",
        "causality_axis": "height"}, "sampling_rate": 16000}},
    "preprocessing": {"stft": {"filter_length": 1024, "hop_length": 160}},
}

#: LTX-2 vocoder: HiFi-GAN, 1024 channels, upsample 6-5-2-2-2 (kernels 16-15-8-4-4), resblocks
#: 3/7/11 dilations 1-3-5, snake, 24 kHz out (diffusers "2.0" vocoder; ltx-core flat config).
LTX2_VOCODER: dict = {
    "resblock_kernel_sizes": [3, 7, 11], "upsample_rates": [6, 5, 2, 2, 2], "upsample_kernel_sizes": [16, 15, 8, 4, 4],
    "resblock_dilation_sizes": [[1, 3, 5]] * 3, "upsample_initial_channel": 1024, "stereo": True,
    "resblock": "1", "activation": "snake", "use_bias_at_final": True, "use_tanh_at_final": True,
    "output_sample_rate": 24000,
}

#: LTX-2.3/2.5 vocoder with bandwidth extension 16 -> 48 kHz (diffusers "2.3": 1536 channels,
#: upsample 5-2-2-2-2-2 kernels 11-4-4-4-4-4; BWE 512 channels, 6-5-2-2-2 kernels 12-11-4-4-4,
#: hop 80, n_fft 512, 64 mels; ltx-core checks AMP1 / snakebeta / stereo). With the audio VAE:
#: 364.7 MB in bf16, the size of ``ltx-2.5-audio-vae-bf16``.
LTX23_VOCODER: dict = {
    "vocoder": {"upsample_initial_channel": 1536, "resblock": "AMP1", "upsample_rates": [5, 2, 2, 2, 2, 2],
                "resblock_kernel_sizes": [3, 7, 11], "upsample_kernel_sizes": [11, 4, 4, 4, 4, 4],
                "resblock_dilation_sizes": [[1, 3, 5]] * 3, "stereo": True, "use_tanh_at_final": False,
                "activation": "snakebeta", "use_bias_at_final": False},
    "bwe": {"upsample_initial_channel": 512, "resblock": "AMP1", "upsample_rates": [6, 5, 2, 2, 2],
            "resblock_kernel_sizes": [3, 7, 11], "upsample_kernel_sizes": [12, 11, 4, 4, 4],
            "resblock_dilation_sizes": [[1, 3, 5]] * 3, "stereo": True, "use_tanh_at_final": False,
            "activation": "snakebeta", "use_bias_at_final": False, "input_sampling_rate": 16000,
            "output_sampling_rate": 48000, "hop_length": 80, "n_fft": 512, "win_size": 512, "num_mels": 64},
}

#: x2 spatial latent upscaler (diffusers "2.0": mid 1024, 4 blocks per stage; ltx-core's default
#: 512 would be a quarter of the size): 995,735,808 bytes in bf16 against the 995,765,578-byte
#: file (FACTS). The 2.3 (1.1) and 2.5 upscalers have the same size (FACTS: 949.6 MiB; 1.00 GB).
UPSCALER: dict = {"in_channels": 128, "mid_channels": 1024, "num_blocks_per_stage": 4, "dims": 3,
                  "spatial_upsample": True, "temporal_upsample": False, "spatial_scale": 2.0,
                  "rational_resampler": False}
# fmt: on


@dataclass(frozen=True)
class TextEncoder:
    """The family's text encoder: not run here; ``models.text_encoder_sizes`` counts it."""

    name: str
    template_file: str
    file_bytes: int | None  # as published (FACTS / docs/deploy.md); None when not known here
    gemma: str  # "gemma3_12b" or "gemma4_12b": which ComfyUI class gives the parameter count


@dataclass(frozen=True)
class Family:
    id: str
    name: str
    transformer: dict
    video_vae: dict
    vocoder: dict
    text_encoder: TextEncoder
    fps: int  # the templates' frame rate (LTXVConditioning.frame_rate)


_GEMMA3 = TextEncoder("Gemma 3 12B", "gemma_3_12B_it_fp4_mixed.safetensors", 9_450_000_000, "gemma3_12b")
_GEMMA4 = TextEncoder(
    "Gemma 4 12B + projection", "gemma4-12b-with-proj-ltx-2.5-comfy-int8-convrot.safetensors", None, "gemma4_12b"
)
FAMILIES: dict[str, Family] = {
    "ltx2": Family("ltx2", "LTX-2 19B", LTX2_TRANSFORMER, LTX2_VIDEO_VAE, LTX2_VOCODER, _GEMMA3, 24),
    "ltx23": Family("ltx23", "LTX-2.3 22B", LTX23_TRANSFORMER, LTX23_VIDEO_VAE, LTX23_VOCODER, _GEMMA3, 25),
    "ltx25": Family("ltx25", "LTX-2.5 22B", LTX25_TRANSFORMER, LTX25_VIDEO_VAE, LTX23_VOCODER, _GEMMA4, 24),
}

# --------------------------------------------------------------------------------------------
# Pipelines: what each template does (workflows/<family>/<family>_t2v_<quality>.json)
# --------------------------------------------------------------------------------------------

SIGMAS_8 = [1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875, 0.0]  # fmt: skip
SIGMAS_3A = [0.909375, 0.725, 0.421875, 0.0]  # SIGMAS_8: ltx-pipelines DISTILLED_SIGMA_VALUES; this: STAGE_2_...
SIGMAS_3B = [0.85, 0.7250, 0.4219, 0.0]  # the 2.3/2.5 templates' stage-2 ManualSigmas


@dataclass(frozen=True)
class Stage:
    """One SamplerCustomAdvanced: sigmas (ManualSigmas) or LTXVScheduler steps, guider, sampler."""

    sampler: str
    sigmas: list[float] | None = None
    scheduler_steps: int = 0  # LTXVScheduler(steps, 2.05, 0.95, stretch, 0.1) when > 0
    cfg: float = 1.0
    dual_cfg: tuple[float, float] | None = None  # LTXVDualCFGGuider(video, audio)
    stg_blocks: str = ""  # LTXVSpatioTemporalGuidance(scale 1, blocks) when set
    modality_scale: float = 1.0  # LTXVModalityGuidance when != 1
    lora: str = ""  # "" or the name of Pipeline.loras entry patched into this stage's model


@dataclass(frozen=True)
class Pipeline:
    stage1: Stage
    stage2: Stage
    crop_guides: bool
    tiles: tuple[int, int, int, int]  # VAEDecodeTiled(tile_size, overlap, temporal_size, temporal_overlap)
    loras: dict[str, tuple[int, float]] = field(default_factory=dict)  # name -> (rank, strength)
    note: str = ""


# fmt: off
PIPELINES: dict[tuple[str, str], Pipeline] = {
    ("ltx2", "fast"): Pipeline(Stage("euler_ancestral", SIGMAS_8), Stage("euler_ancestral", SIGMAS_3A), False,
                               (512, 64, 4096, 8), note="the template's camera LoRA is a load-time cost: not applied"),
    # pro: ltx-2-19b-distilled-lora-384 (FACTS 7.67 GB) on stage 2 only, so every job patches and unpatches it
    ("ltx2", "pro"): Pipeline(Stage("euler_ancestral", scheduler_steps=20, cfg=4.0),
                              Stage("euler_ancestral", SIGMAS_3A, lora="distilled"), True, (512, 64, 4096, 8),
                              {"distilled": (384, 1.0)}),
    ("ltx23", "fast"): Pipeline(Stage("euler", SIGMAS_8, lora="distilled"), Stage("euler", SIGMAS_3B, lora="distilled"),
                                True, (768, 64, 4096, 4), {"distilled": (111, 0.5)},
                                note="distilled LoRA 1.1 (avg rank 111) at 0.5 on both stages"),
    ("ltx23", "pro"): Pipeline(Stage("euler", scheduler_steps=30, dual_cfg=(3.0, 7.0), stg_blocks="28",
                                     modality_scale=3.0),
                               Stage("euler", SIGMAS_3A, lora="distilled"), True, (512, 64, 64, 24),
                               {"distilled": (111, 1.0)}),
    ("ltx25", "fast"): Pipeline(Stage("euler_ancestral", SIGMAS_8, dual_cfg=(1.0, 1.0)),
                                Stage("euler_ancestral", SIGMAS_3B, dual_cfg=(1.0, 1.0)), False, (512, 64, 64, 16)),
}
# fmt: on

# --------------------------------------------------------------------------------------------
# Points, in the order a small device budget should spend itself
# --------------------------------------------------------------------------------------------

#: 16:9 sizes of workflows/<family>/family.json (multiples of 64: stage 1 runs at half size).
SIZES: dict[str, tuple[int, int]] = {"720p": (1280, 704), "1080p": (1920, 1088), "1440p": (2560, 1472),
                                     "2160p": (3840, 2176)}  # fmt: skip


def frames_for(duration_s: int, fps: int, max_seconds: float = 20.0417) -> int:
    """family.json's rule (ltx_worker/families.py): the smallest 8k+1 >= duration*fps, capped."""
    wanted = 8 * math.ceil((duration_s * fps - 1) / 8) + 1
    return min(wanted, 8 * math.floor((max_seconds * fps - 1) / 8) + 1)


@dataclass(frozen=True)
class Point:
    family: str
    quality: str
    resolution: str
    duration_s: int

    @property
    def key(self) -> str:
        return f"{self.family}-{self.quality}-{self.resolution}-{self.duration_s}s"


# fmt: off
POINTS: list[Point] = [
    Point("ltx2", "fast", "720p", 10), Point("ltx2", "fast", "1080p", 10), Point("ltx2", "pro", "720p", 10),
    Point("ltx23", "fast", "720p", 10), Point("ltx23", "fast", "1080p", 10), Point("ltx23", "pro", "720p", 10),
    Point("ltx25", "fast", "720p", 10), Point("ltx25", "fast", "1080p", 10), Point("ltx25", "fast", "1080p", 20),
    Point("ltx25", "fast", "1440p", 10), Point("ltx25", "fast", "2160p", 10),
]
# fmt: on

#: Options are compared at the first point, sampling stages only (they do not touch decoding).
#: Weight dtypes are UNETLoader's ``weight_dtype`` choices; "default" keeps bf16.
OPTIONS_POINT = POINTS[0]
WEIGHT_DTYPES = ("fp8_e4m3fn", "default", "fp8_e4m3fn_fast")
MAIN_WEIGHT_DTYPE = "fp8_e4m3fn"  # the templates load -fp8 checkpoints (int8 for 2.5, not measured)

# --------------------------------------------------------------------------------------------
# GPUs and hosted prices
# --------------------------------------------------------------------------------------------

#: RunPod GPUs (docs/deploy.md "GPU" table), the memory a process can use in GiB (the total
#: nvidia-smi typically reports, e.g. 81559 MiB on an H100 80GB; typical figures, not checked
#: here) and the flex $/h docs/deploy.md quotes ("RunPod flex rates seen in 2025; check
#: runpod.io/pricing"); None: no rate quoted there.
GPUS: list[tuple[str, float, float | None]] = [
    ("RTX 4090 / L4 / A5000 (24 GB)", 22.0, None),
    ("RTX 5090 (32 GB)", 31.3, None),
    ("L40S / RTX 6000 Ada (48 GB)", 44.4, 1.9),
    ("A100 80GB", 79.1, 2.7),
    ("H100 80GB", 79.1, 4.2),
    ("H100 NVL (94 GB)", 93.1, None),
    ("H200 (141 GB)", 139.8, 5.6),
]
#: The rates above by the name torch reports (``torch.cuda.get_device_name``), first match wins.
GPU_RATES: list[tuple[str, float]] = [("H200", 5.6), ("H100", 4.2), ("A100", 2.7), ("L40S", 1.9), ("RTX 6000 Ada", 1.9)]
GPU_MARGIN_GIB = 1.0  # CUDA context and ComfyUI's own reserve, added to the measured peak reserved

# What a studio would otherwise pay per second of video: `prices` (from ../shared/reference/FACTS.md).

# --------------------------------------------------------------------------------------------
# Tiny scale: the same code path on a CPU in seconds
# --------------------------------------------------------------------------------------------

TINY_SIZE = (256, 128)  # output width x height of every point at --scale tiny (stage 2 latent 8 x 4)
TINY_FRAMES = 9  # two latent frames


def tiny(family: Family) -> Family:
    """`family` at a few layers and small widths, every layout flag kept.

    Rules the sizes obey (ltx_worker/tinymodels/ltx2.py, FACTS): the video inner dim divides by 6
    (3-axis RoPE), connector width equals the cross-attention width when the caption projection
    sits in the text encoder, 128 latent channels and 8 x 16 audio bins stay, the VAE keeps its
    block types (three time and three space upsamples) with one layer each and base width 8.
    """
    t = dict(
        family.transformer,
        num_layers=2,
        num_attention_heads=2,
        attention_head_dim=24,
        cross_attention_dim=48,
        audio_num_attention_heads=2,
        audio_attention_head_dim=8,
        audio_cross_attention_dim=16,
        caption_channels=32,
        connector_num_layers=1,
        connector_num_attention_heads=2,
        connector_attention_head_dim=24 if family.transformer.get("caption_proj_before_connector") else 16,
    )
    if "audio_connector_attention_head_dim" in t:
        t["audio_connector_attention_head_dim"] = 8
    if family.video_vae.get("_class_name") == "CausalDiffusionVAE":
        vae = {
            "_class_name": "CausalDiffusionVAE",
            "encoder": {"base_channels": 8, "blocks": _one_layer(LTX23_VIDEO_VAE["encoder_blocks"])},
            "decoder": {
                "head_dim": 8,
                "stage_channels": [64, 32, 16, 16, 8],
                "stage_depths": [1, 1, 1, 1, 1],
                "stage_kernels": [[3, 3, 3]] * 5,
                "stage5_kernel": [3, 3, 3],
                "t_emb_dim": 32,
            },
        }
    else:
        vae = dict(
            family.video_vae,
            encoder_blocks=_one_layer(family.video_vae["encoder_blocks"]),
            decoder_blocks=_one_layer(family.video_vae["decoder_blocks"]),
            encoder_base_channels=8,
            decoder_base_channels=8,
        )
    voc = copy.deepcopy(family.vocoder)
    for part in [voc] if "bwe" not in voc else [voc["vocoder"], voc["bwe"]]:
        part.update(upsample_initial_channel=128, resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3, 5]])
    return Family(family.id, family.name + " (tiny)", t, vae, voc, family.text_encoder, family.fps)


def tiny_audio_vae() -> dict:
    a = copy.deepcopy(AUDIO_VAE)
    a["model"]["params"]["ddconfig"].update(ch=8, num_res_blocks=1)
    return a


TINY_UPSCALER = dict(UPSCALER, mid_channels=32, num_blocks_per_stage=1)


def _one_layer(blocks: list) -> list:
    return [[name, dict(params, num_layers=1) if "num_layers" in params else params] for name, params in blocks]
