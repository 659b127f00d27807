"""Tiny weights for the LTX-2 control templates (IC-LoRA canny and depth, Lotus depth maps).

The templates ``workflows/ltx2/ltx2_control_{canny,depth}_{fast,pro}.json`` follow ComfyUI's
official ``video_ltx2_canny_to_video`` and ``video_ltx2_depth_to_video``. Besides the LTX-2 files
of :mod:`.ltx2` they load four more files, written here under their real names:

==================================================  =============================================
file (folder under models/)                         contents
==================================================  =============================================
loras/ltx-2-19b-ic-lora-canny-control.safetensors   ``diffusion_model.<module>.lora_A/lora_B
loras/ltx-2-19b-ic-lora-depth-control.safetensors   .weight`` for every linear layer of the tiny
                                                    LTX-2 transformer blocks (rank
                                                    :data:`IC_LORA_RANK`, float32), like the
                                                    camera LoRAs of :mod:`.ltx2`; no metadata
diffusion_models/lotus-depth-d-v1-1.safetensors     a Lotus-D UNet in ComfyUI's ldm layout
                                                    (``time_embed.*``, ``label_emb.0.*``,
                                                    ``input_blocks.*``, ``output_blocks.*``,
                                                    ``out.*``), float16, 15.5 M parameters
vae/vae-ft-mse-840000-ema-pruned.safetensors        an SD 1.x/2.x ``AutoencoderKL`` (``encoder.*``,
                                                    ``decoder.*``, ``quant_conv.*``,
                                                    ``post_quant_conv.*``), float16, 37.3 M
                                                    parameters (34.2 M of them the encoder)
==================================================  =============================================

Why the Lotus and VAE files are this size (ComfyUI 0.33.0 source):

* **Lotus UNet.** UNETLoader -> ``comfy.sd.load_diffusion_model_state_dict`` ->
  ``model_detection.detect_unet_config`` reads the ldm keys, and ``model_config_from_unet_config``
  takes the first of ``supported_models.models`` that matches; ``LotusD`` is first and matches
  ``model_channels == 320``, ``in_channels == 4``, ``adm_in_channels == 4`` (the in-width of
  ``label_emb.0.0.weight``), ``use_linear_in_transformer`` (a ``proj_in`` that is a Linear, read
  from the first transformer of the input blocks) and no temporal layers (supported_models.py,
  ``class LotusD``). Everything else is free, so the tiny UNet has one level (``channel_mult
  [1]``), one res block with one transformer in the input blocks, none in the two output
  blocks and no middle block (``transformer_depth_middle -2``). The width of 320 fixes the
  time embedding (320 -> 1280 -> 1280), the label embedding (4 -> 1280 -> 1280), the res
  blocks and the transformer (64-wide heads, ``num_head_channels`` of LotusD). The cross
  attention must take ``context_dim`` 1024: LotusConditioning (comfy_extras/nodes_lotus.py)
  emits a fixed SD 2 text embedding of width 1024, and ``model_base.Lotus`` adds
  ``y = [sin(1), sin(0), cos(1), cos(0)]`` (the depth task embedding, 4 wide). The tiny file
  uses the ldm key layout: ComfyUI also reads a diffusers-layout Lotus (the ``LotusD`` entry of
  ``unet_config_from_diffusers_unet``), but only at the full SD 2 shape; which layout the
  published Comfy-Org/lotus file has was not checked (either loads as LotusD; it is float16,
  1.74 GB on its Hub page for SD 2's 866 M parameters).
* **SD VAE.** VAELoader -> ``comfy.sd.VAE``: a state dict with ``decoder.conv_in.weight`` and
  ``post_quant_conv.weight`` is an ``AutoencoderKL`` whose encoder config is hard-coded (``ch
  128``, ``ch_mult [1, 2, 4, 4]``, ``num_res_blocks 2``, 4 latent channels: the full SD
  encoder, 34.2 M parameters); only the decoder's width follows the file
  (``decoder.conv_in`` out-channels / 4), so the decoder is 32 wide (GroupNorm's 32 groups are
  the floor). Both files are saved in float16 (the loaders cast to their compute dtype), which
  halves them: about 31 MB and 75 MB.

The IC-LoRAs carry no safetensors metadata. ComfyUI attaches a LoRA file's metadata to the
model (``nodes.LoraLoader`` -> ``comfy.sd.load_lora_for_models``, attachment ``lora_metadata``)
and only ``GetICLoRAParameters`` (comfy_extras/nodes_lt.py) reads it, for a key ending in
``reference_downscale_factor``, defaulting to 1 when there is none. The LTX-2 control templates
do not use GetICLoRAParameters (their LTXVAddGuide gets no ``iclora_parameters``: factor 1, the
control images at the stage-1 latent's size), so no metadata changes what they do; whether the
published LTX-2 19B IC-LoRAs carry such a key was not checked.

Importing this module has no side effects and does not import ComfyUI; only the functions do.
"""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

