"""Tiny weights for the LTX-2.3 control templates (IC-LoRA Union, canny and depth).

The control templates (workflows/ltx23/ltx23_control_{canny,depth}_fast.json, after ComfyUI's
official ``video_ltx2_3_ic_lora``) run the distilled checkpoint that :mod:`.ltx23` writes
(``checkpoints/ltx-2.3-22b-distilled-fp8.safetensors``) with two more files:

================================================================  ==========================
file (folder under models/)                                       contents
================================================================  ==========================
loras/ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors        LoRA over every linear of the
                                                                  tiny 2.3 transformer blocks
                                                                  (bf16); metadata
                                                                  ``reference_downscale_factor``
                                                                  ``"2"``
geometry_estimation/moge_2_vitl_normal_fp16.safetensors           a MoGe-2 model with normals
                                                                  (fp16): DINOv2 of width 64,
                                                                  4 layers, original (Meta)
                                                                  key names; one-level neck and
                                                                  heads
================================================================  ==========================

IC-LoRA metadata: ComfyUI 0.33.0's GetICLoRAParameters (comfy_extras/nodes_lt.py) reads the
first metadata key ending in ``reference_downscale_factor`` and uses
``max(1, round(float(value)))``; LTXVAddGuide then encodes the control frames at the latent's
pixel size divided by that factor and dilates the guide latent back (the "ref0.5" of the file
name: references at half size). A value of ``0.5`` would round to 1 (no downscale), so the
factor is stored as ``"2"``, as Lightricks' trainer and the other IC-LoRA tools write it. The
metadata of the published file was not read (no network access here).

MoGe: LoadMoGeModel (comfy_extras/nodes_moge.py) hands the state dict to
``comfy.ldm.moge.model.build_from_state_dict``, which renames Meta-style DINOv2 keys
(``blocks.N.attn.qkv`` split into query/key/value, ``ls1.gamma``, ``pos_embed``, ...), picks v2
from the ``encoder.backbone.`` prefix and reads every size from the tensors: the DINOv2 width
from ``cls_token`` (heads = width / 64, so 64 is the smallest width), its depth from the
highest block index (4 at least: the encoder taps layers ``depth // 4 * k - 1``), each
ConvStack from its ``input_blocks`` / ``res_blocks`` / ``output_blocks`` / ``resamplers`` keys
and the scale MLP from ``scale_head.*``. The only size it does not read is the DINOv2 position
table, fixed by the 518-px / 14-px patch default at 37 x 37 + 1 rows. The neck and heads here
have one level (the model's forward only walks as many levels as the stack has), so every
convolution runs at the token grid (60 x 60 at resolution_level 9) and the outputs are resized
to the frame. The mask head's output bias is raised so that most pixels count as valid and the
rendered depth is not blank. Importing this module has no side effects and does not import
ComfyUI; only the builders do.
"""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

from .common import _prepare_comfy, _randomised, _save, lora_state_dict, lora_targets

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

IC_LORA_FILE = "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors"
#: safetensors metadata of the IC-LoRA (what GetICLoRAParameters reads)
IC_LORA_METADATA = {"reference_downscale_factor": "2"}
IC_LORA_RANK = 4
#: the checkpoint the control templates load; the LoRA is shaped for its transformer
IC_LORA_BASE = "ltx-2.3-22b-distilled-fp8.safetensors"
MOGE_FILE = "moge_2_vitl_normal_fp16.safetensors"

#: MoGe-2 sizes (config of ComfyUI's MoGeModelV2; every value is read back from the tensors)
MOGE_BACKBONE = {"hidden_size": 64, "num_attention_heads": 1, "num_hidden_layers": 4,
                 "layer_norm_eps": 1e-6, "use_swiglu_ffn": False}
MOGE_ENCODER_DIM = 16
MOGE_NECK_DIM = 8
MOGE_SCALE_HIDDEN = 16
#: bias added to the mask head's output (sigmoid(3) = 0.95: nearly every pixel valid)
MOGE_MASK_BIAS = 3.0

_IC_LORA_SEED = 2361
_MOGE_SEED = 2371


