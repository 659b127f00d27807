"""Real-size (or tiny) LTX modules with random weights, built from ComfyUI's own classes.

Nothing is read from or written to disk. Each builder does what the matching ComfyUI loader does
after reading a file, with random numbers in place of the file's tensors:

* transformer: UNETLoader / ``comfy.sd.load_diffusion_model_state_dict`` (ComfyUI 0.33.0):
  detection from the keys and the ``config`` metadata (`comfy.model_detection`), the weight dtype
  option (``fp8_e4m3fn``, ``fp8_e4m3fn_fast``, ``default``), ``model_config.get_model``, a
  ``ModelPatcher``; the module is created directly on the GPU and filled there (seconds, not the
  minutes a 40 GB state dict in host memory would take). Dynamic VRAM (comfy-aimdo, started only by
  ComfyUI's main.py) is not used: the legacy ModelPatcher, as with ``--disable-dynamic-vram``.
* video VAE, audio VAE + vocoder: ``comfy.sd.VAE(sd, metadata)`` as VAELoader /
  LTXVAudioVAELoader call it; upscaler: LatentUpscaleModelLoader's LatentUpsampler branch;
* LoRA: ``comfy.sd.load_lora_for_models`` as LoraLoaderModelOnly, rank r on every linear layer of
  the transformer blocks;
* text encoder: never built; conditioning is a random tensor shaped like its output (prompt of
  `PROMPT_TOKENS` tokens; the connectors pad to 1024 with learnable registers anyway), and
  `text_encoder_sizes` counts the real encoder's parameters on the meta device.

Weights: N(0, 1/fan_in) for matrices and convolutions, small biases, norms near 1, positive
latent statistics, so activations stay finite through 48 blocks (speed does not depend on them).
"""

from __future__ import annotations

import json
import math

import torch

PROMPT_TOKENS = 128
UNET_WEIGHT_DTYPES = {
    "default": None,
    "fp8_e4m3fn": torch.float8_e4m3fn,
    "fp8_e4m3fn_fast": torch.float8_e4m3fn,
    "fp8_e5m2": torch.float8_e5m2,
}


def transformer_kwargs(cfg: dict) -> dict:
    """The config as LTXAVModel keyword arguments (detection derives the keyframe flag)."""
    return {k: v for k, v in cfg.items() if not k.startswith("_")}


def meta_transformer(cfg: dict, dtype=torch.bfloat16) -> torch.nn.Module:
    import comfy.ldm.lightricks.av_model as av_model
    import comfy.ops

    with torch.device("meta"):
        return av_model.LTXAVModel(
            dtype=dtype, device="meta", operations=comfy.ops.disable_weight_init, **transformer_kwargs(cfg)
        )


def build_transformer(cfg: dict, weight_dtype: str, seed: int):
    """A ComfyUI ModelPatcher around an LTXAV model of `cfg`, random weights on the load device.

    Follows comfy.sd.load_diffusion_model_state_dict step by step (see the module docstring).
    Returns (patcher, info) where info has the detected config's size and the dtypes used.
    """
    import comfy.model_detection as model_detection
    import comfy.model_management as mm
    import comfy.model_patcher

    meta = {
        "config": json.dumps({"transformer": {k: v for k, v in cfg.items() if k != "use_keyframes_abs_pos_embedding"}})
    }
    meta_sd = meta_transformer(cfg).state_dict()
    unet_config = model_detection.detect_unet_config(meta_sd, "", metadata=meta)
    model_config = model_detection.model_config_from_unet_config(unet_config, meta_sd, "")
    if model_config is None:
        raise RuntimeError(f"ComfyUI does not recognise the transformer: {unet_config}")
    parameters = sum(v.numel() for v in meta_sd.values())
    load_device, offload_device = mm.get_torch_device(), mm.unet_offload_device()
    dtype = UNET_WEIGHT_DTYPES[weight_dtype]
    if dtype is None:
        unet_dtype = mm.unet_dtype(
            model_params=parameters,
            supported_dtypes=list(model_config.supported_inference_dtypes),
            weight_dtype=torch.bfloat16,
        )
    else:
        unet_dtype = dtype
    manual_cast = mm.unet_manual_cast(unet_dtype, load_device, model_config.supported_inference_dtypes)
    model_config.set_inference_dtype(unet_dtype, manual_cast, device=load_device)
    if weight_dtype == "fp8_e4m3fn_fast":
        model_config.optimizations["fp8"] = True
    model = model_config.get_model({}, "", device=load_device)
    randomise_(model.diffusion_model, seed)
    patcher = comfy.model_patcher.ModelPatcher(model, load_device=load_device, offload_device=offload_device)
    info = {
        "parameters": parameters,
        "weight_dtype": str(unet_dtype).replace("torch.", ""),
        "compute_dtype": str(manual_cast or unet_dtype).replace("torch.", ""),
        "weight_bytes": module_bytes(model.diffusion_model),
    }
    return patcher, info


