"""Test-only ComfyUI custom node pack: shrinks the text encoders to the tiny test sizes.

ComfyUI builds full-size T5-XXL, Gemma-3-12B and Gemma-4 (12B, E2B) text encoders whatever the
file holds (FACTS.md), so the tiny weights of ltx_worker.tinymodels need these patches inside the
ComfyUI process. Loaded only by the tests and the tiny-model demo; never part of the shipped node pack.
It adds no nodes. It also caps text generation at a few tokens (generation.py).
"""

from . import gemma, gemma4, generation, t5

t5.install()
gemma.install()
gemma4.install()
generation.install()  # tiny enhancers stop after a few tokens

NODE_CLASS_MAPPINGS: dict = {}
NODE_DISPLAY_NAME_MAPPINGS: dict = {}
