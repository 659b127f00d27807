"""Shrink ComfyUI's Gemma 4 12B and Gemma 4 E2B to the tiny test sizes (test-only).

LTX-2.5 loads two Gemma 4 files with CLIPLoader type "ltxv": the text encoder (Gemma 4 12B
"unified", with the LTX text projection) and the prompt enhancer (Gemma 4 E2B). ComfyUI sizes
both from ``comfy.text_encoders.gemma4.Gemma4_12B_Config`` / ``Gemma4_E2B_Config`` (dataclass
fields, plus class attributes for the head sizes and the vision/audio towers), never from the
file. Inside the ComfyUI process, :func:`install` makes every Gemma 4 12B and E2B it builds the
tiny ones that ``ltx_worker.tinymodels.gemma4`` writes (same sizes, imported from there). Other
Gemma 4 variants (E4B, 31B) are left alone. Never load this in production.
"""

from __future__ import annotations

import functools

_MARK = "_ltx_worker_tiny_gemma4"


def install() -> None:
    """Make ComfyUI build the tiny Gemma 4 12B and E2B (sizes from ``ltx_worker.tinymodels.gemma4``).

    Sets the class attributes of ``Gemma4_12B_Config`` and ``Gemma4_E2B_Config`` (head sizes,
    vision and audio configs; the full-size towers would otherwise be allocated) and wraps the
    ``__init__`` of the model classes ``gemma4.Gemma4_12B`` and ``gemma4.Gemma4_E2B`` to merge
    the tiny dataclass fields into the config dict they receive. The E2B class is found by its
    module-level name: every variant class ComfyUI makes is called ``Variant``. Idempotent. Does
    nothing when the ComfyUI tree has no Gemma 4 (before LTX-2.5 support).

    Raises:
        ImportError: ``ltx_worker`` is not importable in the ComfyUI process while the tree does
            have Gemma 4.
    """
    try:
        import comfy.text_encoders.gemma4 as g4
    except ImportError:
        return

    from ltx_worker.tinymodels import gemma4 as tiny

    targets = (
        ("Gemma4_12B_Config", "Gemma4_12B", tiny.GEMMA4_12B_CLASS_ATTRS, tiny.GEMMA4_12B_FIELDS),
        ("Gemma4_E2B_Config", "Gemma4_E2B", tiny.GEMMA4_E2B_CLASS_ATTRS, tiny.GEMMA4_E2B_FIELDS),
    )
    for config_name, model_name, class_attrs, fields in targets:
        config_cls = getattr(g4, config_name, None)
        model_cls = getattr(g4, model_name, None)
        if config_cls is None or model_cls is None:
            continue
        for name, value in class_attrs.items():
            setattr(config_cls, name, dict(value) if isinstance(value, dict) else value)
        _wrap_init(model_cls, fields)


def _wrap_init(model_cls: type, fields: dict) -> None:
    """Wrap ``model_cls.__init__(config_dict, ...)`` to merge `fields` into ``config_dict``."""
    if getattr(model_cls.__init__, _MARK, False):
        return
    original = model_cls.__init__

    @functools.wraps(original)
    def __init__(self, config_dict, *args, **kwargs):  # noqa: N807 - replaces the model's __init__
        original(self, {**config_dict, **fields}, *args, **kwargs)

    setattr(__init__, _MARK, True)
    model_cls.__init__ = __init__
