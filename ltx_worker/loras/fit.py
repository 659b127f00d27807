"""Does a LoRA fit the model a job's template loads? Decided on the two safetensors headers.

ComfyUI applies a LoRA by mapping each key's base name to a weight of the model
(``comfy/lora.py``: ``model_lora_keys_unet``, for LTXV/LTXAV models ``diffusion_model.<path>``,
``<path>`` and ``lora_unet_<path with _>``) and reading it with the first adapter whose key form
matches (``comfy/weight_adapter/lora.py``, ``LoRAAdapter.load``; ``load_lora`` for ``diff``,
``diff_b``, ``set_weight``, ``w_norm``/``b_norm``). A key it cannot map is skipped with a log
line ("lora key not loaded") and the job runs as if the LoRA were not there. `check_fit` refuses
instead: every key must be a form ComfyUI reads, naming a weight that exists in the model with
shapes that multiply out to it, and at least one must load.

LTX-2, 2.3 and 2.5 share their transformer's shapes (48 blocks of width 4096), so a LoRA trained
on one family passes the shape check on another and ComfyUI would load it; such a LoRA is only
refused when its trainer metadata names another base model (`trained_for`), which is proof;
otherwise it runs (docs/loras.md says so).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .header import Header

#: (up, down) key suffixes of the low-rank forms ComfyUI reads, longest first within each form
#: (LoRAAdapter.load: regular, diffusers, diffusers2, diffusers3, mochi, transformers, qwen).
FACTOR_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".lora_linear_layer.up.weight", ".lora_linear_layer.down.weight"),
    (".lora_B.default.weight", ".lora_A.default.weight"),
    (".lora_up.weight", ".lora_down.weight"),
    (".lora_B.weight", ".lora_A.weight"),
    ("_lora.up.weight", "_lora.down.weight"),
    (".lora.up.weight", ".lora.down.weight"),
    (".lora_B", ".lora_A"),
)
#: Other per-module keys load_lora reads: suffix -> what its shape must equal ("weight": the
#: weight's shape, "bias": the bias's, "scalar": one element, "rows": the weight's first size).
EXTRA_SUFFIXES: dict[str, str] = {
    ".alpha": "scalar", ".dora_scale": "rows", ".diff": "weight", ".set_weight": "weight",
    ".w_norm": "weight", ".diff_b": "bias", ".b_norm": "bias",
}
#: Metadata keys in which trainers name the base model (kohya's ss_*, the modelspec standard,
#: PEFT/diffusers).
BASE_MODEL_KEYS = ("modelspec.architecture", "ss_base_model_version", "ss_sd_model_name", "base_model",
                   "base_model_name_or_path", "baseModel")
_FAMILY_PATTERNS = (  # family id -> how trainers write it; checked in this order
    ("ltx25", re.compile(r"ltx[\W_]*(?:video[\W_]*)?2[\W_]?5", re.I)),
    ("ltx23", re.compile(r"ltx[\W_]*(?:video[\W_]*)?2[\W_]?3", re.I)),
    ("ltxv", re.compile(r"ltx[\W_]*(?:video[\W_]*)?0[\W_]?9|ltx[\W_]?v(?![\W_]?2)|ltx[\W_]?video(?![\W_]*2)", re.I)),
    ("ltx2", re.compile(r"ltx[\W_]*(?:video[\W_]*|v[\W_]*)?2", re.I)),
)


class FitError(ValueError):
    """The LoRA does not fit the model (the message names the first key that does not)."""


@dataclass(frozen=True)
class Fit:
    """What `check_fit` found.

    Attributes:
        modules: how many model weights the LoRA patches.
        ranks: the distinct ranks of its low-rank factors (empty for diff-only files).
        trained_for: the base model its metadata names, or None.
    """

    modules: int
    ranks: tuple[int, ...]
    trained_for: str | None


def model_weights(checkpoint: Header, prefix: str | None = None) -> dict[str, tuple[int, ...]]:
    """The diffusion model's tensors of a checkpoint (or transformer file) header, named as
    ComfyUI's model state dict names them (``diffusion_model.<path>``) -> shape.

    `prefix` is how the file stores them; by default the first that its keys use of
    ``model.diffusion_model.`` (the LTX all-in-one checkpoints, the tiny LTX-2.5 transformer),
    ``diffusion_model.``, or none (a bare transformer file, whose keys UNETLoader takes as they are).
    """
    if prefix is None:
        prefix = next((p for p in ("model.diffusion_model.", "diffusion_model.")
                       if any(name.startswith(p) for name in checkpoint.tensors)), "")
    return {"diffusion_model." + name[len(prefix):]: info.shape
            for name, info in checkpoint.tensors.items() if name.startswith(prefix)}


def trained_for(metadata: dict[str, str]) -> str | None:
    """The base model a LoRA's trainer metadata names (first of `BASE_MODEL_KEYS`), or None."""
    for key in BASE_MODEL_KEYS:
        value = metadata.get(key, "").strip()
        if value:
            return value[:200]
    return None


