"""Nodes of the LTX-Worker pack (ComfyUI V3 API, ``comfy_api.latest``).

Written against the API as ComfyUI 0.3.75 and 0.33.0 both offer it: ``io.Schema`` without the
newer fields (search aliases, badges), and ``comfy.sd.load_lora_for_models`` with or without
its ``lora_metadata`` argument.
"""

from __future__ import annotations

import inspect
import os
import threading
from typing import Any

import comfy.sd
import comfy.utils
import folder_paths
from comfy_api.latest import io

from .guidance import PIPELINE_RESCALE, post_cfg_function
from .presets import NONE, PRESETS, hub_repo, lora_file
from .timemask import audio_frames_inside, mask_for, video_frames_inside

#: Newer ComfyUI (0.33.0 here) passes the LoRA's safetensors metadata on (IC-LoRA parameters);
#: 0.3.75 has no such argument.
_LORA_TAKES_METADATA = "lora_metadata" in inspect.signature(comfy.sd.load_lora_for_models).parameters

# The last LoRA read, as (path, mtime_ns, size) -> (state dict, metadata): changing only the
# strength does not read the file again, and a file rewritten in place is read afresh.
_cache_lock = threading.Lock()
_cache: tuple[tuple[str, int, int], Any, Any] | None = None


def _load_lora(path: str) -> tuple[Any, Any]:
    """The state dict and safetensors metadata of the LoRA at `path` (one-entry cache)."""
    global _cache
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        if _cache is not None and _cache[0] == key:
            return _cache[1], _cache[2]
    lora, metadata = comfy.utils.load_torch_file(path, safe_load=True, return_metadata=True)
    with _cache_lock:
        _cache = (key, lora, metadata)
    return lora, metadata


class CameraLoRAPreset(io.ComfyNode):
    """Applies one of the LTX-2 camera-control LoRAs to a model, chosen by its preset name.

    The preset "none" (or a strength of 0) passes the model through unchanged, so a workflow
    keeps one node whether or not a camera move is wanted. Otherwise the preset's file
    (``loras/ltx-2-19b-lora-camera-control-<move>.safetensors``) is applied to the model only,
    as the core "LoraLoaderModelOnly" does.
    """

    @classmethod
    def define_schema(cls) -> io.Schema:
        """The node's inputs (model, preset, strength) and output (the patched model)."""
        return io.Schema(
            node_id="LTXWCameraLoRAPreset",
            display_name="LTX-2 Camera LoRA Preset",
            category="LTX-Worker",
            description=(
                "Applies an LTX-2 camera-control LoRA (static, dolly in/out/left/right, jib "
                "up/down) to the model by preset name; 'none' or strength 0 passes the model "
                "through unchanged."
            ),
            inputs=[
                io.Model.Input("model", tooltip="The LTX-2 model to apply the camera LoRA to."),
                io.Combo.Input(
                    "preset",
                    options=list(PRESETS),
                    default=NONE,
                    tooltip=(
                        "Camera move. Each needs its LoRA file in models/loras: "
                        "ltx-2-19b-lora-camera-control-<move with - for _>.safetensors."
                    ),
                ),
                io.Float.Input(
                    "strength",
                    default=1.0,
                    min=0.0,
                    max=2.0,
                    step=0.05,
                    tooltip="How strongly the LoRA modifies the model; 0 leaves it unchanged.",
                ),
            ],
            outputs=[io.Model.Output(tooltip="The model with the camera LoRA applied.")],
        )

    @classmethod
    def execute(cls, model: Any, preset: str, strength: float) -> io.NodeOutput:
        """Return `model` patched with the preset's LoRA at `strength` (unchanged for "none").

        Raises:
            ValueError: an unknown preset.
            FileNotFoundError: the preset's LoRA file is not in any of ComfyUI's ``loras``
                folders (the message names the file and the repository that publishes it).
        """
        if preset == NONE or strength == 0:
            return io.NodeOutput(model)
        name = lora_file(preset)
        try:
            path = folder_paths.get_full_path_or_raise("loras", name)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"camera LoRA file {name!r} for preset {preset!r} is not in ComfyUI's 'loras' "
                f"model folder; download it from https://huggingface.co/{hub_repo(preset)}"
            ) from None
        lora, metadata = _load_lora(path)
        kwargs = {"lora_metadata": metadata} if _LORA_TAKES_METADATA else {}
        patched, _ = comfy.sd.load_lora_for_models(model, None, lora, strength, 0, **kwargs)
        return io.NodeOutput(patched)


