"""Tiny, randomly initialised LTX-2 weights under the real LTX-2 file names.

The files let the LTX-2 workflows (text/image to video with sound, two stages with
the x2 latent upscaler, camera and distilled LoRAs) run end to end in a real ComfyUI
(0.33.0 and later, the versions with LTX-2 support) on a CPU in about a second. The
pictures and sound are noise: the weights are random, only the shapes and the code
paths are real.

Every module is built from ComfyUI's own classes (``comfy.ldm.lightricks.*``,
``comfy.text_encoders.llama``, ``comfy.clip_model``) with small sizes, filled with
seeded random numbers and saved with safetensors under the key prefixes that 0.33.0's
loaders read:

================================  ===============================================
file (folder under models/)       contents
================================  ===============================================
checkpoints/ltx-2-19b-*-fp8       ``model.diffusion_model.*`` AV transformer,
                                  ``vae.*`` video VAE, ``audio_vae.*`` audio VAE,
                                  ``vocoder.*`` vocoder,
                                  ``text_embedding_projection.aggregate_embed.*``;
                                  metadata ``{"config": json}`` with the sizes
                                  (keys ``transformer``, ``vae``, ``audio_vae``,
                                  ``vocoder``)
text_encoders/gemma_3_12B_...     tiny Gemma 3 (``model.*``, ``vision_model.*``,
                                  ``multi_modal_projector.*``) and ``spiece_model``
                                  (a sentencepiece tokenizer trained on the spot)
latent_upscale_models/...         ``LatentUpsampler``; metadata ``{"config": json}``
loras/...                         ``diffusion_model.<module>.lora_A/lora_B.weight``
================================  ===============================================

ComfyUI cannot size a text encoder from its file: it always builds Gemma 3 12B. The
test-only custom node ``tests/comfy_nodes/tiny_text_encoders`` therefore shrinks
Gemma inside the ComfyUI process with :data:`GEMMA_TEXT_CONFIG`,
:data:`GEMMA_HEAD_DIM` and :data:`GEMMA_VISION_CONFIG` from this module.

Importing this module has no side effects and does not import ComfyUI; only
:func:`write_tiny_ltx2` does.
"""

from __future__ import annotations

import io
import json
import pathlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

# --------------------------------------------------------------------------------------
# Sizes. The names are those of the real configs; the values are tiny.
# --------------------------------------------------------------------------------------

#: Transformer config stored in the checkpoint metadata (``config["transformer"]``).
#: ComfyUI's detection (comfy/model_detection.py, "Lightricks ltxv" branch) counts the
#: blocks and reads attn2.to_k, then lets this dict override what it guessed (it would
#: guess ``attention_head_dim = rows // 32``, i.e. 32 heads). Rules the sizes obey
#: (comfy/ldm/lightricks/av_model.py): the text context is projected to the inner dims,
#: so ``cross_attention_dim == num_attention_heads * attention_head_dim`` and
#: ``audio_cross_attention_dim == audio_num_attention_heads * audio_attention_head_dim``;
#: the connectors work at ``caption_channels == connector_num_attention_heads *
#: connector_attention_head_dim``; the split RoPE needs every per-head width even and
#: the video inner dim a multiple of 6 (three position axes, cos and sin).
#: ``in_channels`` (128) and ``audio_in_channels`` (8 channels x 16 mel bins) are fixed
#: by the VAEs. The flags mirror the published 19B checkpoint.
TRANSFORMER_CONFIG: dict = {
    "_class_name": "AVTransformer3DModel",
    "num_layers": 2,
    "num_attention_heads": 2,
    "attention_head_dim": 24,
    "cross_attention_dim": 48,
    "audio_num_attention_heads": 2,
    "audio_attention_head_dim": 8,
    "audio_cross_attention_dim": 16,
    "caption_channels": 32,
    "connector_num_attention_heads": 2,
    "connector_attention_head_dim": 16,
    "connector_num_layers": 2,
    "in_channels": 128,
    "out_channels": 128,
    "audio_in_channels": 128,
    "audio_out_channels": 128,
    "positional_embedding_theta": 10000.0,
    "positional_embedding_max_pos": [20, 2048, 2048],
    "audio_positional_embedding_max_pos": [20],
    "causal_temporal_positioning": True,
    "use_middle_indices_grid": True,
    "timestep_scale_multiplier": 1000,
    "av_ca_timestep_scale_multiplier": 1000.0,
    "rope_type": "split",
    "frequencies_precision": "float64",
    "norm_eps": 1e-06,
}

