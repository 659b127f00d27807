"""A random LTX-2 video decoder that paints a mosaic: 32x32-pixel blocks held for 8 frames.

A randomly initialised decoder outputs per-pixel noise that changes every frame, which H.264
cannot compress: at 704x704 and 49 frames the SaveVideo node spent more time encoding it than
the sampler and the decoder together (measured: 5.5 s of full noise against 0.6 s for blocks
held for 8 frames, PyAV libx264). Tests compare videos with each other, never with a picture, so
what they need of a decoder is only that its output is a deterministic function of the latent.

:func:`mosaic_video_decoder` rewrites the decoder weights of the tiny LTX-2 VAE
(`ltx2_checkpoint.VIDEO_VAE_CONFIG`: conv_in, a res_x block, three ``compress_all`` 2x2x2
depth-to-space upsamplers with a residual, conv_out and a 4x4 unpatchify; read
against comfy/ldm/lightricks/vae/causal_video_autoencoder.py, ComfyUI 0.33.0) so that each
latent cell (32x32 pixels, 8 frames; the first latent frame 1 frame) decodes to one colour:

* conv_in and the res_x block work at latent resolution and keep their random weights
  (any tap): they mix neighbouring latent cells, which no block structure can notice.
* Each upsampler's conv computes ``8 * C`` channels, channel ``c*8 + s`` going to sub-position
  ``s`` of output channel ``c`` (``DepthToSpaceUpsample.forward``, the einops pattern
  ``b (c p1 p2 p3) d h w``). Its rows are tied across ``s`` so all 8 sub-positions get the same
  value; and since the residual adds input channel ``s`` at sub-position ``s`` (C = 8 here,
  so the residual's one channel is repeated), the current-frame, centre tap of row ``c*8 + s``
  carries ``-1`` on input channel ``s``: the residual cancels exactly and the output stays
  constant over each 2x2x2 cube.
* The second and third upsamplers and conv_out use their current-frame,
  centre tap only (causal decoder: temporal tap 2), so the cubes add up to 8x8x8 cells at a
  quarter of the pixel size; conv_out's 16 sub-pixel rows per colour are tied, so unpatchify
  paints 4x4-pixel squares of one colour: 32x32 pixels in all.

Causality is kept (a frame depends on its own and earlier latent frames), so the image-to-video
tests can still check that the first frame is fixed by the start image. Everything here works
on state dicts of tensors; nothing is imported or computed at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: Channels of every decoder stage of the tiny VAE (``decoder_base_channels``; the upsamplers'
#: ``multiplier`` 1 keeps it) and the sub-positions of one 2x2x2 depth-to-space step.
CHANNELS = 8
SUBPOSITIONS = 8
#: Sub-pixels of one colour in conv_out (``patch_size`` 4, squared).
PATCH_PIXELS = 16
#: The current frame's tap of a causal 3-tap temporal kernel, and the spatial centre.
CENTRE = (2, 1, 1)


def mosaic_video_decoder(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Rewrite ``<prefix>decoder.*`` of a randomised tiny LTX-2 VAE state dict in place (see
    the module docstring) and return it.

    Values are taken from the random tensors already there (so the seed still decides them);
    centre-only kernels are scaled by sqrt(27) to keep the random init's output spread.
    Raises KeyError or ValueError when the state dict is not shaped like
    `ltx2_checkpoint.VIDEO_VAE_CONFIG`'s decoder.
    """
    import torch

    def get(name: str, shape: tuple[int, ...]) -> torch.Tensor:
        tensor = state[prefix + name]
        if tuple(tensor.shape) != shape:
            raise ValueError(f"{prefix}{name} is {tuple(tensor.shape)}, expected {shape}: not the tiny LTX-2 VAE")
        return tensor

    def centre_only(weight: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(weight)
        out[(slice(None), slice(None)) + CENTRE] = weight[(slice(None), slice(None)) + CENTRE] * 27**0.5
        return out

    c = CHANNELS
    for k in (1, 2, 3):
        name = f"decoder.up_blocks.{k}.conv.conv"
        weight = get(f"{name}.weight", (c * SUBPOSITIONS, c, 3, 3, 3)).clone()
        bias = get(f"{name}.bias", (c * SUBPOSITIONS,))
        if k > 1:
            weight = centre_only(weight)
        rows = weight[::SUBPOSITIONS].repeat_interleave(SUBPOSITIONS, dim=0)  # row c*8+s = row c*8
        for s in range(SUBPOSITIONS):
            rows[(slice(s, None, SUBPOSITIONS), s) + CENTRE] -= 1.0  # cancels the residual's channel s
        state[prefix + name + ".weight"] = rows.contiguous()
        state[prefix + name + ".bias"] = bias[::SUBPOSITIONS].repeat_interleave(SUBPOSITIONS).contiguous()
    if any(k.startswith(prefix + "decoder.up_blocks.4.") for k in state):
        raise ValueError(f"{prefix}decoder has a block after the upsamplers: not the tiny LTX-2 VAE")
    colours = 3
    weight = centre_only(get("decoder.conv_out.conv.weight", (colours * PATCH_PIXELS, c, 3, 3, 3)))
    bias = get("decoder.conv_out.conv.bias", (colours * PATCH_PIXELS,))
    tied = weight[::PATCH_PIXELS].repeat_interleave(PATCH_PIXELS, dim=0)  # one row per colour
    state[prefix + "decoder.conv_out.conv.weight"] = tied.contiguous()
    state[prefix + "decoder.conv_out.conv.bias"] = bias[::PATCH_PIXELS].repeat_interleave(PATCH_PIXELS).contiguous()
    return state