class LTXWGuidanceRescale(io.ComfyNode):
    """The guidance rescale of Lightricks' LTX-2 pipeline, per modality, as a post-CFG function.

    ltx-pipelines' multimodal guider (ltx-core 1.0.0, ``ltx_core/components/guiders.py:263-266``)
    ends each modality's guided x0 prediction with::

        factor = rescale_scale * cond.std() / pred.std() + (1 - rescale_scale)
        pred = pred * factor

    (``cond``: the positive prediction; ``pred``: after CFG, STG and modality guidance; std over
    every element of that modality), at ``rescale_scale`` 0.7 for video and for audio in
    LTX-2.3 (``ltx_pipelines/utils/constants.py:38`` and ``:48``). ComfyUI 0.33.0's core
    "RescaleCFG" is not that: it replaces the model's CFG function (which
    ``LTXVDualCFGGuider`` overwrites when video and audio CFG differ,
    ``comfy_extras/nodes_lt.py:1075-1094``), uses per-sample stds over the packed video+audio
    tensor and runs before the STG and modality terms. A post-CFG function runs after the CFG
    function in any case (``comfy/samplers.py:600-603``), in the order the model patches were
    applied: this node goes last, after ``LTXVSpatioTemporalGuidance`` and
    ``LTXVModalityGuidance``, as the pipeline rescales after all other guidance.

    The packed AV latent is split where ComfyUI packs it (``model.latent_shapes``,
    ``comfy/samplers.py:1221``, ``comfy/utils.py:1410-1430``), and an image-conditioned token
    counts as the pipeline counts it; guidance.py has the derivation and the line numbers.
    A rescale of 0 leaves its modality unchanged (``if rescale_scale != 0``, guiders.py:263).
    """

    @classmethod
    def define_schema(cls) -> io.Schema:
        """The node's inputs (model, video_rescale, audio_rescale) and output (the model)."""

        def scale(name: str, modality: str) -> io.Float.Input:
            return io.Float.Input(
                name,
                default=PIPELINE_RESCALE[modality],
                min=0.0,
                max=1.0,
                step=0.01,
                tooltip=(
                    f"rescale_scale of the {modality}: how far the guided {modality} prediction "
                    f"is scaled back to the spread of the positive one; 0 leaves it unchanged. "
                    f"LTX-2.3's pipeline uses {PIPELINE_RESCALE[modality]}."
                ),
            )

        return io.Schema(
            node_id="LTXWGuidanceRescale",
            display_name="LTX-2 Guidance Rescale (video/audio)",
            category="LTX-Worker",
            description=(
                "Lightricks' LTX-2 pipeline guidance rescale (guiders.py rescale_scale), per "
                "modality of the packed audio-video latent: the guided prediction times "
                "s * std(positive) / std(guided) + 1 - s. Place it after STG and modality "
                "guidance, before the guider."
            ),
            inputs=[
                io.Model.Input("model", tooltip="The LTX-2 model, after its other guidance patches."),
                scale("video_rescale", "video"),
                scale("audio_rescale", "audio"),
            ],
            outputs=[io.Model.Output(tooltip="The model with the rescale as its last post-CFG function.")],
        )

    @classmethod
    def execute(cls, model: Any, video_rescale: float, audio_rescale: float) -> io.NodeOutput:
        """A clone of `model` with the rescale appended to its post-CFG functions (none when
        both rescales are 0)."""
        if video_rescale == 0 and audio_rescale == 0:
            return io.NodeOutput(model)
        patched = model.clone()
        patched.set_model_sampler_post_cfg_function(post_cfg_function(video_rescale, audio_rescale))
        return io.NodeOutput(patched)


