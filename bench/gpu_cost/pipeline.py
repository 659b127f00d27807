"""One point (family, quality, size, frames) through ComfyUI's own nodes, stage by stage.

The node calls follow the worker's templates (workflows/<family>/<family>_t2v_<quality>.json):
LTXVConditioning(frame_rate) -> EmptyLTXVLatentVideo(W/2, H/2, length) + LTXVEmptyLatentAudio ->
LTXVConcatAVLatent -> SamplerCustomAdvanced (stage 1: RandomNoise, CFGGuider or LTXVDualCFGGuider,
STG / modality guidance where the template has them, KSamplerSelect, ManualSigmas or
LTXVScheduler) -> LTXVSeparateAVLatent -> LTXVCropGuides -> LTXVLatentUpsampler -> concat ->
SamplerCustomAdvanced (stage 2, the LoRA clone where the template patches one) -> separate ->
VAEDecodeTiled(template tiles) + LTXVAudioVAEDecode. CreateVideo / SaveVideo (CPU encoding) and
the text encoder are not part of the GPU stages.

Each stage is timed between ``torch.cuda.synchronize()`` calls; before it the allocator cache is
emptied and the peak counters reset, after it ``max_memory_allocated`` / ``max_memory_reserved``
are read. ``need_*`` subtracts the models ComfyUI holds on the GPU that the stage does not use
(ComfyUI would unload them on a GPU too small to keep them): that is what decides the smallest GPU.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field

import torch

from . import configs, models


@dataclass
class FamilyModels:
    """Everything one family needs, built once per (family, weight dtype) and shared by points."""

    family: configs.Family
    weight_dtype: str
    dit: object
    dit_info: dict
    vae: object
    audio_vae: object
    upscaler: object
    positive: list
    negative: list
    build_s: float
    loras: dict = field(default_factory=dict)  # name -> (patcher, bytes)

    def lora(self, name: str, rank: int, strength: float):
        if name not in self.loras:
            self.loras[name] = models.with_lora(self.dit, rank, strength, seed=3000 + rank)
        return self.loras[name][0]

    def modules(self) -> list:
        return [self.dit.model, self.vae.patcher.model, self.audio_vae.patcher.model, self.upscaler.model]


def build_family(family: configs.Family, weight_dtype: str, audio_cfg: dict, upscaler_cfg: dict) -> FamilyModels:
    t0 = time.perf_counter()
    dit, info = models.build_transformer(family.transformer, weight_dtype, seed=1)
    vae = models.build_video_vae(family.video_vae, seed=2)
    audio = models.build_audio_vae(audio_cfg, family.vocoder, seed=3)
    up = models.build_upscaler(upscaler_cfg, seed=4)
    pos, neg = models.conditioning(family.transformer, 5), models.conditioning(family.transformer, 6)
    _sync()
    return FamilyModels(family, weight_dtype, dit, info, vae, audio, up, pos, neg, time.perf_counter() - t0)


def release(fm: FamilyModels | None) -> None:
    """Forget a family's models without copying them back to the host (they are discarded)."""
    import comfy.model_management as mm

    if fm is None:
        gc.collect()
        mm.soft_empty_cache()
        return
    mods = {id(m) for m in fm.modules()}
    mm.current_loaded_models[:] = [
        lm for lm in mm.current_loaded_models if id(getattr(lm.model, "model", None)) not in mods
    ]
    fm.loras.clear()
    fm.dit = fm.vae = fm.audio_vae = fm.upscaler = None
    gc.collect()
    mm.soft_empty_cache()


def run_point(
    fm: FamilyModels,
    pipe: configs.Pipeline,
    width: int,
    height: int,
    frames: int,
    *,
    attention: str | None = None,
    decode: bool = True,
) -> dict:
    """Run the pipeline once; returns per-stage seconds and memory (see the module docstring).

    Inside ``torch.inference_mode()``, as ComfyUI's executor runs every node.
    """
    with torch.inference_mode():
        return _run_point(fm, pipe, width, height, frames, attention, decode)