def with_lora(patcher, rank: int, strength: float, seed: int):
    """A clone of `patcher` with a random rank-`rank` LoRA on every block linear layer.

    Returns (patched clone, LoRA bytes). ComfyUI patches the weights when the clone is loaded
    (backing the originals up to the offload device), so a stage that switches between the
    plain model and the clone pays that inside its measured time, as a worker does per job.
    """
    import comfy.sd

    device = patcher.load_device
    gen = torch.Generator(device=device).manual_seed(seed)
    lora = {}
    for name, p in sorted(patcher.model.diffusion_model.named_parameters()):
        if name.startswith("transformer_blocks.") and name.endswith(".weight") and p.ndim == 2:
            target = "diffusion_model." + name[: -len(".weight")]
            rows, cols = p.shape
            # drawn on the GPU (fast), kept in host memory like a LoRA file ComfyUI has read
            lora[target + ".lora_A.weight"] = (torch.randn(rank, cols, generator=gen, device=device) / cols**0.5).to(
                "cpu", torch.bfloat16
            )
            lora[target + ".lora_B.weight"] = (torch.randn(rows, rank, generator=gen, device=device) / rank**0.5).to(
                "cpu", torch.bfloat16
            )
    model, _ = comfy.sd.load_lora_for_models(patcher, None, lora, strength, 0)
    return model, sum(t.numel() * t.element_size() for t in lora.values())


def build_video_vae(cfg: dict, seed: int):
    """comfy.sd.VAE for the LTX video VAE of `cfg` (conv VAE or the 2.5 diffusion decoder)."""
    import comfy.ldm.lightricks.vae.causal_video_autoencoder as cva
    import comfy.ldm.lightricks.vae.na_diffusion_decoder as nad
    import comfy.model_management as mm

    diffusion = cfg.get("_class_name") == "CausalDiffusionVAE"
    with torch.device("meta"):
        shapes = (
            nad.CausalDiffusionVAE(config=cfg if len(cfg) > 1 else None) if diffusion else cva.VideoVAE(config=cfg)
        ).state_dict()
    return _vae_from(shapes, {"config": json.dumps({"vae": cfg})}, seed, mm.vae_device())


def build_audio_vae(audio_cfg: dict, vocoder_cfg: dict, seed: int):
    """comfy.sd.VAE for the audio autoencoder + vocoder (keys as LTXVAudioVAELoader passes them)."""
    import comfy.ldm.lightricks.vae.audio_vae as audio_vae
    import comfy.model_management as mm

    with torch.device("meta"):
        a = audio_vae.AudioVAE(metadata={"config": {"audio_vae": audio_cfg, "vocoder": vocoder_cfg}})
    shapes = {
        **{"autoencoder." + k: v for k, v in a.autoencoder.state_dict().items()},
        **{"vocoder." + k: v for k, v in a.vocoder.state_dict().items()},
    }
    meta = {"config": json.dumps({"audio_vae": audio_cfg, "vocoder": vocoder_cfg})}
    return _vae_from(shapes, meta, seed, mm.vae_device())


def build_upscaler(cfg: dict, seed: int):
    """LatentUpscaleModelLoader's LatentUpsampler branch (comfy_extras/nodes_hunyuan.py)."""
    import comfy.ldm.lightricks.latent_upsampler as latent_upsampler
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.ops

    device = mm.get_torch_device()
    with torch.device(device):
        model = latent_upsampler.LatentUpsampler.from_config(cfg, operations=comfy.ops.disable_weight_init)
    model = model.to(dtype=mm.vae_dtype(allowed_dtypes=[torch.bfloat16, torch.float32]))
    randomise_(model, seed)
    mm.archive_model_dtypes(model)
    return comfy.model_patcher.ModelPatcher(model, load_device=device, offload_device=mm.unet_offload_device())


