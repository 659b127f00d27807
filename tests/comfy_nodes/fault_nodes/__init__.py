"""Test-only ComfyUI node that raises CUDA's out-of-memory error, which a CPU cannot produce.

ComfyUI handles the error as it would on a GPU (its OOM path unloads models and reports
``execution_error``); the worker must turn it into OUT_OF_MEMORY and call ``/free``.
"""

import torch


class LTXWTestRaiseOOM:
    """Raises ``torch.OutOfMemoryError`` when executed (output node, so a prompt runs it)."""

    @classmethod
    def INPUT_TYPES(cls):  # noqa: N802 - ComfyUI's name
        return {"required": {"nonce": ("INT", {"default": 0, "min": 0, "max": 2**31})}}

    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "run"
    CATEGORY = "testing"

    def run(self, nonce):
        raise torch.OutOfMemoryError(
            "CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.11 GiB total capacity)"
        )


NODE_CLASS_MAPPINGS = {"LTXWTestRaiseOOM": LTXWTestRaiseOOM}
