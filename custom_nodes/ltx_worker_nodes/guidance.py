"""The guidance rescale of Lightricks' LTX-2 reference pipeline, per modality, as ComfyUI math.

Plain tensor code (no import of torch or ComfyUI: only methods of the tensors it is given), so
that tests can load it without ComfyUI. The node that applies it is ``LTXWGuidanceRescale``
(nodes.py).

What the pipeline does (ltx-core 1.0.0 / ltx-pipelines 1.0.0 on PyPI):

* ``ltx_core/components/guiders.py:256-266`` (``MultiModalGuider.calculate``)::

      pred = cond + (cfg - 1) * (cond - uncond_text) + stg * (cond - uncond_perturbed)
                  + (modality - 1) * (cond - uncond_modality)
      if rescale_scale != 0:
          factor = cond.std() / pred.std()
          factor = rescale_scale * factor + (1 - rescale_scale)
          pred = pred * factor

  ``std()`` has no ``dim``: one number over every element of the modality's tensor (batch
  included), unbiased. Both stds count the same elements, so the ratio is the same for the
  biased std, and for any layout of the same elements (the pipeline's patchified tokens,
  ``ltx_core/components/patchifiers.py:27-39`` and ``:282-301``, or ComfyUI's 5-D/4-D latents).
* It runs once per modality: ``ltx_pipelines/utils/helpers.py:449-460`` calls the video guider
  on the video tensors and the audio guider on the audio tensors. The tensors are x0
  predictions ("denoised"): the transformer is an ``X0Model``
  (``ltx_core/model/transformer/model.py:461-486``), whose outputs are
  ``to_denoised(latent, velocity, timesteps)`` = ``latent - timesteps * velocity``
  (``ltx_core/utils.py:39-53``) with per-token ``timesteps = denoise_mask * sigma``
  (``ltx_pipelines/utils/helpers.py:307-312``).
* LTX-2.3 defaults: ``rescale_scale=0.7`` for video and for audio
  (``ltx_pipelines/utils/constants.py:38`` and ``:48``, kept by ``LTX_2_3_PARAMS`` at ``:68-73``,
  the CLI defaults of ``utils/args.py:318-326`` and ``:378-386``).

What ComfyUI 0.33.0 hands a post-CFG function (``comfy/samplers.py:600-603``): ``denoised``
(the guided prediction: ``cfg_result`` after the CFG function, ``LTXVDualCFGGuider``'s per-modality
scales included, and after the post-CFG functions patched in before this one, e.g.
``LTXVSpatioTemporalGuidance`` and ``LTXVModalityGuidance``), ``cond_denoised`` (the positive
prediction), ``input`` (x) and ``model`` (the BaseModel). All are x0 too: ComfyUI's flow models
return ``x - sigma * model_output`` (``comfy/model_sampling.py:90-92``). The rescale is not
invariant under a change of space (x0 = x - sigma * v adds x to every element, which changes
both stds), so it must be applied in x0 space, which is where both sides apply it.

The AV latent during sampling: ``CFGGuider.sample`` packs the NestedTensor (video, audio) with
``comfy.utils.pack_latents`` (``comfy/samplers.py:1280-1283``): every stream reshaped to
``(B, 1, -1)`` and concatenated on the last dim (``comfy/utils.py:1410-1418``), the stream shapes
kept as ``latent_shapes`` and set on the model as ``model.latent_shapes``
(``comfy/samplers.py:1221``, ``comfy/model_base.py:191``). Video is ``[..., :V]`` and audio
``[..., V:V+A]`` with ``V = prod(video_shape[1:])``, ``A = prod(audio_shape[1:])``: the cuts of
``comfy.utils.unpack_latents`` (``comfy/utils.py:1420-1430``), the ``v`` that
``LTXVDualCFGGuider`` splits its two CFG scales at (``comfy_extras/nodes_lt.py:1066-1073`` and
``:1084-1090``) and the ``n`` of ``comfy/model_base.py:2153``. A model with one stream (no
``latent_shapes``, or one shape) has the whole tensor as its video.

Conditioned tokens (image-to-video): the pipeline's x0 of a token with denoise mask ``m`` is
``x - m * sigma * v``; ComfyUI computes ``x - sigma * v`` for every token (the model still sees
``m * sigma`` as that token's timestep, ``comfy/model_base.py:1228-1237``). So ComfyUI's ``d``
maps to the pipeline's ``x + m * (d - x)``: exact for any ``m``, given the same x and velocity,
and linear, so it holds for the guided combination too. The factor is computed on that view
(a first frame kept at strength 1 has m = 0 there, and the pipeline's x0 is the clean latent),
and it multiplies ComfyUI's prediction. Tokens with m = 0 are then replaced by the clean
latent, by ComfyUI (``comfy/samplers.py:641-642``) as by the pipeline
(``ltx_pipelines/utils/helpers.py:280-282``); at m = 1 the two are the same tensor. The masks
are those the model's timesteps come from: ``model_conds["denoise_mask"]`` (video) and
``["audio_denoise_mask"]`` (``comfy/model_base.py:1191-1204``), per token as
``process_timestep`` reads them (channel 0 of the video mask; channel 0, bin 0 of the audio one).
"""