def conditioning(cfg: dict, seed: int) -> list:
    """A CONDITIONING list shaped like the LTXAV text encoder's output for one prompt.

    LTX-2: ``caption_channels`` wide (the projection output, connectors still to run); 2.3/2.5:
    video + audio cross-attention widths side by side (DualLinearProjection); both flagged
    ``unprocessed_ltxav_embeds`` as comfy/text_encoders/lt.py does.
    """
    width = (
        cfg["cross_attention_dim"] + cfg["audio_cross_attention_dim"]
        if cfg.get("caption_proj_before_connector")
        else cfg["caption_channels"]
    )
    gen = torch.Generator().manual_seed(seed)
    return [
        [torch.randn(1, PROMPT_TOKENS, width, generator=gen), {"pooled_output": None, "unprocessed_ltxav_embeds": True}]
    ]


def text_encoder_sizes(cfg: dict, gemma: str) -> dict:
    """Parameters of the real text encoder (ComfyUI's class on the meta device) and projection."""
    import comfy.ops

    ops = comfy.ops.disable_weight_init
    with torch.device("meta"):
        if gemma == "gemma4_12b":
            import comfy.text_encoders.gemma4 as gemma4

            model = gemma4.Gemma4_12B({}, torch.bfloat16, "meta", ops)
        else:
            import comfy.text_encoders.llama as llama

            model = llama.Gemma3_12B({}, torch.bfloat16, "meta", ops)
    params = sum(p.numel() for p in model.state_dict().values())
    hidden = model.model.config.hidden_size * (model.model.config.num_hidden_layers + 1)
    if cfg.get("caption_proj_before_connector"):
        projection = hidden * (cfg["cross_attention_dim"] + cfg["audio_cross_attention_dim"])
    else:
        projection = hidden * cfg["caption_channels"]
    return {"parameters": params, "projection_parameters": projection, "bf16_bytes": 2 * (params + projection)}


def module_bytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


def randomise_(module: torch.nn.Module, seed: int) -> None:
    """Fill every parameter (and VAE latent statistics) of `module` in place, on its device."""
    gens: dict = {}
    with torch.no_grad():
        for name, p in list(module.named_parameters()) + [
            (n, b) for n, b in module.named_buffers() if "mean-of-means" in n or "std-of-means" in n
        ]:
            if p.device.type == "meta" or not p.is_floating_point():
                continue
            gen = gens.setdefault(p.device, torch.Generator(device=p.device).manual_seed(seed))
            work = torch.float32 if p.dtype in (torch.float32, torch.float64) else torch.bfloat16
            value = torch.empty(p.shape, dtype=work, device=p.device).normal_(generator=gen)
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "std-of-means":
                value.abs_().mul_(0.25).add_(0.75)
            elif "norm" in name and p.ndim == 1 and leaf == "weight":
                value.mul_(0.05).add_(1.0)
            elif leaf in ("bias", "mean-of-means") or "scale_shift" in name or p.ndim < 2:
                value.mul_(0.02)
            else:
                value.div_(math.sqrt(max(1, p[0].numel())))
            p.copy_(value)


def _vae_from(shapes: dict, metadata: dict, seed: int, device):
    """comfy.sd.VAE(sd=..., metadata=...) with random tensors of `shapes`, built on `device`."""
    import comfy.sd

    gen = torch.Generator(device=device).manual_seed(seed)
    sd = {}
    for key in sorted(shapes):
        shape, leaf = tuple(shapes[key].shape), key.rsplit(".", 1)[-1]
        if not shapes[key].is_floating_point():
            sd[key] = torch.zeros(shape, dtype=shapes[key].dtype, device=device)
            continue
        v = torch.randn(shape, generator=gen, device=device)
        if leaf == "std-of-means":
            v = 0.75 + 0.25 * v.abs()
        elif leaf in ("bias", "mean-of-means") or len(shape) < 2:
            v = 1.0 + 0.05 * v if ("norm" in key and leaf == "weight") else 0.02 * v
        else:
            v = v / math.sqrt(max(1, math.prod(shape[1:])))
        sd[key] = v
    with torch.device(device):
        vae = comfy.sd.VAE(sd=sd, metadata=metadata)
    vae.throw_exception_if_invalid()
    del sd
    return vae
