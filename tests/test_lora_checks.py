"""Untrusted LoRA files checked on their safetensors headers (issue 20), before ComfyUI sees them.

Real files: written with the safetensors library (numpy arrays), then damaged byte by byte where
a test needs a hostile one. The model side is a small checkpoint header laid out like the LTX
all-in-one checkpoints (``model.diffusion_model.transformer_blocks.<i>.attn1.to_q.weight``...).
"""

from __future__ import annotations

import json
import pickle
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from ltx_worker.loras.fit import FitError, check_fit, family_named, model_weights
from ltx_worker.loras.header import HEADER_MAX_BYTES, HeaderError, read_header

from support import make_test_image

WIDTH = 32
BLOCKS = 2
MODULES = ("attn1.to_q", "attn1.to_k", "ff.net.2")


def _checkpoint(tmp_path: Path) -> Path:
    state = {}
    for b in range(BLOCKS):
        for m in MODULES:
            rows = WIDTH if m != "ff.net.2" else WIDTH
            cols = WIDTH if m != "ff.net.2" else 4 * WIDTH
            state[f"model.diffusion_model.transformer_blocks.{b}.{m}.weight"] = np.zeros((rows, cols), np.float16)
            state[f"model.diffusion_model.transformer_blocks.{b}.{m}.bias"] = np.zeros((rows,), np.float16)
    state["vae.decoder.conv_out.conv.weight"] = np.zeros((3, 8, 3, 3, 3), np.float16)
    path = tmp_path / "ckpt.safetensors"
    save_file(state, str(path))
    return path


@pytest.fixture
def weights(tmp_path):
    return model_weights(read_header(_checkpoint(tmp_path), dtypes=None))


def _lora(tmp_path: Path, state: dict, metadata: dict | None = None, name: str = "lora.safetensors") -> Path:
    path = tmp_path / name
    save_file(state, str(path), metadata=metadata)
    return path


def _factors(prefix: str = "diffusion_model.", rank: int = 4, a: str = ".lora_A.weight",
             b: str = ".lora_B.weight") -> dict:
    out = {}
    for blk in range(BLOCKS):
        for m in MODULES:
            cols = 4 * WIDTH if m == "ff.net.2" else WIDTH
            out[f"{prefix}transformer_blocks.{blk}.{m}{a}"] = np.ones((rank, cols), np.float32)
            out[f"{prefix}transformer_blocks.{blk}.{m}{b}"] = np.ones((WIDTH, rank), np.float32)
    return out


@pytest.mark.parametrize(("prefix", "a", "b"), [
    ("diffusion_model.", ".lora_A.weight", ".lora_B.weight"),   # ltx-trainer / diffusers-PEFT form
    ("", ".lora_down.weight", ".lora_up.weight"),                # ComfyUI's LTX generic form
])
def test_a_lora_of_the_models_shapes_fits(tmp_path, weights, prefix, a, b):
    state = _factors(prefix, a=a, b=b)
    state[f"{prefix}transformer_blocks.0.attn1.to_q.alpha"] = np.array(4.0, np.float32)
    fit = check_fit(read_header(_lora(tmp_path, state)), weights, "ltx23")
    assert fit.modules == BLOCKS * len(MODULES) and fit.ranks == (4,) and fit.trained_for is None


def test_kohya_underscore_keys_and_a_bias_diff_fit(tmp_path, weights):
    state = {"lora_unet_transformer_blocks_1_attn1_to_k.lora_down.weight": np.ones((8, WIDTH), np.float16),
             "lora_unet_transformer_blocks_1_attn1_to_k.lora_up.weight": np.ones((WIDTH, 8), np.float16),
             "diffusion_model.transformer_blocks.0.ff.net.2.diff_b": np.ones((WIDTH,), np.float32)}
    fit = check_fit(read_header(_lora(tmp_path, state)), weights, "ltx2")
    assert fit.modules == 2 and fit.ranks == (8,)


def _refused(path: Path, weights: dict, family: str = "ltx23") -> str:
    with pytest.raises((HeaderError, FitError)) as err:
        check_fit(read_header(path), weights, family)
    return str(err.value)