from __future__ import annotations

import math
from typing import Any

#: ltx_pipelines/utils/constants.py:38 and :48 (LTX_2_PARAMS, kept by LTX_2_3_PARAMS)
PIPELINE_RESCALE = {"video": 0.7, "audio": 0.7}


def rescale_factor(cond: Any, pred: Any, scale: float) -> Any:
    """``scale * cond.std() / pred.std() + (1 - scale)``: guiders.py:264-265, a 0-d tensor.

    Where ``pred`` has no spread at all (its std is 0, the pipeline's factor inf or nan) the
    factor is 1: the prediction is left as it is rather than made nan.
    """
    pred_std = pred.std()
    factor = scale * (cond.std() / pred_std) + (1.0 - scale)
    return factor.where(pred_std > 0, pred_std.new_ones(()))


def streams(total: Any, latent_shapes: Any) -> list[tuple[int, int, tuple[int, ...]]]:
    """Each stream of the sampled tensor `total` as (start, stop, shape) on its last dim.

    `latent_shapes` is ``model.latent_shapes``: None or one shape for a single-stream model (the
    whole tensor, unpacked, is its one stream); else the packed ``(B, 1, N)`` tensor of
    ``comfy.utils.pack_latents``, cut as ``comfy.utils.unpack_latents`` cuts it.

    Raises:
        ValueError: `total` is not the packing of `latent_shapes`.
    """
    shape = tuple(total.shape)
    if latent_shapes is None or len(latent_shapes) < 2:
        return [(0, shape[-1], shape)]
    sizes = [math.prod(s[1:]) for s in latent_shapes]
    if len(shape) != 3 or shape[1] != 1 or shape[2] != sum(sizes):
        raise ValueError(f"a packed latent of {sum(sizes)} values per sample (streams "
                         f"{[tuple(s) for s in latent_shapes]}) was expected, not {shape}")
    out, start = [], 0
    for stream_shape, size in zip(latent_shapes, sizes, strict=True):
        out.append((start, start + size, (shape[0], *tuple(stream_shape)[1:])))
        start += size
    return out


def timestep_masks(conds: Any) -> tuple[Any, Any]:
    """The (video, audio) per-token denoise masks of the model's timesteps, or None each.

    From the first entry of the processed positive conds that has them (``model_conds``, filled
    by ``LTXAV.extra_conds``); reduced as ``LTXAV.process_timestep`` reads them: the video mask
    to ``[:, :1]``, the audio mask to ``[:, :1, :, :1]``, both broadcasting over the stream.
    """
    for entry in conds or ():
        model_conds = entry.get("model_conds", {}) if isinstance(entry, dict) else {}
        video, audio = model_conds.get("denoise_mask"), model_conds.get("audio_denoise_mask")
        if video is None and audio is None:
            continue
        video = video.cond[:, :1] if video is not None else None
        audio = audio.cond[:, :1, :, :1] if audio is not None and audio.cond.ndim == 4 else None
        return video, audio
    return None, None


def pipeline_view(x: Any, denoised: Any, mask: Any) -> Any:
    """ComfyUI's x0 `denoised` as the pipeline's x0 of the same velocity: ``x + m * (d - x)``."""
    if mask is None:
        return denoised
    return x + mask.to(device=denoised.device, dtype=denoised.dtype) * (denoised - x)


def rescale(denoised: Any, cond_denoised: Any, x: Any, latent_shapes: Any,
            scales: tuple[float, float], masks: tuple[Any, Any] = (None, None)) -> Any:
    """`denoised` with each modality multiplied by the pipeline's rescale factor.

    `scales` and `masks` are (video, audio); stream 0 is video, stream 1 audio (a third stream,
    which no LTX-2 model has, would be left as it is). A scale of 0 leaves its modality as it
    is, as ``if rescale_scale != 0`` does (guiders.py:263).
    """
    out = None
    for index, (start, stop, shape) in enumerate(streams(denoised, latent_shapes)):
        scale = scales[index] if index < len(scales) else 0.0
        if scale == 0:
            continue

        def part(t: Any, start: int = start, stop: int = stop, shape: tuple = shape) -> Any:
            return t[..., start:stop].reshape(shape)

        x_part = part(x)
        mask = masks[index] if index < len(masks) else None
        factor = rescale_factor(pipeline_view(x_part, part(cond_denoised), mask),
                                pipeline_view(x_part, part(denoised), mask), scale)
        if out is None:
            out = denoised.clone()
        out[..., start:stop] = denoised[..., start:stop] * factor
    return denoised if out is None else out


def post_cfg_function(video_rescale: float, audio_rescale: float):
    """The ``sampler_post_cfg_function`` applying `video_rescale` / `audio_rescale`."""

    def rescale_guidance(args: dict) -> Any:
        return rescale(args["denoised"], args["cond_denoised"], args["input"],
                       getattr(args["model"], "latent_shapes", None),
                       (video_rescale, audio_rescale), timestep_masks(args.get("cond")))

    return rescale_guidance