def family_named(text: str) -> str | None:
    """The project's family id (``ltx2``, ``ltx23``, ``ltx25``, ``ltxv``) a base-model string
    names, ``"other"`` for a string that names no LTX model, None for an LTX name of no known
    family."""
    for family, pattern in _FAMILY_PATTERNS:
        if pattern.search(text):
            return family
    return None if re.search(r"ltx|lightricks", text, re.I) else "other"


def check_fit(lora: Header, weights: dict[str, tuple[int, ...]], family: str) -> Fit:
    """Check that LoRA header `lora` fits model `weights` (`model_weights`) of family `family`.

    Raises:
        FitError: metadata naming another base model; a key of no form ComfyUI reads; a key
            naming no weight of the model; factors whose shapes do not multiply out to the
            weight's, or whose ranks differ; a factor without its pair; no key that loads.
    """
    named = trained_for(lora.metadata)
    if named is not None and family_named(named) not in (family, None):
        raise FitError(f"its metadata says it was trained for {named!r}, not the {family} model this job runs")
    lookup = _lookup(weights)
    modules: dict[str, dict[str, tuple[int, ...]]] = {}
    for key, info in lora.tensors.items():
        base, role = _split(key)
        if base is None:
            raise FitError(f"key {key[:120]!r} is no LoRA key form ComfyUI reads")
        target = lookup(base)
        if target is None:
            raise FitError(f"key {key[:120]!r} names no weight of the {family} model")
        modules.setdefault(target, {})[role] = info.shape
    if not modules:
        raise FitError("it holds no tensors")
    ranks = set()
    for target, parts in modules.items():
        ranks |= _check_module(target, parts, weights)
    return Fit(modules=len(modules), ranks=tuple(sorted(ranks)), trained_for=named)


def _split(key: str) -> tuple[str | None, str]:
    for up, down in FACTOR_SUFFIXES:
        if key.endswith(up):
            return key[: -len(up)], "up"
        if key.endswith(down):
            return key[: -len(down)], "down"
    for suffix in sorted(EXTRA_SUFFIXES, key=len, reverse=True):
        if key.endswith(suffix):
            return key[: -len(suffix)], suffix
    return None, ""


def _lookup(weights: dict[str, tuple[int, ...]]):
    underscored = {"lora_unet_" + k[len("diffusion_model."):-len(".weight")].replace(".", "_"): k
                   for k in weights if k.endswith(".weight")}

    def find(base: str) -> str | None:
        if base.startswith("lora_unet_"):
            return underscored.get(base)
        name = (base if base.startswith("diffusion_model.") else "diffusion_model." + base) + ".weight"
        return name if name in weights else None

    return find


def _check_module(target: str, parts: dict[str, tuple[int, ...]], weights: dict[str, tuple[int, ...]]) -> set[int]:
    weight = weights[target]
    where = target[len("diffusion_model."):-len(".weight")]
    if ("up" in parts) != ("down" in parts):
        raise FitError(f"module {where!r}: a low-rank factor without its pair")
    ranks = set()
    if "up" in parts:
        up, down = parts["up"], parts["down"]
        if len(up) < 2 or len(down) < 2 or up[1] != down[0]:
            raise FitError(f"module {where!r}: factors {list(up)} and {list(down)} are not a low-rank pair")
        if up[0] != weight[0] or math.prod(down[1:]) != math.prod(weight[1:]):
            raise FitError(f"module {where!r}: factors {list(up)} x {list(down)} do not make its weight's "
                           f"shape {list(weight)}")
        ranks.add(down[0])
    bias = weights.get(target[: -len(".weight")] + ".bias")
    for suffix, rule in EXTRA_SUFFIXES.items():
        shape = parts.get(suffix)
        if shape is None:
            continue
        if rule == "scalar":
            ok = math.prod(shape) == 1
        elif rule == "rows":
            ok = math.prod(shape) == weight[0]
        else:  # "weight" or "bias": the same shape as that tensor of the model (which must exist)
            ok = shape == (weight if rule == "weight" else bias)
        if not ok:
            raise FitError(f"module {where!r}: {suffix[1:]} of shape {list(shape)} does not fit "
                           f"(weight {list(weight)}{'' if bias is None else f', bias {list(bias)}'})")
    return ranks