def test_files_that_are_not_safetensors_are_named_as_what_they_are(tmp_path, weights):
    bad = tmp_path / "x.safetensors"
    cases = {
        "a Python pickle": pickle.dumps({"weight": [1.0] * 64}, protocol=4),
        "a PNG image": make_test_image(32, 32),
        "an HTML or XML page": b"<!doctype html><html><body>Access denied</body></html>",
    }
    for what, data in cases.items():
        bad.write_bytes(data)
        assert f"it is {what}" in _refused(bad, weights), what
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"a": 1}))
    assert "it is a zip archive (a PyTorch .pt/.ckpt file)" in _refused(bad, weights)
    bad.write_bytes(b"\x01\x02")
    assert "shorter than the 8-byte header length" in _refused(bad, weights)


def test_a_valid_file_whose_length_bytes_look_like_a_pickle_is_still_read(tmp_path, weights):
    """0x0280 as the header length starts with the pickle opcode bytes 80 02: the header decides."""
    state = {k: v for k, v in _factors().items() if ".0.attn1.to_q." in k}
    path = _lora(tmp_path, state)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = raw[8:8 + n].rstrip(b" ")
    assert len(header) <= 0x0280
    path.write_bytes(struct.pack("<Q", 0x0280) + header + b" " * (0x0280 - len(header)) + raw[8 + n:])
    assert path.read_bytes()[:2] == b"\x80\x02"
    assert check_fit(read_header(path), weights, "ltx23").modules == 1


def _rewrite_header(path: Path, edit) -> None:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    doc = json.loads(raw[8:8 + n])
    edit(doc)
    header = json.dumps(doc).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + raw[8 + n:])