#: Video VAE config (``config["vae"]``), read by comfy.sd.VAE for the checkpoint's
#: ``vae.*`` keys. 128 latent channels, x32 spatial (patch 4 and three x2 steps) and
#: x8 temporal compression as in LTX-2; the last decoder block must be ``res_x``
#: because ComfyUI recognises the VAE by ``decoder.up_blocks.0.res_blocks.0.conv1``.
VIDEO_VAE_CONFIG: dict = {
    "_class_name": "CausalVideoAutoencoder",
    "dims": 3,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 128,
    "encoder_blocks": [
        ["res_x", {"num_layers": 1}],
        ["compress_space_res", {"multiplier": 1}],
        ["compress_time_res", {"multiplier": 1}],
        ["compress_all_res", {"multiplier": 1}],
        ["compress_all_res", {"multiplier": 1}],
        ["res_x", {"num_layers": 1}],
    ],
    "decoder_blocks": [
        ["res_x", {"num_layers": 1, "inject_noise": False}],
        ["compress_all", {"residual": True, "multiplier": 1}],
        ["compress_all", {"residual": True, "multiplier": 1}],
        ["compress_all", {"residual": True, "multiplier": 1}],
        ["res_x", {"num_layers": 1, "inject_noise": False}],
    ],
    "encoder_base_channels": 8,
    "decoder_base_channels": 8,
    "scaling_factor": 1.0,
    "norm_layer": "pixel_norm",
    "patch_size": 4,
    "latent_log_var": "uniform",
    "use_quant_conv": False,
    # Causal (unlike the real LTX-2 VAE) so a decoded frame depends only on its own and earlier
    # latent frames: the i2v tests can then check the first frame is fixed by the start image.
    "causal_decoder": True,
    "timestep_conditioning": False,
    "spatial_padding_mode": "zeros",
}

#: Audio VAE config (``config["audio_vae"]``), read by
#: comfy.ldm.lightricks.vae.audio_vae.AudioVAE. Fixed by ComfyUI: 8 latent channels,
#: 64 mel bins (the latent has 64 / 4 = 16 frequency bins; 8 x 16 = the transformer's
#: 128 audio channels and the 128-wide latent statistics), stereo, 16 kHz, hop 160.
AUDIO_VAE_CONFIG: dict = {
    "model": {
        "params": {
            "ddconfig": {
                "double_z": True,
                "mel_bins": 64,
                "z_channels": 8,
                "resolution": 256,
                "downsample_time": False,
                "in_channels": 2,
                "out_ch": 2,
                "ch": 8,
                "ch_mult": [1, 2, 4],
                "num_res_blocks": 1,
                "attn_resolutions": [],
                "dropout": 0.0,
                "mid_block_add_attention": False,
                "norm_type": "pixel",
                "causality_axis": "height",
            },
            "sampling_rate": 16000,
        }
    },
    "preprocessing": {"stft": {"filter_length": 1024, "hop_length": 160}},
}

#: Vocoder config (``config["vocoder"]``): HiFi-GAN style, stereo (2 x 64 mel bins in).
#: The product of the upsample rates equals the mel hop (160), so the sound comes out
#: at the audio VAE's 16 kHz.
VOCODER_CONFIG: dict = {
    "resblock_kernel_sizes": [3],
    "upsample_rates": [10, 16],
    "upsample_kernel_sizes": [20, 32],
    "resblock_dilation_sizes": [[1, 3, 5]],
    "upsample_initial_channel": 16,
    "stereo": True,
    "resblock": "1",
    "activation": "snake",
    "use_bias_at_final": True,
    "use_tanh_at_final": True,
}

#: x2 spatial latent upscaler config (metadata ``config`` of the upscaler file), read
#: by LatentUpscaleModelLoader (comfy_extras/nodes_hunyuan.py) through
#: ``LatentUpsampler.from_config``. mid_channels must be a multiple of 32 (GroupNorm).
UPSCALER_CONFIG: dict = {
    "_class_name": "LatentUpsampler",
    "in_channels": 128,
    "mid_channels": 32,
    "num_blocks_per_stage": 1,
    "dims": 3,
    "spatial_upsample": True,
    "temporal_upsample": False,
    "spatial_scale": 2.0,
    "rational_resampler": False,
}