class LTXWTimeMask(io.ComfyNode):
    """A noise mask over a time range of an LTX video or audio latent, exact per latent frame.

    For edits (retake, extend; issue 19): ltx-pipelines' RetakePipeline regenerates a section
    with a noise mask of 1 inside it and 0 outside on the video and the audio latent
    (``ltx_pipelines/retake.py``); samplers honour a mask per modality of the packed AV latent
    (``comfy/samplers.py`` KSamplerX0Inpaint). A mask of another length than the latent's would
    be interpolated by ComfyUI (``comfy/utils.py`` ``reshape_mask``) and blur the section's
    edges; this one has the latent's exact frame count (timemask.py has the frame mapping).
    The latent's other entries pass through; its ``noise_mask`` is replaced.
    """

    @classmethod
    def define_schema(cls) -> io.Schema:
        """The node's inputs (latent, start_s, duration_s, fps, audio_vae, inside, outside) and
        output (the latent with its noise mask)."""
        return io.Schema(
            node_id="LTXWTimeMask",
            display_name="LTX Time Range Noise Mask",
            category="LTX-Worker",
            description=(
                "Sets the noise mask of an LTX video or audio latent over a time range, one value "
                "per latent frame: 'inside' (1 = regenerate) from start_s for duration_s, "
                "'outside' (0 = keep) elsewhere. Video frames map to latent frames as LTX's causal "
                "VAE packs them (1, then 8 per latent frame); audio needs its audio VAE's rate."
            ),
            inputs=[
                io.Latent.Input("latent", tooltip="An LTX video latent, or an LTX audio latent (with audio_vae)."),
                io.Float.Input("start_s", default=0.0, min=0.0, max=3600.0, step=0.01,
                               tooltip="Where the range starts, seconds from the latent's first frame."),
                io.Float.Input("duration_s", default=1.0, min=0.0, max=3600.0, step=0.01,
                               tooltip="How long the range lasts, seconds."),
                io.Float.Input("fps", default=24.0, min=1.0, max=240.0, step=0.01,
                               tooltip="Pixel frames per second of the video (video latents)."),
                io.Vae.Input("audio_vae", optional=True,
                             tooltip="The LTX audio VAE: its latents per second (audio latents only)."),
                io.Float.Input("inside", default=1.0, min=0.0, max=1.0, step=0.01,
                               tooltip="Mask value inside the range (1: regenerated)."),
                io.Float.Input("outside", default=0.0, min=0.0, max=1.0, step=0.01,
                               tooltip="Mask value outside the range (0: kept as it is)."),
            ],
            outputs=[io.Latent.Output(tooltip="The latent with its noise mask over the range.")],
        )

    @classmethod
    def execute(cls, latent: dict, start_s: float, duration_s: float, fps: float, inside: float,
                outside: float, audio_vae: Any = None) -> io.NodeOutput:
        """The latent with ``noise_mask`` over [start_s, start_s + duration_s).

        Raises:
            ValueError: an audio latent without its audio VAE, or a latent that is neither a 5-D
                video nor a 4-D audio latent.
        """
        samples = latent["samples"]
        if samples.ndim == 5:
            flags = video_frames_inside(samples.shape[2], fps, start_s, duration_s)
        elif samples.ndim == 4:
            if audio_vae is None:
                raise ValueError("an audio latent's time mask needs its audio VAE (its latents per second)")
            rate = audio_vae.first_stage_model.latents_per_second
            flags = audio_frames_inside(samples.shape[2], rate, start_s, duration_s)
        else:
            raise ValueError(f"not an LTX video or audio latent: samples of shape {tuple(samples.shape)}")
        return io.NodeOutput({**latent, "noise_mask": mask_for(samples, flags, inside, outside)})


#: Every node of the pack, as the extension lists them.
NODES: list[type[io.ComfyNode]] = [CameraLoRAPreset, LTXWGuidanceRescale, LTXWTimeMask]
