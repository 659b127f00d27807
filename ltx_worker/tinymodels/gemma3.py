"""The tiny Gemma 3 text encoder (LTX-2 and LTX-2.3: ``gemma_3_12B_it_fp4_mixed.safetensors``).

ComfyUI builds a full-size Gemma-3-12B whatever the file holds (FACTS.md), so the test-only node
pack tests/comfy_nodes/tiny_text_encoders shrinks it inside the ComfyUI process with
:data:`GEMMA_TEXT_CONFIG`, :data:`GEMMA_HEAD_DIM` and :data:`GEMMA_VISION_CONFIG`. The file
embeds a sentencepiece tokenizer trained on the spot.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from .common import _prepare_comfy, _randomised

if TYPE_CHECKING:
    import torch


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
