"""Tiny LTX-Video 0.9 weights for tests and the demo, written under the real file names.

``write_tiny_ltxv(models_dir)`` writes two files that a real ComfyUI (0.3.75 and 0.33.0 are
checked) loads with its stock nodes, so the legacy LTX-Video templates run end to end on a CPU
in about a second:

* ``checkpoints/ltxv-13b-0.9.8-distilled.safetensors``: the LTX-Video transformer
  (``model.diffusion_model.*``, randomly initialised, 1 block, inner width 96) and the video VAE
  (``vae.*``), their sizes in the safetensors metadata ``{"config": json({"transformer": ...,
  "vae": ...})}``, which ComfyUI reads (``comfy.model_detection`` for the transformer,
  ``comfy.sd.VAE`` for the VAE).
* ``text_encoders/t5xxl_fp16.safetensors``: a tiny randomly initialised T5 encoder
  (:data:`TINY_T5_CONFIG`) plus the marker tensor by which ComfyUI recognises a T5-XXL file.
  ComfyUI always builds T5-XXL at full size from its own JSON config, so this file only loads
  inside a ComfyUI where the test-only custom node ``tests/comfy_nodes/tiny_text_encoders``
  (``t5.install()``) merges :data:`TINY_T5_CONFIG` into that config.

The VAE is not random: a random VAE cannot give back the start image, and the image-to-video
tests check that the first frame resembles it. It is built as an exact "block-mean" autoencoder
out of ComfyUI's own LTX-Video VAE blocks (``comfy.ldm.lightricks.vae``): the encoder stores, for
each 32x32-pixel latent cell, the mean colour of each of its 4x4 blocks of 8x8 pixels (48 of the
128 latent channels); the decoder paints those means back (nearest-neighbour in time and space).
Decoding ``encode(image)`` thus gives the image averaged over 8x8-pixel blocks (error a few
1/1000 of the pixel range on such an image); other latents decode to whatever mosaic their first
48 channels describe (values clamped to 0..1 by ComfyUI).

Everything here needs ComfyUI's ``comfy`` package importable (the caller puts a ComfyUI tree on
``sys.path`` and makes it the working directory) plus torch and safetensors; nothing is imported
or computed when this module is imported. Output is deterministic: the same ComfyUI version gives
byte-identical files (0.3.75 and 0.33.0 give identical files too, see :func:`t5_marker_shape`).
"""

from __future__ import annotations

import json
import pathlib
import zlib
from typing import Any

__all__ = [
    "CHECKPOINT_FILE",
    "T5_FILE",
    "TINY_T5_CONFIG",
    "TRANSFORMER_CONFIG",
    "VAE_CONFIG",
    "T5_MARKER_KEY",
    "tiny_t5_config",
    "t5_marker_shape",
    "write_tiny_ltxv",
]

#: Checkpoint path under the models folder (models.txt name of the LTX-Video 0.9.8 13B distilled file).
CHECKPOINT_FILE = "checkpoints/ltxv-13b-0.9.8-distilled.safetensors"
#: T5-XXL text encoder path under the models folder (the name ComfyUI's LTX-Video templates use).
T5_FILE = "text_encoders/t5xxl_fp16.safetensors"

#: Keys merged over ComfyUI's ``comfy/text_encoders/t5_config_xxl.json`` (d_model 4096, 24 layers)
#: by the test-only custom node; the vocabulary (32128) is kept so ComfyUI's T5 tokenizer works.
#: ``d_model`` is also the transformer's ``caption_channels``.
TINY_T5_CONFIG: dict[str, int] = {
    "d_model": 32,
    "d_ff": 64,
    "d_kv": 8,
    "num_heads": 4,
    "num_layers": 2,
}

#: Tiny LTX-Video transformer (``comfy.ldm.lightricks.model.LTXVModel`` keyword arguments), stored
#: in the checkpoint metadata. num_attention_heads must be given (detection otherwise assumes 32);
#: the inner width 4 x 24 = 96 divides by 6 as the 3-axis RoPE wants; in_channels is the fixed
#: 128 latent channels; cross_attention_dim equals the inner width (the caption projection maps
#: the T5 output to it); causal_temporal_positioning as in LTX-Video 0.9.8.
TRANSFORMER_CONFIG: dict[str, Any] = {
    "in_channels": 128,
    "num_layers": 1,
    "num_attention_heads": 4,
    "attention_head_dim": 24,
    "cross_attention_dim": 96,
    "caption_channels": TINY_T5_CONFIG["d_model"],
    "causal_temporal_positioning": True,
    "positional_embedding_theta": 10000.0,
    "positional_embedding_max_pos": [20, 2048, 2048],
}