#: Fields of ``comfy.text_encoders.llama.Gemma3_12B_Config`` (a dataclass) for the tiny
#: Gemma; the custom node merges them into the config dict Gemma3_12B is built from.
#: ``vocab_size`` must exceed 106, the id ComfyUI gives ``<end_of_turn>``.
GEMMA_TEXT_CONFIG: dict = {
    "vocab_size": 256,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
}

#: ``Gemma3_12B_Config.head_dim``: a class attribute, not a dataclass field, so the
#: node sets it on the class.
GEMMA_HEAD_DIM: int = 16

#: ``Gemma3_12B_Config.vision_config``: a class attribute (the SigLIP tower is always
#: built, about 400M parameters at full size). 64 / 4 = 16 patches a side, which the
#: projector pools to sqrt(mm_tokens_per_image = 256) = 16 tokens a side.
GEMMA_VISION_CONFIG: dict = {
    "num_channels": 3,
    "hidden_act": "gelu_pytorch_tanh",
    "hidden_size": 16,
    "image_size": 64,
    "intermediate_size": 32,
    "model_type": "siglip_vision_model",
    "num_attention_heads": 2,
    "num_hidden_layers": 1,
    "patch_size": 4,
}

#: Pieces in the embedded sentencepiece tokenizer (at most; trained with a soft
#: limit). Ids 0..3 are pad, eos, bos, unk as in Gemma (ComfyUI pads with 0 and
#: starts with 2).
TOKENIZER_VOCAB_SIZE: int = 200

#: LoRA ranks: the distilled LoRA and each camera LoRA.
DISTILLED_LORA_RANK: int = 8
CAMERA_LORA_RANK: int = 4

#: Checkpoint file name -> random seed. The two differ only in their seed.
CHECKPOINTS: dict[str, int] = {
    "ltx-2-19b-distilled-fp8.safetensors": 2001,
    "ltx-2-19b-dev-fp8.safetensors": 2002,
}
TEXT_ENCODER_FILE = "gemma_3_12B_it_fp4_mixed.safetensors"
UPSCALER_FILE = "ltx-2-spatial-upscaler-x2-1.0.safetensors"
DISTILLED_LORA_FILE = "ltx-2-19b-distilled-lora-384.safetensors"
#: Camera moves, in the spelling of the LoRA file names.
CAMERA_MOVES: tuple[str, ...] = (
    "static",
    "dolly-in",
    "dolly-out",
    "dolly-left",
    "dolly-right",
    "jib-up",
    "jib-down",
)
_GEMMA_SEED = 2101
_UPSCALER_SEED = 2201
_DISTILLED_LORA_SEED = 2301
_CAMERA_LORA_SEED = 2400  # + index in CAMERA_MOVES

#: The transformer checkpoint the LoRAs are shaped for (both checkpoints share shapes).
_LORA_BASE_SEED = CHECKPOINTS["ltx-2-19b-dev-fp8.safetensors"]

# A short corpus for the tokenizer: prompt-like English, so common words get pieces.
_TOKENIZER_CORPUS = (
    "blurry, low quality, still frame, frames, watermark, overlay, titles, has blurbox, has subtitles",
    "A close-up of a cheerful girl puppet with curly auburn yarn hair and wide button eyes.",
    "She holds a small red umbrella above her head while rain falls gently around her.",
    "The camera slowly dollies in as a man in a black tuxedo stands in a red-tiled bathroom.",
    "A young waitress in a retro diner smiles warmly; soft morning light, shallow depth of field.",
    "Waves crash against the rocks at sunset, birds fly over the sea, wind blows through the grass.",
    "A dog runs across a green park and jumps to catch a yellow ball, children laugh in the background.",
    "City street at night with neon signs, cars pass by, people walk under umbrellas, 4k, cinematic.",
    "The jib moves up to reveal mountains covered with snow; static shot; dolly left; dolly right.",
    "Music plays softly, a woman sings, a guitar strums, footsteps echo in the empty hall.",
    "0 1 2 3 4 5 6 7 8 9 10 20 100 1000 - + = ! ? ' \" ( ) [ ] : ; / . , <start_of_turn> user model",
)


