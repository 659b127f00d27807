"""Shrink ComfyUI's Gemma 3 12B text encoder to the tiny test size (test-only).

ComfyUI builds the LTX-2 text encoder (LTXAVTextEncoderLoader) as a full Gemma 3 12B
whatever the file holds: the sizes are fields and class attributes of
``comfy.text_encoders.llama.Gemma3_12B_Config``, not read from the weights. Inside the
ComfyUI process, :func:`install` makes every Gemma 3 12B it builds the tiny one that
``ltx_worker.tinymodels.gemma3`` writes (same sizes, imported from there). Never load this
in production: a real Gemma file would no longer fit.
"""

from __future__ import annotations

import functools

_MARK = "_ltx_worker_tiny_gemma"


def install() -> None:
    """Make ComfyUI build the tiny Gemma 3 12B (sizes from ``ltx_worker.tinymodels.gemma3``).

    Sets the class attributes ``head_dim`` and ``vision_config`` of
    ``Gemma3_12B_Config`` (the SigLIP vision tower is always built, about 400M
    parameters at full size) and wraps ``Gemma3_12B.__init__`` to merge
    ``GEMMA_TEXT_CONFIG`` into the config dict it receives. Idempotent. Does nothing
    when the ComfyUI tree has no Gemma 3 12B (no LTX-2 support, e.g. 0.3.75).

    Raises:
        ImportError: ``ltx_worker`` is not importable in the ComfyUI process while the
            tree does support Gemma 3 12B.
    """
    try:
        import comfy.text_encoders.llama as llama
    except ImportError:
        return
    config_cls = getattr(llama, "Gemma3_12B_Config", None)
    model_cls = getattr(llama, "Gemma3_12B", None)
    if config_cls is None or model_cls is None:
        return

    from ltx_worker.tinymodels import gemma3

    config_cls.head_dim = gemma3.GEMMA_HEAD_DIM
    config_cls.vision_config = dict(gemma3.GEMMA_VISION_CONFIG)

    if getattr(model_cls.__init__, _MARK, False):
        return
    original = model_cls.__init__

    @functools.wraps(original)
    def __init__(self, config_dict, *args, **kwargs):
        original(self, {**config_dict, **gemma3.GEMMA_TEXT_CONFIG}, *args, **kwargs)

    setattr(__init__, _MARK, True)
    model_cls.__init__ = __init__
