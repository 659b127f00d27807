"""The start-up model check (ltx_worker.models.check) against real ``/object_info`` snapshots.

Snapshots: <repo>/../shared/comfyui/object_info-{0.33.0,0.3.75}.json, taken from plain ComfyUI
trees (0.33.0 with no model files; 0.3.75 with tiny LTX-Video weights), plus the node pack's own
entry (custom_nodes/ltx_worker_nodes/object_info.json) as a deployed worker has it. A
"complete" copy fills every loader's option list with the files models.txt provides.
"""

from __future__ import annotations

import copy
import json

import pytest

from ltx_worker.config import PROJECT_ROOT
from ltx_worker.contract.job import CAMERA_LORAS
from ltx_worker.graph import combo_options, input_options
from ltx_worker.models.check import (
    LOADER_FOLDERS,
    blocked_serves,
    format_missing,
    job_missing_files,
    missing_camera_moves,
    missing_models,
    template_needs,
)
from ltx_worker.models.manifest import load_models_txt
from ltx_worker.templates import TemplateRegistry

SNAPSHOTS = PROJECT_ROOT.parent / "shared" / "comfyui"
PACK = PROJECT_ROOT / "custom_nodes" / "ltx_worker_nodes" / "object_info.json"
REGISTRY = TemplateRegistry.load(PROJECT_ROOT / "workflows")
LTX2 = [t for t in REGISTRY.templates if t.family == "ltx2" and t.variant is None]  # plain t2v/i2v


def snapshot(version: str) -> dict:
    path = SNAPSHOTS / f"object_info-{version}.json"
    if not path.is_file():
        pytest.fail(f"no object_info snapshot at {path}")
    info = json.loads(path.read_text())
    if PACK.is_file():
        info.update(json.loads(PACK.read_text()))
    return info


def set_options(info: dict, class_type: str, input_name: str, options: list[str]) -> None:
    """Replace a combo's options, keeping the snapshot's own spec format."""
    for section in ("required", "optional"):
        spec = info[class_type]["input"].get(section, {}).get(input_name)
        if spec is None:
            continue
        if isinstance(spec[0], list):
            spec[0] = list(options)
        else:
            spec[1]["options"] = list(options)
        return
    raise AssertionError(f"{class_type}.{input_name} not in object_info")


def complete(info: dict) -> dict:
    """A copy where every loader lists every models.txt file of its folder."""
    info = copy.deepcopy(info)
    by_folder: dict[str, list[str]] = {}
    for entry in load_models_txt(PROJECT_ROOT / "models.txt"):
        by_folder.setdefault(entry.folder, []).append(entry.filename)
    for (cls, name), folder in LOADER_FOLDERS.items():
        if cls in info and input_options(info, cls, name) is not None:
            set_options(info, cls, name, by_folder.get(folder, []))
    return info


def test_combo_formats():
    assert combo_options([["a.safetensors", "b.ckpt"], {"tooltip": "x"}]) == ["a.safetensors", "b.ckpt"]
    assert combo_options([[]]) == []
    assert combo_options(["COMBO", {"options": ["x.safetensors"], "multiselect": False}]) == ["x.safetensors"]
    assert combo_options(["FLOAT", {"default": 1.0}]) is None
    assert combo_options(["MODEL"]) is None


def test_snapshot_formats_are_read():
    info = snapshot("0.33.0")
    assert input_options(info, "LatentUpscaleModelLoader", "model_name") == []  # ["COMBO", {...}]
    assert input_options(info, "CheckpointLoaderSimple", "ckpt_name") == []  # [[...], {...}]
    old = snapshot("0.3.75")
    assert input_options(old, "CheckpointLoaderSimple", "ckpt_name") == ["ltxv-tiny.safetensors"]


def test_needs_of_an_ltx2_template():
    t = next(t for t in LTX2 if t.serves == (("ltx-2-t2v", "fast"),))
    needs = template_needs(t)
    plain = {(n.node_title, n.relpath) for n in needs if n.camera_move is None}
    assert ("Load Checkpoint", "checkpoints/ltx-2-19b-distilled-fp8.safetensors") in plain
    assert ("Load Audio VAE", "checkpoints/ltx-2-19b-distilled-fp8.safetensors") in plain
    assert ("Load Text Encoder", "text_encoders/gemma_3_12B_it_fp4_mixed.safetensors") in plain
    assert ("Load Latent Upscaler", "latent_upscale_models/ltx-2-spatial-upscaler-x2-1.0.safetensors") in plain
    camera = {n.camera_move: n.relpath for n in needs if n.camera_move}
    assert camera == {move: f"loras/{name}" for move, name in CAMERA_LORAS.items()}


@pytest.mark.parametrize("version", ["0.33.0", "0.3.75"])
def test_complete_snapshot_has_nothing_missing(version):
    info = complete(snapshot(version))
    assert missing_models(REGISTRY.templates, info) == []
    assert format_missing([]) == ""