from .common import _prepare_comfy, _randomised, _save, lora_state_dict, lora_targets
from .ltx2_checkpoint import CHECKPOINTS, checkpoint_state_dict

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: IC-LoRA files (``loras/``), control kind -> (file name, random seed).
IC_LORAS: dict[str, tuple[str, int]] = {
    "canny": ("ltx-2-19b-ic-lora-canny-control.safetensors", 2501),
    "depth": ("ltx-2-19b-ic-lora-depth-control.safetensors", 2502),
}
#: Rank of the tiny IC-LoRAs (the camera LoRAs' rank in :mod:`.ltx2`).
IC_LORA_RANK: int = 4
#: The LTX-2 checkpoint whose transformer the IC-LoRAs are shaped for (``checkpoints/``).
LORA_BASE_CHECKPOINT = "ltx-2-19b-dev-fp8.safetensors"

LOTUS_FILE = "lotus-depth-d-v1-1.safetensors"
SD_VAE_FILE = "vae-ft-mse-840000-ema-pruned.safetensors"
_LOTUS_SEED = 2601
_SD_VAE_SEED = 2602

#: Lotus-D UNet, as ``comfy.ldm.modules.diffusionmodules.openaimodel.UNetModel`` keyword
#: arguments; the values detection checks (module docstring) are the real ones, the others
#: are the smallest UNet detection still reads back to exactly this config.
LOTUS_UNET_CONFIG: dict = {
    "image_size": 32,
    "in_channels": 4,
    "out_channels": 4,
    "model_channels": 320,
    "num_res_blocks": [1],
    "channel_mult": [1],
    "num_classes": "sequential",
    "adm_in_channels": 4,
    "use_spatial_transformer": True,
    "legacy": False,
    "transformer_depth": [1],
    "transformer_depth_output": [0, 0],
    "transformer_depth_middle": -2,
    "context_dim": 1024,
    "num_head_channels": 64,
    "use_linear_in_transformer": True,
}

#: SD VAE encoder config: fixed by comfy/sd.py (the "default SD1.x/SD2.x VAE parameters").
SD_VAE_ENCODER_CONFIG: dict = {
    "double_z": True,
    "z_channels": 4,
    "resolution": 256,
    "in_channels": 3,
    "out_ch": 3,
    "ch": 128,
    "ch_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "attn_resolutions": [],
    "dropout": 0.0,
}
#: The decoder: the encoder's config with the width comfy/sd.py reads from the file.
SD_VAE_DECODER_CONFIG: dict = {**SD_VAE_ENCODER_CONFIG, "ch": 32}


