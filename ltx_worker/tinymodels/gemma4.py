"""Tiny, randomly initialised Gemma 4 text encoders (LTX-2.5) and their tokenizer.

Two files of the LTX-2.5 templates are Gemma 4 models, loaded by CLIPLoader type "ltxv" in
ComfyUI 0.33.0 (comfy/sd.py, comfy/text_encoders/gemma4.py):

* ``gemma4-12b-with-proj-ltx-2.5-comfy-int8-convrot.safetensors``: the LTX-2.5 text encoder,
  Gemma 4 12B "unified" (encoder-free vision and audio) plus the LTX text projection
  ``text_embedding_projection.{video,audio}_aggregate_embed.*``. ComfyUI builds the LTXAV text
  encoder from it only when it detects Gemma 4 12B: ``model.layers.47.self_attn.q_norm.weight``
  present and ``model.layers.5.self_attn.v_proj.weight`` absent (48 layers; layer 5 is a global
  layer whose V reuses K). So the tiny one keeps 48 layers and shrinks the width.
* ``gemma4_e2b_it_int8_convrot.safetensors``: the prompt enhancer, Gemma 4 E2B (vision and audio
  towers), detected by 35 layers (``model.layers.34.*`` present, ``model.layers.41.*`` absent).

ComfyUI takes every size from ``Gemma4_12B_Config`` / ``Gemma4_E2B_Config`` (dataclass fields and
class attributes), never from the file; the test-only custom node
``tests/comfy_nodes/tiny_text_encoders`` (module ``gemma4``) shrinks them inside the ComfyUI
process with the dicts of this module. Both files carry ``tokenizer_json`` (a uint8 tensor
holding a Hugging Face ``tokenizers`` JSON, as ComfyUI's Gemma 4 files do): a byte-level BPE of
:data:`VOCAB_SIZE` dense ids whose special tokens sit where Gemma 4 has them (pad 0, eos 1,
bos 2, ``<|turn>`` 105, ``<turn|>`` 106), plus the three media placeholders at the fixed ids
ComfyUI's Gemma 4 tokenizer looks for (image 258880, audio 258881, video 258884; without them an
image given to the enhancer is silently dropped). The placeholders are always replaced by
image/audio embeddings before the embedding lookup, so the model vocabulary stays
:data:`VOCAB_SIZE`; every id the model can generate decodes.

Importing this module has no side effects and imports neither ComfyUI nor torch.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: Dense token ids of the tiny tokenizer (and rows of each model's embedding table). Large
#: enough for the BPE to learn whole words of the enhancer's system prompts (see
#: :func:`tokenizer_json`).
VOCAB_SIZE: int = 2048

#: Media placeholders ComfyUI's Gemma 4 tokenizer replaces by embeddings (fixed ids).
MEDIA_TOKENS: dict[str, int] = {"<|image|>": 258880, "<|audio|>": 258881, "<|video|>": 258884}

#: Special tokens at fixed dense ids (Gemma 4's ids where known; the stop tokens of ComfyUI's
#: Gemma4Config are 1, 50 and 106). Ids in between are ``<unused_N>`` fillers.
SPECIAL_TOKENS: dict[int, str] = {
    0: "<pad>",
    1: "<eos>",
    2: "<bos>",
    3: "<unk>",
    4: "<mask>",
    5: "<|image>",
    6: "<image|>",
    7: "<|audio>",
    8: "<audio|>",
    98: "<|think|>",
    100: "<|channel>",
    101: "<channel|>",
    105: "<|turn>",
    106: "<turn|>",
}

#: ``Gemma4_12B_Config`` dataclass fields for the tiny LTX-2.5 text encoder (48 layers kept for
#: ComfyUI's detection). Merged into the config dict the model is built from.
GEMMA4_12B_FIELDS: dict = {
    "vocab_size": VOCAB_SIZE,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 48,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
}

#: ``Gemma4_12B_Config`` class attributes (not dataclass fields): head sizes and the
#: encoder-free vision/audio embedders (patch and sample sizes stay: the tokenizer fixes them).
GEMMA4_12B_CLASS_ATTRS: dict = {
    "head_dim": 8,
    "global_head_dim": 16,
    "num_global_key_value_heads": 1,
    "vision_config": {
        "model_patch_size": 48,
        "patch_size": 16,
        "pooling_kernel_size": 3,
        "mm_embed_dim": 16,
        "mm_posemb_size": 1120,
        "output_proj_dims": 16,
        "rms_norm_eps": 1e-6,
    },
    "audio_config": {"audio_samples_per_token": 640, "output_proj_dims": 640, "rms_norm_eps": 1e-6},
}

#: ``Gemma4_E2B_Config`` dataclass fields for the tiny enhancer (35 layers kept for detection;
#: the last 20 share their KV as in E2B, with the double-wide MLP).
GEMMA4_E2B_FIELDS: dict = {
    "vocab_size": VOCAB_SIZE,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 35,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "hidden_size_per_layer_input": 4,
    "num_kv_shared_layers": 20,
}

#: ``Gemma4_E2B_Config`` class attributes: head sizes, the vision tower (patch 16 and pooling 3
#: are fixed by ComfyUI's tokenizer) and the conformer audio tower.
GEMMA4_E2B_CLASS_ATTRS: dict = {
    "head_dim": 8,
    "global_head_dim": 16,
    "vision_config": {
        "hidden_size": 16,
        "image_size": 896,
        "intermediate_size": 32,
        "num_attention_heads": 2,
        "num_hidden_layers": 1,
        "patch_size": 16,
        "head_dim": 8,
        "rms_norm_eps": 1e-6,
        "position_embedding_size": 1024,
        "pooling_kernel_size": 3,
    },
    "audio_config": {
        "hidden_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "conv_kernel_size": 5,
        "attention_chunk_size": 12,
        "attention_context_left": 13,
        "attention_context_right": 0,
        "attention_logit_cap": 50.0,
        "output_proj_dims": 16,
        "rms_norm_eps": 1e-6,
        "residual_weight": 0.5,
    },
}

# ClippedLinear's activation limits: keep them open (+-inf), as their defaults.
_CLIP_LIMITS = {"input_max": float("inf"), "input_min": float("-inf"),
                "output_max": float("inf"), "output_min": float("-inf")}


def tokenizer_json() -> bytes:
    """The tiny Gemma 4 tokenizer as ``tokenizers`` JSON (UTF-8 bytes).

    Byte-level BPE (any text encodes, distinct texts stay distinct) trained on ltx2's prompt
    corpus plus the prompt enhancer's system prompts of the ComfyUI tree (:func:`_system_prompts`),
    padded with ``<unused_N>`` entries to exactly :data:`VOCAB_SIZE` dense ids, special tokens at
    :data:`SPECIAL_TOKENS`, and the media placeholders of :data:`MEDIA_TOKENS` at their fixed
    sparse ids. Training on the system prompts matters for speed: TextGenerateLTX2Prompt puts a
    ~4,000-character system prompt before the user's text, which a byte-level tokenizer trained
    on the small corpus alone splits into ~2,600 tokens; the 35-layer E2B then spends ~20 s of CPU
    on the prefill. Trained on them it is ~800 tokens (~2 s). Deterministic for a given tree.
    Requires the ``tokenizers`` package (a ComfyUI requirement).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from .gemma3 import _TOKENIZER_CORPUS

    dense_specials = [SPECIAL_TOKENS.get(i, f"<unused_{i}>") for i in range(max(SPECIAL_TOKENS) + 1)]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=dense_specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(_TOKENIZER_CORPUS) + _system_prompts(), trainer=trainer)
    data = json.loads(tokenizer.to_str())
    vocab: dict[str, int] = data["model"]["vocab"]
    used = set(vocab.values())
    for index in range(VOCAB_SIZE):
        if index not in used:
            vocab[f"<unused_{index}>"] = index
    specials = {**{name: i for i, name in SPECIAL_TOKENS.items()}, **MEDIA_TOKENS}
    vocab.update(MEDIA_TOKENS)
    data["added_tokens"] = [
        {"id": i, "content": name, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for name, i in sorted(specials.items(), key=lambda item: item[1])
    ]
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _system_prompts() -> list[str]:
    """The string constants named ``*_SYSTEM_PROMPT`` of ``comfy_extras/nodes_textgen.py`` in the
    importable ComfyUI tree (read with ``ast``, not imported), sorted by name; [] without one."""
    import ast
    import importlib.util
    import pathlib

    spec = importlib.util.find_spec("comfy")
    if spec is None or not spec.submodule_search_locations:
        return []
    path = pathlib.Path(list(spec.submodule_search_locations)[0]).parent / "comfy_extras" / "nodes_textgen.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return []
    prompts = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.endswith("_SYSTEM_PROMPT") and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            prompts[node.targets[0].id] = node.value.value
    return [prompts[name] for name in sorted(prompts)]


def gemma4_12b_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """Tiny Gemma 4 12B (unified) weights, keys as ComfyUI's ``gemma4.Gemma4_12B``
    (``model.*``, ``vision_model.*``, ``multi_modal_projector.*``, ``audio_projector.*``),
    float32, without tokenizer or projection. Requires ComfyUI importable."""
    from .common import _prepare_comfy

    _prepare_comfy()
    import comfy.ops
    import comfy.text_encoders.gemma4 as g4
    import torch

    config_cls = type("TinyGemma4_12B_Config", (g4.Gemma4_12B_Config,), dict(GEMMA4_12B_CLASS_ATTRS))
    with torch.device("cpu"):
        module = g4.Gemma4UnifiedBase()
        module._init_model(config_cls(**GEMMA4_12B_FIELDS), torch.float32, "cpu", comfy.ops.disable_weight_init)
    return _randomised_gemma(module.state_dict(), seed)


def gemma4_e2b_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """Tiny Gemma 4 E2B weights (``model.*``, ``vision_model.*``, ``multi_modal_projector.*``,
    ``audio_model.*``, ``audio_projector.*``) plus ``tokenizer_json``, float32. Requires
    ComfyUI importable."""
    from .common import _prepare_comfy

    _prepare_comfy()
    import comfy.ops
    import comfy.text_encoders.gemma4 as g4
    import torch

    config_cls = type("TinyGemma4_E2B_Config", (g4.Gemma4_E2B_Config,), dict(GEMMA4_E2B_CLASS_ATTRS))
    variant = g4._make_variant(config_cls)  # how ComfyUI makes its Gemma4_E2B class, here from the tiny config
    with torch.device("cpu"):
        module = variant(GEMMA4_E2B_FIELDS, torch.float32, "cpu", comfy.ops.disable_weight_init)
    state = _randomised_gemma(module.state_dict(), seed)
    state["tokenizer_json"] = tokenizer_tensor()
    return state


def tokenizer_tensor() -> torch.Tensor:
    """:func:`tokenizer_json` as the uint8 tensor ComfyUI reads from ``tokenizer_json``."""
    import torch

    return torch.frombuffer(bytearray(tokenizer_json()), dtype=torch.uint8).clone()


def _randomised_gemma(state: dict, seed: int) -> dict[str, torch.Tensor]:
    """ltx2's seeded randomisation, with Gemma 4's fixed buffers kept meaningful: the
    ClippedLinear limits open (+-inf) and every ``layer_scalar`` 1."""
    import torch

    from .common import _randomised

    out = _randomised(dict(state), seed)
    for key in out:
        leaf = key.rsplit(".", 1)[-1]
        if leaf in _CLIP_LIMITS:
            out[key] = torch.full_like(out[key], _CLIP_LIMITS[leaf])
        elif leaf == "layer_scalar":
            out[key] = torch.ones_like(out[key])
    return out