# The VAE's fixed geometry: 128 latent channels and a base width of 128 (0.3.75's VideoVAE has no
# width setting), 8x temporal and 32x spatial compression (comfy.sd.VAE hard-codes both). With
# patch size 8, two 2x space steps and three 2x time steps give exactly that.
_LATENT_CHANNELS = 128
_WIDTH = 128
#: The decoder's width (``decoder_base_channels``; every decoder stage keeps it): the 48 signal
#: channels the block-mean decoder needs at the latent stage, no more. Decoding 49 frames at
#: 704x704 (float32, 2 cores) took 5.7 s at the encoder's width of 128, 2.5 s at 64, 1.9 s at 48.
_DECODER_WIDTH = 48
_PATCH = 8
# Constant channel value that makes the VAE's PixelNorm (x / rms over channels) almost a fixed
# scale, so the signal channels pass it linearly. A power of two times 1.25: exact in bfloat16.
_K = 40.0

#: Video VAE config (``comfy.ldm.lightricks.vae.causal_video_autoencoder.VideoVAE(config=...)``),
#: stored in the checkpoint metadata. The decoder's first block (``decoder_blocks`` is listed from
#: the pixel side) is a ``res_x`` block: ComfyUI recognises an LTX-Video VAE by the key
#: ``decoder.up_blocks.0.res_blocks.0.conv1.conv.weight``.
VAE_CONFIG: dict[str, Any] = {
    "_class_name": "CausalVideoAutoencoder",
    "dims": 3,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": _LATENT_CHANNELS,
    "patch_size": _PATCH,
    "norm_layer": "pixel_norm",
    "latent_log_var": "uniform",
    "use_quant_conv": False,
    "causal_decoder": False,
    "timestep_conditioning": False,
    "scaling_factor": 1.0,
    "decoder_base_channels": _DECODER_WIDTH,
    "encoder_blocks": [
        ["compress_space_res", {"multiplier": 1}],
        ["compress_space_res", {"multiplier": 1}],
        ["compress_time_res", {"multiplier": 1}],
        ["compress_time_res", {"multiplier": 1}],
        ["compress_time_res", {"multiplier": 1}],
    ],
    "decoder_blocks": [
        ["compress_space", {}],
        ["compress_space", {}],
        ["compress_time", {}],
        ["compress_time", {}],
        ["compress_time", {}],
        ["res_x", {"num_layers": 1}],
    ],
}

#: The tensor by which ``comfy.sd.detect_te_model`` tells a T5-XXL file (layer 23 of 24).
T5_MARKER_KEY = "encoder.block.23.layer.1.DenseReluDense.wi_1.weight"
# Marker shapes to try, first match wins. ComfyUI 0.3.75 checks shape[-1] == 4096, 0.33.0 checks
# shape[0] == 10240 (the real tensor is [10240, 4096]); the empty [10240, 0, 4096] satisfies both
# with no data. The others are fallbacks for a detector that rejects it.
_T5_MARKER_CANDIDATES: tuple[tuple[int, ...], ...] = ((10240, 0, 4096), (1, 4096), (10240, 1))

_SEED = 0x17A5
_NOTE = "Tiny LTX-Video 0.9 test weights written by ltx_worker.tinymodels.ltxv; not a real model."
# Buffers of ComfyUI's LTX-Video VAE latent statistics (comfy/ldm/lightricks/vae/..."processor").
_VAE_STATISTICS = ("std-of-means", "mean-of-means", "mean-of-stds", "mean-of-stds_over_std-of-means", "channel")


def tiny_t5_config() -> dict[str, int]:
    """Return a copy of :data:`TINY_T5_CONFIG`, the keys the test-only custom node merges into
    ComfyUI's T5-XXL config (``model_options["t5xxl_model_config"]``)."""
    return dict(TINY_T5_CONFIG)


