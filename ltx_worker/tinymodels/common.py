"""Helpers every tiny-weight generator shares: ComfyUI in CPU mode, random weights of a
ComfyUI module's state dict, LoRA files shaped for a checkpoint, and saving with metadata."""

from __future__ import annotations

import pathlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def lora_targets(checkpoint: dict[str, torch.Tensor]) -> dict[str, tuple[int, int]]:
    """LoRA target modules of a checkpoint state dict: name -> (out, in) features.

    Every linear layer of the transformer blocks (2-D ``.weight`` under
    ``model.diffusion_model.transformer_blocks.``), named without the ``model.``
    prefix and ``.weight`` suffix, e.g. ``diffusion_model.transformer_blocks.0.attn1.to_q``:
    the names ComfyUI's LoRA key map (comfy/lora.py, model_lora_keys_unet) accepts.
    """
    prefix = "model.diffusion_model.transformer_blocks."
    targets = {}
    for key in sorted(checkpoint):
        value = checkpoint[key]
        if key.startswith(prefix) and key.endswith(".weight") and value.ndim == 2:
            targets[key[len("model.") : -len(".weight")]] = (value.shape[0], value.shape[1])
    return targets


def lora_state_dict(targets: dict[str, tuple[int, int]], rank: int, seed: int) -> dict[str, torch.Tensor]:
    """A random LoRA for ``targets`` (see :func:`lora_targets`), float32.

    Keys ``<target>.lora_A.weight`` (rank, in) and ``<target>.lora_B.weight``
    (out, rank), no alpha (ComfyUI then scales by 1). Both factors are drawn so that
    ``B @ A`` has about the spread of the weight it patches (entries ~ N(0, 1/in)): at
    strength 1 a LoRA changes the output clearly, and LoRAs with different seeds
    change it differently.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for target in sorted(targets):
        rows, cols = targets[target]
        out[f"{target}.lora_A.weight"] = torch.randn(rank, cols, generator=generator) / cols**0.5
        out[f"{target}.lora_B.weight"] = torch.randn(rows, rank, generator=generator) / rank**0.5
    return out




def job_lora_for(model_file: pathlib.Path, rank: int, seed: int, blocks: int | None = None) -> dict[str, torch.Tensor]:
    """A random LoRA (:func:`lora_state_dict`) for the transformer-block linears of the model file
    at `model_file` (an LTX checkpoint or transformer file, any key prefix), read from its
    safetensors header only: what a studio's LoRA for that model looks like, for tests of the
    job's ``loras``. `blocks` keeps only the first that many transformer blocks.
    """
    from ..loras.fit import model_weights
    from ..loras.header import read_header

    weights = model_weights(read_header(model_file, max_header_bytes=100 << 20, dtypes=None))
    targets = {}
    for key, shape in sorted(weights.items()):
        parts = key.split(".")
        if (parts[1] == "transformer_blocks" and key.endswith(".weight") and len(shape) == 2
                and (blocks is None or int(parts[2]) < blocks)):
            targets[key[: -len(".weight")]] = (shape[0], shape[1])
    return lora_state_dict(targets, rank, seed)


def _prepare_comfy() -> None:
    """Switch ComfyUI to CPU mode when there is no GPU and it is not yet set up."""
    if "comfy.model_management" in sys.modules:
        return
    import torch

    if torch.cuda.is_available():
        return
    import comfy.cli_args

    comfy.cli_args.args.cpu = True


def _randomised(state: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """Replace every tensor of ``state`` by seeded random values of its shape.

    Values are drawn key by key in sorted order from one generator, so they depend on
    the seed and the shapes only. Scales keep a random network numerically tame:
    matrices and convolutions ~ N(0, 1/fan_in), biases and modulation tables small,
    norm weights near 1, latent statistics (``std-of-means``) positive.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for key in sorted(state):
        shape = tuple(state[key].shape)
        leaf = key.rsplit(".", 1)[-1]
        noise = torch.randn(shape, generator=generator, dtype=torch.float32)
        if leaf == "std-of-means":
            value = 0.75 + 0.25 * noise.abs()
        elif leaf == "mean-of-means":
            value = 0.1 * noise
        elif leaf == "bias":
            value = 0.02 * noise
        elif "norm" in key and leaf == "weight" and len(shape) == 1:
            value = 1.0 + 0.05 * noise
        elif "scale_shift_table" in leaf:
            value = 0.1 * noise
        elif len(shape) >= 2:
            fan_in = 1
            for size in shape[1:]:
                fan_in *= size
            value = noise / max(fan_in, 1) ** 0.5
        else:
            value = 0.1 * noise
        out[key] = value.contiguous()
    return out


def _save(state: dict[str, torch.Tensor], path: pathlib.Path, metadata: dict[str, str]) -> pathlib.Path:
    """Save ``state`` as safetensors at ``path`` (folders created, mode 0644), return the path.

    safetensors creates files readable by their owner only; a model file is made
    world-readable like a downloaded one (ComfyUI may run as another user).
    """
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=metadata or None)
    path.chmod(0o644)
    return path
