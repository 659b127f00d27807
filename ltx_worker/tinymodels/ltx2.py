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
                                  ``vae.*`` video VAE (mosaic decoder:
                                  :mod:`.mosaic_decoder`), ``audio_vae.*`` audio VAE,
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
from .control_ltx2 import write_tiny_control_ltx2
from .gemma3 import gemma_state_dict
from .ltx2_checkpoint import (
    AUDIO_VAE_CONFIG,
    CHECKPOINTS,
    TRANSFORMER_CONFIG,
    VIDEO_VAE_CONFIG,
    VOCODER_CONFIG,
    checkpoint_state_dict,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

# --------------------------------------------------------------------------------------
# Sizes. The names are those of the real configs; the values are tiny.
# --------------------------------------------------------------------------------------

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
_SQUISH_LORA_SEED = 2450

#: The transformer checkpoint the LoRAs are shaped for (both checkpoints share shapes).
_LORA_BASE_SEED = CHECKPOINTS["ltx-2-19b-dev-fp8.safetensors"]



def write_tiny_ltx2(models_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the tiny LTX-2 model files under ``models_dir/<folder>/<file>``.

    Files (real names, as in models.txt): both checkpoints
    (``checkpoints/ltx-2-19b-distilled-fp8.safetensors``,
    ``checkpoints/ltx-2-19b-dev-fp8.safetensors``), the text encoder
    (``text_encoders/gemma_3_12B_it_fp4_mixed.safetensors``), the upscaler
    (``latent_upscale_models/ltx-2-spatial-upscaler-x2-1.0.safetensors``), the
    distilled LoRA, the seven camera LoRAs and the named effect LoRA ``ltx2-squish``
    (``loras/``). Existing files are
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
    # the named effect LoRA of video_ltx2_i2v_lora (models.txt lora=ltx2-squish)
    written.append(_save(lora_state_dict(targets, CAMERA_LORA_RANK, _SQUISH_LORA_SEED),
                         models_dir / "loras" / "ltx2-squish.safetensors", {}))
    written += write_tiny_control_ltx2(models_dir)  # the control templates' files (IC-LoRAs, Lotus)
    return written


def camera_lora_file(move: str) -> str:
    """File name of the camera LoRA for ``move`` (one of :data:`CAMERA_MOVES`).

    Raises:
        ValueError: unknown move.
    """
    if move not in CAMERA_MOVES:
        raise ValueError(f"unknown camera move {move!r}; expected one of {CAMERA_MOVES}")
    return f"ltx-2-19b-lora-camera-control-{move}.safetensors"


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