def write_tiny_ltx2(models_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the tiny LTX-2 model files under ``models_dir/<folder>/<file>``.

    Files (real names, as in models.txt): both checkpoints
    (``checkpoints/ltx-2-19b-distilled-fp8.safetensors``,
    ``checkpoints/ltx-2-19b-dev-fp8.safetensors``), the text encoder
    (``text_encoders/gemma_3_12B_it_fp4_mixed.safetensors``), the upscaler
    (``latent_upscale_models/ltx-2-spatial-upscaler-x2-1.0.safetensors``), the
    distilled LoRA and the seven camera LoRAs (``loras/``). Existing files are
    overwritten; folders are created. About 7 MB in all, a few seconds on two CPU
    cores, byte-for-byte the same on every run with the same torch and sentencepiece.

    Requires ComfyUI's ``comfy`` package to be importable (the caller puts a ComfyUI
    tree with LTX-2 support, 0.33.0 or later, on ``sys.path``), plus ``safetensors``
    and ``sentencepiece``. When CUDA is unavailable and ComfyUI's model management
    is not yet imported, ComfyUI's ``--cpu`` option is switched on first (its import
    fails without a GPU otherwise). Everything is built and saved on the CPU in
    float32.

    Args:
        models_dir: ComfyUI's models folder (or a stand-in for it).

    Returns:
        The paths written, in a fixed order.

    Raises:
        ImportError: ComfyUI lacks LTX-2 (``comfy.ldm.lightricks.av_model``) or a
            needed package is missing.
        OSError: a file cannot be written.
    """
    _prepare_comfy()

    models_dir = pathlib.Path(models_dir)
    written: list[pathlib.Path] = []
    meta = {
        "config": json.dumps(
            {
                "transformer": TRANSFORMER_CONFIG,
                "vae": VIDEO_VAE_CONFIG,
                "audio_vae": AUDIO_VAE_CONFIG,
                "vocoder": VOCODER_CONFIG,
            },
            sort_keys=True,
        )
    }
    lora_base: dict[str, torch.Tensor] | None = None
    for name, seed in CHECKPOINTS.items():
        state = checkpoint_state_dict(seed)
        written.append(_save(state, models_dir / "checkpoints" / name, meta))
        if seed == _LORA_BASE_SEED:
            lora_base = state
    assert lora_base is not None

    written.append(
        _save(gemma_state_dict(_GEMMA_SEED), models_dir / "text_encoders" / TEXT_ENCODER_FILE, {})
    )
    written.append(
        _save(
            upscaler_state_dict(_UPSCALER_SEED),
            models_dir / "latent_upscale_models" / UPSCALER_FILE,
            {"config": json.dumps(UPSCALER_CONFIG, sort_keys=True)},
        )
    )
    targets = lora_targets(lora_base)
    written.append(
        _save(
            lora_state_dict(targets, DISTILLED_LORA_RANK, _DISTILLED_LORA_SEED),
            models_dir / "loras" / DISTILLED_LORA_FILE,
            {},
        )
    )
    for index, move in enumerate(CAMERA_MOVES):
        written.append(
            _save(
                lora_state_dict(targets, CAMERA_LORA_RANK, _CAMERA_LORA_SEED + index),
                models_dir / "loras" / camera_lora_file(move),
                {},
            )
        )
    return written


def camera_lora_file(move: str) -> str:
    """File name of the camera LoRA for ``move`` (one of :data:`CAMERA_MOVES`).

    Raises:
        ValueError: unknown move.
    """
    if move not in CAMERA_MOVES:
        raise ValueError(f"unknown camera move {move!r}; expected one of {CAMERA_MOVES}")
    return f"ltx-2-19b-lora-camera-control-{move}.safetensors"


def checkpoint_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """State dict of a tiny LTX-2 checkpoint (float32, CPU), keys as ComfyUI reads them.

    ``model.diffusion_model.*`` (LTXAVModel built from :data:`TRANSFORMER_CONFIG`),
    ``vae.*`` (VideoVAE, :data:`VIDEO_VAE_CONFIG`), ``audio_vae.*`` (the audio
    autoencoder) and ``vocoder.*`` (LTXVAudioVAELoader maps ``audio_vae.`` to
    ``autoencoder.``), ``text_embedding_projection.aggregate_embed.weight`` (read by
    LTXAVTextEncoderLoader: Gemma's ``hidden_size * (num_hidden_layers + 1)`` stacked
    hidden states to ``caption_channels``). Requires ComfyUI importable.
    """
    _prepare_comfy()
    import comfy.ldm.lightricks.av_model as av_model
    import comfy.ldm.lightricks.vae.audio_vae as audio_vae
    import comfy.ldm.lightricks.vae.causal_video_autoencoder as video_vae
    import comfy.ops
    import torch

    ops = comfy.ops.disable_weight_init
    out: dict[str, torch.Tensor] = {}
    with torch.device("cpu"):
        transformer = av_model.LTXAVModel(
            dtype=torch.float32, device="cpu", operations=ops, **_transformer_kwargs()
        )
        vae = video_vae.VideoVAE(config=VIDEO_VAE_CONFIG)
        audio = audio_vae.AudioVAE(
            metadata={"config": {"audio_vae": AUDIO_VAE_CONFIG, "vocoder": VOCODER_CONFIG}}
        )
    parts = (
        ("model.diffusion_model.", transformer.state_dict()),
        ("vae.", vae.state_dict()),
        ("audio_vae.", audio.autoencoder.state_dict()),
        ("vocoder.", audio.vocoder.state_dict()),
    )
    for prefix, state in parts:
        for key, value in state.items():
            out[prefix + key] = value
    projection_in = GEMMA_TEXT_CONFIG["hidden_size"] * (GEMMA_TEXT_CONFIG["num_hidden_layers"] + 1)
    out["text_embedding_projection.aggregate_embed.weight"] = torch.empty(
        TRANSFORMER_CONFIG["caption_channels"], projection_in
    )
    return _randomised(out, seed)


def gemma_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """State dict of the tiny Gemma 3 text encoder file, with ``spiece_model``.

    Keys are those of ``comfy.text_encoders.llama.Gemma3_12B`` built with
    :data:`GEMMA_TEXT_CONFIG`, :data:`GEMMA_HEAD_DIM` and :data:`GEMMA_VISION_CONFIG`
    (``model.*``, ``multi_modal_projector.*``, ``vision_model.*``), plus
    ``spiece_model``: the serialized tokenizer as a uint8 tensor, as in ComfyUI's own
    Gemma files. With fewer than 48 layers ComfyUI detects the file as "Gemma 3 4B",
    which the LTX-2 text encoder loader accepts (it builds the 12B class anyway).
    Requires ComfyUI importable.
    """
    _prepare_comfy()
    import comfy.clip_model
    import comfy.ops
    import comfy.text_encoders.llama as llama
    import torch

    class _TinyGemmaConfig(llama.Gemma3_12B_Config):
        head_dim = GEMMA_HEAD_DIM
        vision_config = GEMMA_VISION_CONFIG

    config = _TinyGemmaConfig(**GEMMA_TEXT_CONFIG)
    ops = comfy.ops.disable_weight_init
    dtype = torch.float32
    module = torch.nn.Module()
    with torch.device("cpu"):
        # The three parts of llama.Gemma3_12B, built from the tiny config object.
        module.model = llama.Llama2_(config, device="cpu", dtype=dtype, ops=ops)
        module.multi_modal_projector = llama.Gemma3MultiModalProjector(config, dtype, "cpu", ops)
        module.vision_model = comfy.clip_model.CLIPVision(config.vision_config, dtype, "cpu", ops)
    state = _randomised(dict(module.state_dict()), seed)
    state["spiece_model"] = torch.frombuffer(bytearray(tokenizer_model()), dtype=torch.uint8).clone()
    return state


def tokenizer_model() -> bytes:
    """A sentencepiece (unigram) model trained on a built-in corpus, serialized.

    At most :data:`TOKENIZER_VOCAB_SIZE` trained pieces, then ``<unused_N>`` pieces (type
    UNUSED: never produced by encoding) up to exactly ``GEMMA_TEXT_CONFIG["vocab_size"]``,
    so every id the model can generate decodes (TextGenerateLTX2Prompt, the LTX-2.3 prompt
    enhancer, fails with "piece id is out of range" otherwise); pad 0, eos 1, bos 2, unk 3 as
    in Gemma. Deterministic (one thread). Requires the ``sentencepiece`` package.
    """
    import sentencepiece
    from sentencepiece import sentencepiece_model_pb2

    buffer = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(_TOKENIZER_CORPUS),
        model_writer=buffer,
        model_type="unigram",
        vocab_size=TOKENIZER_VOCAB_SIZE,
        hard_vocab_limit=False,
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        bos_id=2,
        unk_id=3,
        num_threads=1,
        minloglevel=2,
    )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(buffer.getvalue())
    trained = len(proto.pieces)
    for index in range(trained, GEMMA_TEXT_CONFIG["vocab_size"]):
        piece = proto.pieces.add()
        piece.piece = f"<unused_{index - trained}>"
        piece.score = 0.0
        piece.type = sentencepiece_model_pb2.ModelProto.SentencePiece.UNUSED
    return proto.SerializeToString()


def upscaler_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """State dict of the tiny x2 spatial latent upscaler (:data:`UPSCALER_CONFIG`)."""
    _prepare_comfy()
    import comfy.ldm.lightricks.latent_upsampler as latent_upsampler
    import comfy.ops
    import torch

    with torch.device("cpu"):
        model = latent_upsampler.LatentUpsampler.from_config(
            UPSCALER_CONFIG, operations=comfy.ops.disable_weight_init
        )
    return _randomised(dict(model.state_dict()), seed)


def lora_targets(checkpoint: dict[str, torch.Tensor]) -> dict[str, tuple[int, int]]:
    """LoRA target modules of a checkpoint state dict: name -> (out, in) features.

    Every linear layer of the transformer blocks (2-D ``.weight`` under
    ``model.diffusion_model.transformer_blocks.``), named without the ``model.``
    prefix and ``.weight`` suffix, e.g. ``diffusion_model.transformer_blocks.0.attn1.to_q``:
    the names ComfyUI's LoRA key map (comfy/lora.py, model_lora_keys_unet) accepts.
    """
    prefix = "model.diffusion_model.transformer_blocks."
    targets = {}
    for key in sorted(checkpoint):
        value = checkpoint[key]
        if key.startswith(prefix) and key.endswith(".weight") and value.ndim == 2:
            targets[key[len("model.") : -len(".weight")]] = (value.shape[0], value.shape[1])
    return targets


def lora_state_dict(targets: dict[str, tuple[int, int]], rank: int, seed: int) -> dict[str, torch.Tensor]:
    """A random LoRA for ``targets`` (see :func:`lora_targets`), float32.

    Keys ``<target>.lora_A.weight`` (rank, in) and ``<target>.lora_B.weight``
    (out, rank), no alpha (ComfyUI then scales by 1). Both factors are drawn so that
    ``B @ A`` has about the spread of the weight it patches (entries ~ N(0, 1/in)): at
    strength 1 a LoRA changes the output clearly, and LoRAs with different seeds
    change it differently.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for target in sorted(targets):
        rows, cols = targets[target]
        out[f"{target}.lora_A.weight"] = torch.randn(rank, cols, generator=generator) / cols**0.5
        out[f"{target}.lora_B.weight"] = torch.randn(rows, rank, generator=generator) / rank**0.5
    return out


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _prepare_comfy() -> None:
    """Switch ComfyUI to CPU mode when there is no GPU and it is not yet set up."""
    if "comfy.model_management" in sys.modules:
        return
    import torch

    if torch.cuda.is_available():
        return
    import comfy.cli_args

    comfy.cli_args.args.cpu = True