def _run_point(
    fm: FamilyModels, pipe: configs.Pipeline, width: int, height: int, frames: int, attention: str | None, decode: bool
) -> dict:
    import nodes
    from comfy_extras import nodes_custom_sampler as ncs
    from comfy_extras import nodes_lt, nodes_lt_audio, nodes_lt_upsampler

    fps = fm.family.fps
    pos, neg = _out(nodes_lt.LTXVConditioning.execute(fm.positive, fm.negative, float(fps)))
    stage_models = [_stage_model(fm, pipe, pipe.stage1, attention), _stage_model(fm, pipe, pipe.stage2, attention)]
    results: dict = {}
    timer = _StageTimer(fm, results)

    with timer("stage1", [stage_models[0].model]):
        video = _out(nodes_lt.EmptyLTXVLatentVideo.execute(width // 2, height // 2, frames, 1))[0]
        audio = _out(nodes_lt_audio.LTXVEmptyLatentAudio.execute(frames, fps, 1, fm.audio_vae))[0]
        latent = _out(nodes_lt.LTXVConcatAVLatent.execute(video, audio))[0]
        latent = _sample(ncs, nodes_lt, pipe.stage1, stage_models[0], pos, neg, latent, seed=10)
    with timer("upscale", [fm.upscaler.model]):
        video, audio = _out(nodes_lt.LTXVSeparateAVLatent.execute(latent))
        if pipe.crop_guides:
            pos, neg, _ = _out(nodes_lt.LTXVCropGuides.execute(pos, neg, video))
        video = _out(nodes_lt_upsampler.LTXVLatentUpsampler.execute(video, fm.upscaler, fm.vae))[0]
        latent = _out(nodes_lt.LTXVConcatAVLatent.execute(video, audio))[0]
    with timer("stage2", [stage_models[1].model]):
        latent = _sample(ncs, nodes_lt, pipe.stage2, stage_models[1], pos, neg, latent, seed=42)
    if decode:
        video, audio = _out(nodes_lt.LTXVSeparateAVLatent.execute(latent))
        with timer("decode_video", [fm.vae.patcher.model]):
            images = nodes.VAEDecodeTiled().decode(fm.vae, video, *pipe.tiles)[0]
        with timer("decode_audio", [fm.audio_vae.patcher.model]):
            sound = _out(nodes_lt_audio.LTXVAudioVAEDecode.execute(audio, fm.audio_vae))[0]
        results["output"] = {
            "images": list(images.shape),
            "audio": list(sound["waveform"].shape),
            "sample_rate": sound["sample_rate"],
        }
    return results


def warm(
    fm: FamilyModels,
    pipe: configs.Pipeline,
    size: tuple[int, int] = (256, 256),
    attention: str | None = None,
    decode: bool = True,
) -> float:
    """The whole pipeline once at the smallest size: kernels warmed, every model registered with
    ComfyUI, and the stage-2 model loaded last, as a previous job would leave it (so a stage-1
    model switch, e.g. unpatching a LoRA, is paid inside the measured stage 1 as in production)."""
    t0 = time.perf_counter()
    run_point(fm, pipe, size[0], size[1], 9, attention=attention, decode=decode)
    return time.perf_counter() - t0


def attention_choices() -> list[str]:
    """ComfyUI's registered attention functions in this environment (comfy/ldm/modules/attention.py)."""
    import comfy.ldm.modules.attention as attention

    return list(attention.REGISTERED_ATTENTION_FUNCTIONS)


def _stage_model(fm: FamilyModels, pipe: configs.Pipeline, stage: configs.Stage, attention: str | None):
    from comfy_extras import nodes_lt

    model = fm.dit
    if stage.lora:
        rank, strength = pipe.loras[stage.lora]
        model = fm.lora(stage.lora, rank, strength)
    if stage.stg_blocks:
        model = _out(nodes_lt.LTXVSpatioTemporalGuidance.execute(model, 1.0, stage.stg_blocks, 0.0, 1.0))[0]
    if stage.modality_scale != 1.0:
        model = _out(nodes_lt.LTXVModalityGuidance.execute(model, stage.modality_scale, 0.0, 1.0))[0]
    if attention:
        import comfy.ldm.modules.attention as attn

        model = model.clone()
        model.set_model_optimized_attention(attn.get_attention_function(attention))
    return model


def _sample(ncs, nodes_lt, stage: configs.Stage, model, pos, neg, latent, seed: int):
    if stage.dual_cfg:
        guider = _out(nodes_lt.LTXVDualCFGGuider.execute(model, pos, neg, *stage.dual_cfg))[0]
    else:
        guider = _out(ncs.CFGGuider.execute(model, pos, neg, stage.cfg))[0]
    if stage.scheduler_steps:
        sigmas = _out(nodes_lt.LTXVScheduler.execute(stage.scheduler_steps, 2.05, 0.95, True, 0.1, latent))[0]
    else:
        sigmas = _out(ncs.ManualSigmas.execute(", ".join(str(s) for s in stage.sigmas)))[0]
    sampler = _out(ncs.KSamplerSelect.execute(stage.sampler))[0]
    noise = _out(ncs.RandomNoise.execute(seed))[0]
    return _out(ncs.SamplerCustomAdvanced.execute(noise, guider, sampler, sigmas, latent))[0]


def _out(node_output) -> tuple:
    """The outputs of a V3 node's execute (io.NodeOutput) or a V1 node's tuple."""
    return tuple(getattr(node_output, "result", node_output))


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class _StageTimer:
    """Context manager factory: seconds and peak memory of one stage into `results`."""

    def __init__(self, fm: FamilyModels, results: dict):
        self.fm, self.results = fm, results

    def __call__(self, name: str, used: list):
        return _Stage(self, name, used)


class _Stage:
    def __init__(self, timer: _StageTimer, name: str, used: list):
        self.timer, self.name, self.used = timer, name, {id(m) for m in used}

    def __enter__(self):
        import comfy.model_management as mm

        _sync()
        self.cuda = torch.cuda.is_available()
        if self.cuda:
            mm.soft_empty_cache()
            torch.cuda.reset_peak_memory_stats()
        self.t0 = time.perf_counter()

    def __exit__(self, exc_type, exc, tb):
        import comfy.model_management as mm

        _sync()
        seconds = time.perf_counter() - self.t0
        row = {"seconds": seconds}
        if self.cuda:
            idle = sum(
                lm.model_loaded_memory()
                for lm in mm.current_loaded_models
                if id(getattr(lm.model, "model", None)) not in self.used
            )
            row.update(
                peak_allocated=torch.cuda.max_memory_allocated(),
                peak_reserved=torch.cuda.max_memory_reserved(),
                idle_models=idle,
            )
            row.update(need_allocated=row["peak_allocated"] - idle, need_reserved=row["peak_reserved"] - idle)
        self.timer.results[self.name] = row
        return False
