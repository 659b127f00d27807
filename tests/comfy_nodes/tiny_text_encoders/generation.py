"""Caps text generation (the prompt enhancers' TextGenerateLTX2Prompt) at a few tokens.

A tiny random Gemma never emits an end-of-text token, so it would generate the template's whole
max_length (2048 for LTX-2.3, 600 for LTX-2.5), a minute per job on a CPU. The templates keep
the official values; only the test ComfyUI clamps what `comfy.sd.CLIP.generate` is asked for.
"""

import functools

#: Tokens a tiny enhancer generates at most in the tests.
MAX_TOKENS = 24


def install() -> None:
    """Wrap ``comfy.sd.CLIP.generate`` so that ``max_length`` is at most `MAX_TOKENS`."""
    import comfy.sd

    original = comfy.sd.CLIP.generate
    if getattr(original, "_ltxw_capped", False):
        return

    @functools.wraps(original)
    def generate(self, tokens, *args, max_length=256, **kwargs):
        return original(self, tokens, *args, max_length=min(max_length, MAX_TOKENS), **kwargs)

    generate._ltxw_capped = True
    comfy.sd.CLIP.generate = generate