def write_tiny_control_ltx2(models_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the control templates' tiny files under ``models_dir/<folder>/<file>``.

    Files (real names; module docstring): ``loras/ltx-2-19b-ic-lora-canny-control.safetensors``,
    ``loras/ltx-2-19b-ic-lora-depth-control.safetensors``,
    ``diffusion_models/lotus-depth-d-v1-1.safetensors`` and
    ``vae/vae-ft-mse-840000-ema-pruned.safetensors``. About 106 MB, a few seconds on two CPU
    cores; the same bytes on every run with the same torch. Existing files are overwritten.

    The IC-LoRAs are shaped for the transformer of ``checkpoints/ltx-2-19b-dev-fp8.safetensors``
    (:func:`.ltx2.write_tiny_ltx2` writes it first and calls this function last); its tensor
    shapes are read from the file when it is there, else the tiny checkpoint is rebuilt.

    Requires ComfyUI's ``comfy`` package importable (as :func:`.ltx2.write_tiny_ltx2`), plus
    ``safetensors``.

    Returns:
        The paths written, in a fixed order.
    """
    _prepare_comfy()
    models_dir = pathlib.Path(models_dir)
    targets = lora_targets(_checkpoint_shapes(models_dir / "checkpoints" / LORA_BASE_CHECKPOINT))
    written = [
        _save(lora_state_dict(targets, IC_LORA_RANK, seed), models_dir / "loras" / name, {})
        for name, seed in IC_LORAS.values()
    ]
    written.append(_save(lotus_unet_state_dict(_LOTUS_SEED), models_dir / "diffusion_models" / LOTUS_FILE, {}))
    written.append(_save(sd_vae_state_dict(_SD_VAE_SEED), models_dir / "vae" / SD_VAE_FILE, {}))
    return written


def lotus_unet_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """State dict of the tiny Lotus-D UNet (:data:`LOTUS_UNET_CONFIG`), float16, ldm key names
    without a prefix (as UNETLoader reads a ``diffusion_models/`` file).

    Shapes: ``time_embed.0`` (1280, 320), ``time_embed.2`` (1280, 1280), ``label_emb.0.0``
    (1280, 4), ``label_emb.0.2`` (1280, 1280), ``input_blocks.0.0`` (320, 4, 3, 3), one
    ResBlock 320 -> 320 and one SpatialTransformer (320 wide, linear proj_in/proj_out,
    ``attn2.to_k``/``to_v`` (320, 1024)) in ``input_blocks.1``, two ResBlocks 640 -> 320 in
    ``output_blocks.0``/``.1``, ``out.2`` (4, 320, 3, 3).
    """
    _prepare_comfy()
    import comfy.ops
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel

    model = UNetModel(**LOTUS_UNET_CONFIG, operations=comfy.ops.disable_weight_init)
    return _half(_randomised(dict(model.state_dict()), seed))


def sd_vae_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """State dict of the tiny SD VAE, float16: ``encoder.*`` (the full SD encoder,
    :data:`SD_VAE_ENCODER_CONFIG`: conv_in (128, 3, 3, 3) ... conv_out (8, 512, 3, 3)),
    ``quant_conv`` (8, 8, 1, 1), ``post_quant_conv`` (4, 4, 1, 1) and ``decoder.*``
    (:data:`SD_VAE_DECODER_CONFIG`: conv_in (128, 4, 3, 3) ... conv_out (3, 32, 3, 3))."""
    _prepare_comfy()
    from comfy.ldm.models.autoencoder import AutoencoderKL

    model = AutoencoderKL(ddconfig=SD_VAE_ENCODER_CONFIG, embed_dim=4,
                          decoder_ddconfig=SD_VAE_DECODER_CONFIG)
    return _half(_randomised(dict(model.state_dict()), seed))


def _half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    import torch

    return {key: value.to(torch.float16) for key, value in state.items()}


def _checkpoint_shapes(path: pathlib.Path) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors as shape-only (meta) tensors: read from `path`'s header when the
    file exists, else from a rebuilt tiny LTX-2 dev checkpoint (:mod:`.ltx2`)."""
    import torch

    if path.is_file():
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            return {key: torch.empty(handle.get_slice(key).get_shape(), device="meta")
                    for key in handle.keys()}
    return checkpoint_state_dict(CHECKPOINTS[LORA_BASE_CHECKPOINT])