def write_tiny_control_ltx23(models_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the tiny union IC-LoRA and MoGe model under ``models_dir/<folder>/<file>``.

    The LoRA's targets are read from the tiny distilled checkpoint already written under
    ``models_dir/checkpoints`` (:func:`.ltx23.write_tiny_ltx23` calls this last). About 0.75 MB,
    well under a second. Existing files are overwritten. Requires ComfyUI 0.33.0 importable
    (``comfy.ldm.moge``).

    Returns:
        The paths written: the IC-LoRA, then the MoGe model.

    Raises:
        FileNotFoundError: the tiny distilled checkpoint is not there yet.
    """
    import torch

    models_dir = pathlib.Path(models_dir)
    base = checkpoint_shapes(models_dir / "checkpoints" / IC_LORA_BASE)
    lora = lora_state_dict(lora_targets(base), IC_LORA_RANK, _IC_LORA_SEED)
    lora = {key: value.to(torch.bfloat16).contiguous() for key, value in lora.items()}
    written = [_save(lora, models_dir / "loras" / IC_LORA_FILE, dict(IC_LORA_METADATA))]
    moge = {key: value.to(torch.float16).contiguous() for key, value in moge_state_dict(_MOGE_SEED).items()}
    written.append(_save(moge, models_dir / "geometry_estimation" / MOGE_FILE, {}))
    return written


def checkpoint_shapes(path: pathlib.Path) -> dict[str, torch.Tensor]:
    """Every tensor of the safetensors file at `path` as an empty ``meta`` tensor of its shape
    (what :func:`.common.lora_targets` needs, without reading the weights)."""
    import torch
    from safetensors import safe_open

    if not path.is_file():
        raise FileNotFoundError(f"{path.name} must be written before its IC-LoRA")
    with safe_open(str(path), framework="pt") as handle:
        return {key: torch.empty(handle.get_slice(key).get_shape(), device="meta") for key in handle.keys()}


def moge_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """State dict of the tiny MoGe-2 (float32) under the original MoGe key names.

    Built as ComfyUI's ``MoGeModelV2`` with :data:`MOGE_BACKBONE` and one-level ConvStacks,
    randomised (:func:`.common._randomised`; the image normalisation buffers keep ImageNet's
    values), the mask bias raised by :data:`MOGE_MASK_BIAS`, then renamed to the Meta DINOv2
    layout (:func:`meta_dinov2_keys`) that ComfyUI's loader converts back.
    """
    _prepare_comfy()
    import comfy.ops
    import torch
    from comfy.ldm.moge.model import MoGeModelV2

    layers = MOGE_BACKBONE["num_hidden_layers"]
    stack = {"resamplers": [], "num_res_blocks": [1], "res_block_in_norm": "layer_norm",
             "res_block_hidden_norm": "group_norm"}
    config = {
        "encoder": {"backbone": MOGE_BACKBONE, "dim_out": MOGE_ENCODER_DIM,
                    "intermediate_layers": [layers // 4 * (i + 1) - 1 for i in range(4)]},
        # level 0 of the neck's input is the encoder's features plus the 2-channel UV grid
        "neck": {**stack, "dim_in": [MOGE_ENCODER_DIM + 2], "dim_res_blocks": [MOGE_NECK_DIM], "dim_out": [None]},
        "points_head": {**stack, "dim_in": [MOGE_NECK_DIM], "dim_res_blocks": [MOGE_NECK_DIM], "dim_out": [3]},
        "mask_head": {**stack, "dim_in": [MOGE_NECK_DIM], "dim_res_blocks": [MOGE_NECK_DIM], "dim_out": [1]},
        "normal_head": {**stack, "dim_in": [MOGE_NECK_DIM], "dim_res_blocks": [MOGE_NECK_DIM], "dim_out": [3]},
        "scale_head": {"dims": [MOGE_BACKBONE["hidden_size"], MOGE_SCALE_HIDDEN, 1]},
    }
    with torch.device("cpu"):
        model = MoGeModelV2(**config, dtype=torch.float32, device="cpu", operations=comfy.ops.disable_weight_init)
    state = model.state_dict()
    buffers = {key: state[key].clone() for key in state if key.endswith(("image_mean", "image_std"))}
    state = _randomised(state, seed)
    state.update(buffers)
    state["mask_head.output_blocks.0.bias"] = state["mask_head.output_blocks.0.bias"] + MOGE_MASK_BIAS
    return meta_dinov2_keys(state, "encoder.backbone.")


def meta_dinov2_keys(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """`state` with ComfyUI's DINOv2 key names under `prefix` turned into the original MoGe
    (Meta DINOv2) names: the inverse of ``comfy.ldm.moge.model._remap_state_dict`` (query, key
    and value fused into ``attn.qkv``)."""
    import torch

    top = {"embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
           "embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
           "embeddings.cls_token": "cls_token", "embeddings.position_embeddings": "pos_embed",
           "embeddings.mask_token": "mask_token", "layernorm.weight": "norm.weight", "layernorm.bias": "norm.bias"}
    block = [("layer_scale1.lambda1", "ls1.gamma"), ("layer_scale2.lambda1", "ls2.gamma"),
             ("attention.output.dense.", "attn.proj.")]
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        rel = key[len(prefix):] if key.startswith(prefix) else None
        if rel is None:
            out[key] = value
        elif rel in top:
            out[prefix + top[rel]] = value
        elif rel.startswith("encoder.layer."):
            index, sub = rel[len("encoder.layer."):].split(".", 1)
            if sub.startswith("attention.attention."):
                part, leaf = sub[len("attention.attention."):].split(".")
                if part == "query":  # key and value join it here
                    base = f"{prefix}encoder.layer.{index}.attention.attention."
                    out[f"{prefix}blocks.{index}.attn.qkv.{leaf}"] = torch.cat(
                        [state[base + f"{p}.{leaf}"] for p in ("query", "key", "value")])
                continue
            for new, old in block:
                sub = sub.replace(new, old)
            out[f"{prefix}blocks.{index}.{sub}"] = value
        else:
            raise KeyError(f"unexpected DINOv2 key {key}")
    return out