def test_damaged_headers_are_refused_saying_how(tmp_path, weights):
    good = _lora(tmp_path, _factors())
    raw = good.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    bad = tmp_path / "bad.safetensors"

    bad.write_bytes(raw[: len(raw) // 2])
    assert "ends past the end of the file" in _refused(bad, weights)
    bad.write_bytes(raw[: 8 + n // 2])
    assert "truncated: the header claims" in _refused(bad, weights)
    bad.write_bytes(struct.pack("<Q", 8 << 30) + raw[8:])
    assert f"claims {8 << 30} bytes, more than the {HEADER_MAX_BYTES} accepted" in _refused(bad, weights)
    bad.write_bytes(raw[:8] + b"[" + raw[9:])
    assert "not a JSON object" in _refused(bad, weights)

    def past_the_end(doc):
        name = sorted(k for k in doc if k != "__metadata__")[0]
        doc[name]["data_offsets"] = [doc[name]["data_offsets"][0] + 10 ** 9, doc[name]["data_offsets"][1] + 10 ** 9]

    for edit, says in [
        (past_the_end, "data_offsets leaves a hole"),
        (lambda d: d[sorted(d)[1]].update(data_offsets=[0, d[sorted(d)[1]]["data_offsets"][1]
                                                          - d[sorted(d)[1]]["data_offsets"][0]]), "overlaps"),
        (lambda d: d[sorted(d)[0]].update(dtype="I64"), "not a float type a LoRA holds"),
        (lambda d: d[sorted(d)[0]].update(dtype="PICKLE"), "unknown dtype"),
        (lambda d: d[sorted(d)[0]].update(shape=[4, -1]), "shape must be a list"),
        (lambda d: d.update(__metadata__={"a": 1}), "__metadata__ is not a map of strings"),
    ]:
        shutil.copyfile(good, bad)
        _rewrite_header(bad, edit)
        assert says in _refused(bad, weights), says
    bad.write_bytes(raw[:8] + raw[8:8 + n].replace(b"{", b'{"x": {"dtype": "F32", "shape": [0], '
                                                         b'"data_offsets": [0, 0]}, "x": 1, ', 1) + raw[8 + n:])
    bad.write_bytes(struct.pack("<Q", n + len(bad.read_bytes()) - len(raw)) + bad.read_bytes()[8:])
    assert "duplicate key 'x'" in _refused(bad, weights)


def test_keys_that_do_not_fit_the_model_are_refused_naming_the_first(tmp_path, weights):
    state = _factors()
    state["diffusion_model.transformer_blocks.7.attn1.to_q.lora_A.weight"] = np.ones((4, WIDTH), np.float32)
    assert "names no weight of the ltx23 model" in _refused(_lora(tmp_path, state, name="a.safetensors"), weights)

    state = {"unet.down_blocks.0.resnets.0.conv1.weight": np.ones((4, 4), np.float32)}
    assert "is no LoRA key form ComfyUI reads" in _refused(_lora(tmp_path, state, name="b.safetensors"), weights)

    state = _factors(rank=4)
    state["diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight"] = np.ones((WIDTH + 1, 4), np.float32)
    assert "do not make its weight's shape [32, 32]" in _refused(_lora(tmp_path, state, name="c.safetensors"),
                                                                   weights)
    state = _factors()
    del state["diffusion_model.transformer_blocks.1.ff.net.2.lora_B.weight"]
    assert "without its pair" in _refused(_lora(tmp_path, state, name="d.safetensors"), weights)

    state = {"diffusion_model.transformer_blocks.0.attn1.to_q.alpha": np.ones((2,), np.float32)}
    assert "alpha of shape [2] does not fit" in _refused(_lora(tmp_path, state, name="e.safetensors"), weights)
    assert "holds no tensors" in _refused(_lora(tmp_path, {}, name="f.safetensors"), weights)


@pytest.mark.parametrize(("named", "family", "refused"), [
    ("sdxl_base_v1-0", "ltx23", True),
    ("Wan2.1-T2V-14B", "ltx2", True),
    ("ltx-2-19b-dev", "ltx23", True),
    ("LTX-2.3-22B", "ltx23", False),
    ("ltx2.3", "ltx23", False),
    ("Lightricks/LTX-Video", "ltx2", True),
    ("Lightricks LTX", "ltx25", False),     # an LTX name of no known family: the shapes decide
])
def test_trainer_metadata_naming_another_base_model_is_refused(tmp_path, weights, named, family, refused):
    path = _lora(tmp_path, _factors(), metadata={"ss_base_model_version": named})
    if refused:
        assert f"trained for {named!r}, not the {family} model" in _refused(path, weights, family)
    else:
        assert check_fit(read_header(path), weights, family).trained_for == named


def test_family_names_as_trainers_write_them():
    assert [family_named(t) for t in ("ltx-2.5", "LTX_2_3", "ltxv-2", "LTX-Video-0.9.8", "ltxv", "flux-dev",
                                      "ltx-2-19b-distilled")] == \
        ["ltx25", "ltx23", "ltx2", "ltxv", "ltxv", "other", "ltx2"]


def test_the_tiny_official_loras_fit_their_checkpoints_and_not_another_family(tiny_models):
    """On the generator's real files: LTX-2's camera and IC-LoRAs and LTX-2.3's distilled LoRA fit
    their own checkpoints; LTX-2.3's LoRA (gated attention: keys LTX-2 lacks) does not fit LTX-2."""
    ckpt = {name: model_weights(read_header(tiny_models / "checkpoints" / f, dtypes=None))
            for name, f in (("ltx2", "ltx-2-19b-dev-fp8.safetensors"),
                            ("ltx23", "ltx-2.3-22b-dev-fp8.safetensors"))}
    distilled_23 = "ltx_2.3_22b_distilled_1.1_lora_dynamic_fro09_avg_rank_111_bf16"
    loras = tiny_models / "loras"
    for name, family in (("ltx-2-19b-lora-camera-control-dolly-in", "ltx2"),
                         ("ltx-2-19b-ic-lora-canny-control", "ltx2"), (distilled_23, "ltx23")):
        fit = check_fit(read_header(loras / f"{name}.safetensors"), ckpt[family], family)
        assert fit.modules > 10 and fit.ranks, (name, fit)
    with pytest.raises(FitError, match="names no weight of the ltx2 model"):
        check_fit(read_header(loras / f"{distilled_23}.safetensors"), ckpt["ltx2"], "ltx2")


def test_a_trigger_word_goes_in_front_unless_the_prompt_has_it():
    from ltx_worker.loras.named import NamedLora

    squish = NamedLora("ltx2-squish", "ltx2", "ltx2-squish.safetensors", "squish it", "ltx2-effects")
    assert squish.prompt_with_trigger("a puppy") == ("squish it, a puppy", True)
    assert squish.prompt_with_trigger("Squish it: a puppy") == ("Squish it: a puppy", False)
    assert squish.prompt_with_trigger("squish items") == ("squish it, squish items", True)  # whole words
    plain = NamedLora("x", "ltx2", "x.safetensors", None, "ltx2-effects")
    assert plain.prompt_with_trigger("a puppy") == ("a puppy", False)