def test_empty_033_snapshot_reports_every_template_and_camera_move():
    missing = missing_models(REGISTRY.templates, snapshot("0.33.0"))
    assert blocked_serves(missing) == {s for t in REGISTRY.templates if t.variant is None for s in t.serves}
    assert missing_camera_moves(missing) == set(CAMERA_LORAS)
    message = format_missing(missing)
    assert ("missing for ltx-2-t2v fast: checkpoints/ltx-2-19b-distilled-fp8.safetensors (nodes "
            "'Load Checkpoint', 'Load Audio VAE', 'Load Text Encoder')") in message
    assert "missing for ltxv-t2v fast/pro: checkpoints/ltxv-13b-0.9.8-distilled.safetensors" in message
    assert ("missing for camera presets static, dolly_in, dolly_out, dolly_left, dolly_right, jib_up, "
            "jib_down: loras/ltx-2-19b-lora-camera-control-static.safetensors, ") in message


def test_0375_checks_only_the_templates_it_can_run():
    # 0.3.75 has no LTX-2 nodes: those templates are skipped, the legacy ones are checked.
    missing = missing_models(REGISTRY.templates, snapshot("0.3.75"))
    assert {m.template for m in missing} == {"ltxv_t2v", "ltxv_i2v"}
    assert {m.need.relpath for m in missing} == {
        "checkpoints/ltxv-13b-0.9.8-distilled.safetensors", "text_encoders/t5xxl_fp16.safetensors"}


def test_a_removed_file_is_named_with_its_template_and_node():
    info = complete(snapshot("0.33.0"))
    options = input_options(info, "LTXAVTextEncoderLoader", "text_encoder")
    set_options(info, "LTXAVTextEncoderLoader", "text_encoder",
                [o for o in options if o != "gemma_3_12B_it_fp4_mixed.safetensors"])
    missing = missing_models(REGISTRY.templates, info)
    users = [t for t in REGISTRY.templates  # LTX-2 and LTX-2.3 share the Gemma 3 text encoder
             if any(n.filename == "gemma_3_12B_it_fp4_mixed.safetensors" for n in template_needs(t))]
    assert {t.family for t in users} == {"ltx2", "ltx23"}
    assert {m.template for m in missing} == {t.name for t in users}
    assert {m.need.relpath for m in missing} == {"text_encoders/gemma_3_12B_it_fp4_mixed.safetensors"}
    assert blocked_serves(missing) == {s for t in users if t.variant is None for s in t.serves}
    assert missing_camera_moves(missing) == set()
    assert ("missing for ltx-2-i2v pro: text_encoders/gemma_3_12B_it_fp4_mixed.safetensors "
            "(node 'Load Text Encoder')") in format_missing(missing)


def test_a_missing_camera_lora_blocks_only_its_move():
    info = complete(snapshot("0.33.0"))
    dolly_in = CAMERA_LORAS["dolly_in"]
    for cls in ("LoraLoaderModelOnly", "LoraLoader"):
        set_options(info, cls, "lora_name",
                    [o for o in input_options(info, cls, "lora_name") if o != dolly_in])
    missing = missing_models(REGISTRY.templates, info)
    assert {m.template for m in missing} == {t.name for t in LTX2}
    assert blocked_serves(missing) == set()
    assert missing_camera_moves(missing) == {"dolly_in"}
    assert format_missing(missing) == f"missing for camera presets dolly_in: loras/{dolly_in}"


def test_a_distilled_lora_missing_blocks_the_pro_templates_only():
    info = complete(snapshot("0.33.0"))
    name = "ltx-2-19b-distilled-lora-384.safetensors"
    set_options(info, "LoraLoaderModelOnly", "lora_name",
                [o for o in input_options(info, "LoraLoaderModelOnly", "lora_name") if o != name])
    missing = missing_models(REGISTRY.templates, info)
    assert blocked_serves(missing) == {("ltx-2-t2v", "pro"), ("ltx-2-i2v", "pro")}
    assert "(node 'Distilled LoRA')" in format_missing(missing)


def test_a_mode_needs_only_its_own_template_files():
    """An image with only the LTX-2.3 control files (distilled checkpoint, Gemma, union LoRA)
    serves control jobs though the plain templates' dev checkpoint is missing; a missing IC-LoRA
    blocks control jobs only."""
    info = complete(snapshot("0.33.0"))
    for cls, name in (("CheckpointLoaderSimple", "ckpt_name"), ("LTXVAudioVAELoader", "ckpt_name"),
                      ("LTXAVTextEncoderLoader", "ckpt_name")):
        set_options(info, cls, name, [o for o in input_options(info, cls, name)
                                      if o != "ltx-2.3-22b-dev-fp8.safetensors"])
    missing = missing_models(REGISTRY.templates, info)
    assert ("ltx-2.3-t2v", "fast") in blocked_serves(missing)
    assert job_missing_files(missing, "ltx-2.3-t2v", "fast") == ["checkpoints/ltx-2.3-22b-dev-fp8.safetensors"]
    assert job_missing_files(missing, "ltx-2.3-t2v", "fast", variant="control-canny") == []
    assert job_missing_files(missing, "ltx-2.3-i2v", "fast", variant="keyframes") == []

    info = complete(snapshot("0.33.0"))
    union = "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors"
    set_options(info, "LoraLoaderModelOnly", "lora_name",
                [o for o in input_options(info, "LoraLoaderModelOnly", "lora_name") if o != union])
    missing = missing_models(REGISTRY.templates, info)
    assert not blocked_serves(missing)
    assert job_missing_files(missing, "ltx-2.3-t2v", "fast", variant="control-depth") == [f"loras/{union}"]
    assert "missing for ltx-2.3-t2v fast, ltx-2.3-i2v fast (control-canny)" in format_missing(missing)