def write_tiny_ltxv(models_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the tiny LTX-Video 0.9 files under ``models_dir`` and return their paths.

    Writes ``models_dir/checkpoints/ltxv-13b-0.9.8-distilled.safetensors`` (transformer in
    bfloat16 under ``model.diffusion_model.``, VAE in bfloat16 under ``vae.``, about 21 MB) and
    ``models_dir/text_encoders/t5xxl_fp16.safetensors`` (tiny T5 in float16, about 2 MB),
    creating the folders, replacing files of the same name. Takes a few seconds on a CPU.

    Requires ComfyUI's ``comfy`` package to be importable (run with a ComfyUI tree on
    ``sys.path`` and as the working directory), torch and safetensors.

    The files are valid for the video sizes ComfyUI's LTX-Video nodes allow: width and height
    multiples of 32, 8k+1 frames (the VAE compresses 32x32 pixels and 8 frames per latent cell).

    Raises:
        ImportError: ``comfy``, torch or safetensors cannot be imported.
        RuntimeError: the installed ComfyUI's modules no longer have the layout this generator
            builds on (a VAE block or the T5-XXL detector changed); the message says which.
        OSError: the files cannot be written.
    """
    import safetensors.torch

    _prepare_comfy()
    models_dir = pathlib.Path(models_dir)
    checkpoint: dict[str, Any] = {}
    for key, tensor in _transformer_state_dict().items():
        checkpoint["model.diffusion_model." + key] = tensor
    for key, tensor in _vae_state_dict().items():
        checkpoint["vae." + key] = tensor
    # One metadata entry per file: safetensors writes the metadata map in random order, so
    # several entries would make the bytes differ from run to run.
    config = {"transformer": TRANSFORMER_CONFIG, "vae": VAE_CONFIG, "note": _NOTE}
    checkpoint_meta = {"config": json.dumps(config, sort_keys=True)}
    t5 = _t5_state_dict()
    t5_meta = {"note": _NOTE + " Loads only with the tiny_text_encoders test custom node."}

    written = []
    for rel, sd, meta in ((CHECKPOINT_FILE, checkpoint, checkpoint_meta), (T5_FILE, t5, t5_meta)):
        path = models_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        safetensors.torch.save_file({k: sd[k].contiguous() for k in sorted(sd)}, str(tmp), metadata=meta)
        tmp.replace(path)
        written.append(path)
    return written


def t5_marker_shape(state_dict: dict[str, Any] | None = None) -> tuple[int, ...]:
    """Return the shape the installed ComfyUI wants for the T5-XXL marker tensor.

    Tries the candidate shapes (first the empty ``[10240, 0, 4096]``, accepted by 0.3.75 and
    0.33.0 alike) on ``comfy.sd.detect_te_model`` together with ``state_dict`` (the other tensors
    of the file, whose keys take part in detection) and returns the first that is detected as
    T5-XXL. Raises RuntimeError when none is.
    """
    import torch

    _prepare_comfy()
    import comfy.sd

    base = dict(state_dict or {})
    for shape in _T5_MARKER_CANDIDATES:
        probe = {**base, T5_MARKER_KEY: torch.empty(shape, device="meta")}
        if comfy.sd.detect_te_model(probe) == comfy.sd.TEModel.T5_XXL:
            return shape
    raise RuntimeError(
        "this ComfyUI's comfy.sd.detect_te_model recognises none of the T5-XXL marker shapes "
        f"{list(_T5_MARKER_CANDIDATES)} for {T5_MARKER_KEY}"
    )


def _prepare_comfy() -> None:
    """Let ``comfy.model_management`` import on a machine without a GPU.

    It picks its device when first imported and fails there without CUDA unless ComfyUI's
    ``--cpu`` flag is set; outside ComfyUI's own ``main.py`` nobody parses that flag, so set it
    on ``comfy.cli_args.args`` when no CUDA device is usable. No effect once it is imported.
    """
    import sys

    import torch

    if "comfy.model_management" in sys.modules:
        return
    import comfy.cli_args

    if not torch.cuda.is_available():
        comfy.cli_args.args.cpu = True


# --------------------------------------------------------------------------------------------
# transformer and T5: ComfyUI's own modules, built on the meta device for names and shapes only,
# then filled with seeded random values.


def _random_tensor(name: str, shape: tuple[int, ...], dtype: Any) -> Any:
    """Seeded random values for one parameter, by name (independent of the other keys)."""
    import torch

    gen = torch.Generator().manual_seed(_SEED ^ zlib.crc32(name.encode()))
    leaf = name.rsplit(".", 1)[-1]
    if len(shape) == 0:
        return torch.ones(shape, dtype=dtype)
    if len(shape) == 1:
        if leaf == "weight":  # norm scales (RMSNorm/LayerNorm/T5 layer_norm)
            return torch.ones(shape, dtype=dtype)
        return (torch.randn(shape, generator=gen) * 0.02).to(dtype)  # biases
    if "scale_shift_table" in name:
        return (torch.randn(shape, generator=gen) / shape[-1] ** 0.5).to(dtype)
    if "relative_attention_bias" in name or name.endswith("shared.weight"):
        return (torch.randn(shape, generator=gen) * (0.1 if "relative" in name else 1.0)).to(dtype)
    fan_in = 1
    for d in shape[1:]:
        fan_in *= d
    return (torch.randn(shape, generator=gen) / fan_in**0.5).to(dtype)


def _transformer_state_dict() -> dict[str, Any]:
    import comfy.ops
    import torch
    from comfy.ldm.lightricks.model import LTXVModel

    with torch.device("meta"):
        model = LTXVModel(**TRANSFORMER_CONFIG, dtype=torch.float32, operations=comfy.ops.disable_weight_init)
    return {name: _random_tensor(name, tuple(t.shape), torch.bfloat16) for name, t in model.state_dict().items()}


def _t5_state_dict() -> dict[str, Any]:
    import comfy.ops
    import comfy.text_encoders.t5
    import torch

    # ComfyUI's own T5-XXL config (comfy/text_encoders/t5_config_xxl.json), as T5XXLModel reads it
    config_path = pathlib.Path(comfy.text_encoders.t5.__file__).parent / "t5_config_xxl.json"
    config = {**json.loads(config_path.read_text()), **TINY_T5_CONFIG}
    with torch.device("meta"):
        model = comfy.text_encoders.t5.T5(config, torch.float32, None, comfy.ops.manual_cast)
    sd = {name: _random_tensor(name, tuple(t.shape), torch.float16) for name, t in model.state_dict().items()}
    sd[T5_MARKER_KEY] = torch.zeros(t5_marker_shape(sd), dtype=torch.float16)
    return sd


# --------------------------------------------------------------------------------------------
# VAE: ComfyUI's VideoVAE built from VAE_CONFIG on the meta device for names and shapes; every
# tensor zero except the taps below. Channel bookkeeping follows the einops patterns of
# comfy/ldm/lightricks/vae/causal_video_autoencoder.py:
#   patchify            "b c (f p) (h q) (w r) -> b (c p r q) f h w"      channel c*64 + r*8 + q
#   SpaceToDepth (enc)  conv out c at sub (p1 p2 p3) -> channel c*prod + sub; skip = mean of
#                       each channel over its stride block (multiplier 1)
#   DepthToSpace (dec)  conv channel c*prod + sub -> channel c at sub (no residual)
# Encoder convs are causal (the current frame is temporal tap 2), decoder convs are not (tap 1).


def _vae_state_dict() -> dict[str, Any]:
    import torch
    from comfy.ldm.lightricks.vae.causal_video_autoencoder import VideoVAE

    with torch.device("meta"):
        vae = VideoVAE(config=json.loads(json.dumps(VAE_CONFIG)))
    shapes = {name: tuple(t.shape) for name, t in vae.state_dict().items()}
    sd = {name: torch.zeros(shape, dtype=torch.float32) for name, shape in shapes.items()}

    def need(name: str, shape: tuple[int, ...]) -> Any:
        if shapes.get(name) != shape:
            raise RuntimeError(
                f"ComfyUI's LTX-Video VAE changed: {name} is {shapes.get(name)}, expected {shape}"
            )
        return sd[name]

    c = _WIDTH
    colours = 3
    enc_tap, dec_tap = (2, 1, 1), (1, 1, 1)

    # encoder conv_in: patch of 8x8 pixels (192 channels) -> its mean colour in channels 0..2
    w = need("encoder.conv_in.conv.weight", (c, colours * _PATCH * _PATCH, 3, 3, 3))
    for j in range(colours):
        w[(j, slice(j * 64, (j + 1) * 64)) + enc_tap] = 1.0 / (_PATCH * _PATCH)
    # 8 -> 16 px: conv channel 1+j copies colour j; out channel 4+4j+a = colour j at 2x2 sub a
    w = need("encoder.down_blocks.0.conv.conv.weight", (c // 4, c, 3, 3, 3))
    for j in range(colours):
        w[(1 + j, j) + enc_tap] = 1.0
    # 16 -> 32 px: conv channel 4+i copies channel 4+i (i = 4j+a); out 16+4i+b = (j, a) at sub b.
    # Out channels 64..127 (conv channels 16..31) become the constant _K.
    w = need("encoder.down_blocks.1.conv.conv.weight", (c // 4, c, 3, 3, 3))
    for i in range(4 * colours):
        w[(4 + i, 4 + i) + enc_tap] = 1.0
    need("encoder.down_blocks.1.conv.conv.bias", (c // 4,))[16:] = _K
    # three 2x time steps: zero convs, the skip is the mean of each frame pair
    for k in (2, 3, 4):
        need(f"encoder.down_blocks.{k}.conv.conv.weight", (c // 2, c, 3, 3, 3))
    # conv_out after PixelNorm (rms ~ _K/sqrt(2), from the 64 constant channels) and SiLU
    # (~x/2 near 0): latent channel m = 2 * rms * silu(channel 16+m) ~ the colour value.
    w = need("encoder.conv_out.conv.weight", (_LATENT_CHANNELS + 1, c, 3, 3, 3))
    enc_rms = (64 * _K * _K / c) ** 0.5
    for m in range(16 * colours):
        w[(m, 16 + m) + enc_tap] = 2.0 * enc_rms

    # decoder conv_in: latent channels 0..47 into channels 0..47; res_x block stays zero (identity)
    c = _DECODER_WIDTH
    w = need("decoder.conv_in.conv.weight", (c, _LATENT_CHANNELS, 3, 3, 3))
    for m in range(16 * colours):
        w[(m, m) + dec_tap] = 1.0
    need("decoder.up_blocks.0.res_blocks.0.conv1.conv.weight", (c, c, 3, 3, 3))
    # three 2x time steps: conv channel 2c'+p copies channel c' (frame repeated)
    for k in (1, 2, 3):
        w = need(f"decoder.up_blocks.{k}.conv.conv.weight", (2 * c, c, 3, 3, 3))
        for ch in range(c):
            w[(2 * ch, ch) + dec_tap] = 1.0
            w[(2 * ch + 1, ch) + dec_tap] = 1.0
    # 32 -> 16 px: identity on channels 0..47 undoes the encoder's last space-to-depth
    w = need("decoder.up_blocks.4.conv.conv.weight", (4 * c, c, 3, 3, 3))
    for m in range(16 * colours):
        w[(m, m) + dec_tap] = 1.0
    # 16 -> 8 px: channels 0..2 = colour, 3..5 = -colour, 6..c-1 = _K (for PixelNorm)
    w = need("decoder.up_blocks.5.conv.conv.weight", (4 * c, c, 3, 3, 3))
    for m in range(4 * colours):
        w[(m, m) + dec_tap] = 1.0
        w[(4 * colours + m, m) + dec_tap] = -1.0
    need("decoder.up_blocks.5.conv.conv.bias", (4 * c,))[8 * colours:] = _K
    # conv_out: silu(x) - silu(-x) = x exactly; times the rms (~_K) gives the colour back
    w = need("decoder.conv_out.conv.weight", (colours * _PATCH * _PATCH, c, 3, 3, 3))
    dec_rms = ((c - 2 * colours) * _K * _K / c) ** 0.5
    for j in range(colours):
        w[(slice(j * 64, (j + 1) * 64), j) + dec_tap] = dec_rms
        w[(slice(j * 64, (j + 1) * 64), colours + j) + dec_tap] = -dec_rms

    # latent normalisation statistics: identity. Real checkpoints carry all five buffers; 0.33.0's
    # VideoVAE only registers the two it uses and ignores the others, so writing all five keeps
    # the file the same for every ComfyUI version.
    for stat in _VAE_STATISTICS:
        name = "per_channel_statistics." + stat
        if name in shapes and shapes[name] != (_LATENT_CHANNELS,):
            raise RuntimeError(f"ComfyUI's LTX-Video VAE changed: {name} is {shapes[name]}")
        sd[name] = torch.ones(_LATENT_CHANNELS) if "std" in stat else torch.zeros(_LATENT_CHANNELS)
    return {name: t.to(torch.bfloat16) for name, t in sd.items()}