def _transformer_kwargs() -> dict:
    """TRANSFORMER_CONFIG as LTXAVModel keyword arguments (as ComfyUI passes them)."""
    return {k: v for k, v in TRANSFORMER_CONFIG.items() if not k.startswith("_")}


def _randomised(state: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """Replace every tensor of ``state`` by seeded random values of its shape.

    Values are drawn key by key in sorted order from one generator, so they depend on
    the seed and the shapes only. Scales keep a random network numerically tame:
    matrices and convolutions ~ N(0, 1/fan_in), biases and modulation tables small,
    norm weights near 1, latent statistics (``std-of-means``) positive.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for key in sorted(state):
        shape = tuple(state[key].shape)
        leaf = key.rsplit(".", 1)[-1]
        noise = torch.randn(shape, generator=generator, dtype=torch.float32)
        if leaf == "std-of-means":
            value = 0.75 + 0.25 * noise.abs()
        elif leaf == "mean-of-means":
            value = 0.1 * noise
        elif leaf == "bias":
            value = 0.02 * noise
        elif "norm" in key and leaf == "weight" and len(shape) == 1:
            value = 1.0 + 0.05 * noise
        elif "scale_shift_table" in leaf:
            value = 0.1 * noise
        elif len(shape) >= 2:
            fan_in = 1
            for size in shape[1:]:
                fan_in *= size
            value = noise / max(fan_in, 1) ** 0.5
        else:
            value = 0.1 * noise
        out[key] = value.contiguous()
    return out


def _save(state: dict[str, torch.Tensor], path: pathlib.Path, metadata: dict[str, str]) -> pathlib.Path:
    """Save ``state`` as safetensors at ``path`` (folders created, mode 0644), return the path.

    safetensors creates files readable by their owner only; a model file is made
    world-readable like a downloaded one (ComfyUI may run as another user).
    """
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=metadata or None)
    path.chmod(0o644)
    return path
