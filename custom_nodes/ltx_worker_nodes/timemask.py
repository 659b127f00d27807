"""A noise mask over a time range of an LTX latent, one value per latent frame (no ComfyUI import).

An edit regenerates a section of a video and keeps the rest (issue 19; ltx-pipelines 1.0.0
``ltx_pipelines/retake.py``: noise mask 1 inside the section, 0 outside, on the video and the
audio latent). ComfyUI resizes a mask of another length with ``torch.nn.functional.interpolate``
(``comfy/utils.py`` ``reshape_mask``), which would blur the section's edges across latent frames,
so the mask here has the latent's exact frame count and, for audio, its frequency bins too:

* video latent ``[B, C, F, H, W]``: mask ``[B, 1, F, 1, 1]``, the per-latent-frame shape LTXV
  masks take (comfy_extras/nodes_lt.py ``get_noise_mask``). LTX's video VAE is causal with a
  temporal compression of 8: latent frame 0 holds pixel frame 0 alone, latent frame i >= 1 holds
  pixel frames 8(i-1)+1 .. 8i.
* audio latent ``[B, C, T, M]``: mask ``[B, 1, T, M]``; latent frame j covers seconds
  [j / rate, (j + 1) / rate), rate = the audio VAE's ``latents_per_second`` (25 for LTX-2's:
  16 kHz, hop 160, downsampled 4).

A latent frame is inside when any of its pixel frames (video) or any part of its span (audio) lies
in [start_s, start_s + duration_s): the regenerated frames cover the whole section.
"""

from __future__ import annotations

import math

#: Pixel frames per latent frame of LTX's video VAE (after the first, which holds one).
VIDEO_TIME_COMPRESSION = 8


def pixel_frames_of(latent_frame: int) -> range:
    """The pixel frames latent frame `latent_frame` of an LTX video latent holds."""
    if latent_frame == 0:
        return range(0, 1)
    first = VIDEO_TIME_COMPRESSION * (latent_frame - 1) + 1
    return range(first, first + VIDEO_TIME_COMPRESSION)


def video_frames_inside(latent_frames: int, fps: float, start_s: float, duration_s: float) -> list[bool]:
    """Per latent frame of a video latent of `latent_frames` frames at `fps` (pixel frames per
    second): whether one of its pixel frames starts inside [start_s, start_s + duration_s).

    Raises:
        ValueError: fps not positive, start_s or duration_s negative.
    """
    _check(fps, start_s, duration_s)
    end = start_s + duration_s
    eps = 1e-9  # a frame exactly on an edge belongs to the side it starts
    return [any(start_s - eps <= k / fps < end - eps for k in pixel_frames_of(i)) for i in range(latent_frames)]


def audio_frames_inside(latent_frames: int, latents_per_second: float, start_s: float,
                        duration_s: float) -> list[bool]:
    """Per latent frame of an audio latent at `latents_per_second`: whether its span overlaps
    [start_s, start_s + duration_s).

    Raises:
        ValueError: the rate not positive, start_s or duration_s negative.
    """
    _check(latents_per_second, start_s, duration_s)
    end = start_s + duration_s
    return [j / latents_per_second < end and (j + 1) / latents_per_second > start_s and duration_s > 0
            for j in range(latent_frames)]


def mask_for(samples, inside: list[bool], value_inside: float = 1.0, value_outside: float = 0.0):
    """The noise mask for a latent `samples` tensor (5-D video or 4-D audio, see the module doc),
    `value_inside` on the frames `inside` marks and `value_outside` elsewhere, float32 on the
    samples' device.

    Raises:
        ValueError: `samples` is not 4-D or 5-D, or `inside` does not have its frame count.
    """
    if samples.ndim not in (4, 5) or len(inside) != samples.shape[2]:
        raise ValueError(f"a latent of shape {tuple(samples.shape)} and {len(inside)} frame flags")
    values = samples.new_tensor([value_inside if x else value_outside for x in inside]).float()
    if samples.ndim == 5:
        shape = (samples.shape[0], 1, samples.shape[2], 1, 1)
        return values.view(1, 1, -1, 1, 1).expand(shape).clone()
    shape = (samples.shape[0], 1, samples.shape[2], samples.shape[3])
    return values.view(1, 1, -1, 1).expand(shape).clone()


def _check(rate: float, start_s: float, duration_s: float) -> None:
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"the frame rate must be positive, not {rate}")
    if start_s < 0 or duration_s < 0:
        raise ValueError(f"start_s and duration_s must be >= 0, not {start_s} and {duration_s}")
