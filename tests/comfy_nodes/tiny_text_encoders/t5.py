"""Test-only: make ComfyUI build its T5-XXL text encoder at the tiny size of the test weights.

ComfyUI sizes T5-XXL from its own ``comfy/text_encoders/t5_config_xxl.json`` (d_model 4096,
24 layers), never from the file, so the tiny ``t5xxl_fp16.safetensors`` written by
``ltx_worker.tinymodels.ltxv`` would not load. ``comfy.sd1_clip.SDClipModel.__init__`` merges
``model_options["<model_name>_model_config"]`` into that config, but no loader passes it;
:func:`install` wraps ``SDClipModel.__init__`` to pass
``ltx_worker.tinymodels.ltxv.tiny_t5_config()`` for ``model_name == "t5xxl"`` (the name
``comfy.text_encoders.sd3_clip.T5XXLModel`` gives, which CLIPLoader type "ltxv" uses). Every
T5-XXL the process builds afterwards is tiny, whatever the loader; other text encoders (CLIP,
Gemma, ...) are left alone. Keys a caller already put in ``t5xxl_model_config`` win.

Only for ComfyUI processes run by the tests and the demo; never shipped.
"""

from __future__ import annotations

import functools
import inspect

_MODEL_NAME = "t5xxl"
_FLAG = "_ltx_worker_tiny_t5_installed"


def install() -> None:
    """Wrap ``comfy.sd1_clip.SDClipModel.__init__`` so that T5-XXL is built tiny.

    Call it inside the ComfyUI process (from a custom node's ``__init__``) before any T5-XXL is
    loaded. Idempotent: a second call does nothing. Chains with other wrappers of the same
    method (the sibling ``gemma`` module's), in either order.

    Raises ImportError when ComfyUI's ``comfy`` package or ``ltx_worker`` cannot be imported.
    """
    import comfy.sd1_clip

    from ltx_worker.tinymodels.ltxv import tiny_t5_config

    cls = comfy.sd1_clip.SDClipModel
    if getattr(cls, _FLAG, False):
        return
    original = cls.__init__
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):  # noqa: N807 - replaces SDClipModel.__init__
        bound = signature.bind(self, *args, **kwargs)
        model_options = bound.arguments.get("model_options") or {}
        if model_options.get("model_name") == _MODEL_NAME:
            key = f"{_MODEL_NAME}_model_config"
            merged = {**tiny_t5_config(), **(model_options.get(key) or {})}
            bound.arguments["model_options"] = {**model_options, key: merged}
        original(*bound.args, **bound.kwargs)

    cls.__init__ = __init__
    setattr(cls, _FLAG, True)
