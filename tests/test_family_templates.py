"""The family templates (workflows/<family>/*.json) against ComfyUI 0.33.0 and the official templates.

(a) Every API template under workflows/ is valid against the 0.33.0 ``/object_info`` snapshot plus
    the project's node pack, as is, with its prompt enhancer linked (``enhance_prompt`` true) and
    with the enhancer removed (false).
(b) Every LTX-2 / 2.3 / 2.5 template holds the settings of the official ComfyUI template it follows
    (``../shared/reference/ltx2/native-templates/``, read by tests/official_templates.py): sigmas,
    schedulers, samplers, guiders and CFG, LoRAs and strengths, model chain per stage, image
    preprocessing and strengths, upscaler, decode, negative prompt, prompt enhancer, model files.
    The LTX-2.3 "pro" templates have no official ComfyUI template: their sampling settings are held
    against Lightricks' reference pipeline (ltx-pipelines 1.0.0, see PIPELINE_23 below).
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
from pathlib import Path

import pytest

from official_templates import settings, ui_to_api
from template_files import OFFICIAL, WORKFLOWS, ids_by_title, load_json

#: project template -> the official ComfyUI template (comfyui-workflow-templates 0.1.123) it follows
SOURCES = {
    "ltx2_t2v_fast": "video_ltx2_t2v_distilled",
    "ltx2_t2v_pro": "video_ltx2_t2v",
    "ltx2_i2v_fast": "video_ltx2_i2v_distilled",
    "ltx2_i2v_pro": "video_ltx2_i2v",
    "ltx23_t2v_fast": "video_ltx2_3_t2v",
    "ltx23_i2v_fast": "video_ltx2_3_i2v",
    "ltx23_t2v_pro": "video_ltx2_3_t2v",  # files, upscaler, enhancer; sampling from PIPELINE_23
    "ltx23_i2v_pro": "video_ltx2_3_i2v",
    "ltx23_a2v_pro": "video_ltx2_3_t2v",  # files, upscaler, enhancer; sampling from PIPELINE_23_A2V
    "ltx25_t2v_fast": "video_ltx2_5_t2v",
    "ltx25_i2v_fast": "video_ltx2_5_i2v",
    "ltx23_idlora_fast": "video_ltx2_3_id_lora",
}
#: the mode templates (issue 11) and their official sources; their settings are held to them by
#: tests/test_control_ltx2_templates.py, tests/test_control_ltx23_templates.py and
#: tests/test_mode_templates.py (their graphs differ in shape from the t2v/i2v reader's)
MODE_SOURCES = {
    "ltx2_control_canny_fast": "video_ltx2_canny_to_video",
    "ltx2_control_canny_pro": "video_ltx2_canny_to_video",
    "ltx2_control_depth_fast": "video_ltx2_depth_to_video",
    "ltx2_control_depth_pro": "video_ltx2_depth_to_video",
    "ltx23_control_canny_fast": "video_ltx2_3_ic_lora",
    "ltx23_control_depth_fast": "video_ltx2_3_ic_lora",
    "ltx23_keyframes_fast": "video_ltx2_3_flf2v",
    "ltx23_ia2v_fast": "video_ltx2_3_ia2v",
    "ltx23_a2v_fast": "video_ltx2_3_ia2v",  # its "Switch to Text to Video?" path
    "ltx25_keyframes_fast": "video_ltx2_5_flf2v",
    # edits (issue 19): the flf2v graph's files, sigmas, sampler and decode (fast), ltx23_t2v_pro's
    # stage 1 (pro); held by tests/test_edit_templates.py
    "ltx23_edit_fast": "video_ltx2_3_flf2v",
    "ltx23_edit_pro": "video_ltx2_3_flf2v",
}
#: official file -> the project's file (same weights, smaller): the LTX-2 distilled checkpoint
FILE_EQUIVALENTS = {"ltx-2-19b-distilled.safetensors": "ltx-2-19b-distilled-fp8.safetensors"}
#: settings a project template deliberately does not share with its official template, and why
KNOWN_DEVIATIONS = {
    ("ltx2_t2v_fast", "negative_prompt"): "official feeds the positive prompt as negative; CFG 1 ignores it",
    ("ltx2_i2v_fast", "negative_prompt"): "official uses ConditioningZeroOut; CFG 1 ignores it",
}

DEV_23 = "ltx-2.3-22b-dev-fp8.safetensors"
DISTILLED_LORA_23 = "ltx_2.3_22b_distilled_1.1_lora_dynamic_fro09_avg_rank_111_bf16.safetensors"
#: ltx-pipelines 1.0.0 (PyPI): TI2VidTwoStagesPipeline (ltx_pipelines/ti2vid_two_stages.py) with
#: LTX_2_3_PARAMS (utils/constants.py) and the CLI defaults of utils/args.py, on 0.33.0 nodes
PIPELINE_23 = {
    1: {"sigmas": ("LTXVScheduler", 30, 2.05, 0.95, True, 0.1, False),  # LTX2Scheduler, no latent
        "sampler": "euler",  # EulerDiffusionStep
        "guider": ("LTXVDualCFGGuider", {"video_cfg": 3.0, "audio_cfg": 7.0}),
        "guides_cropped": False,
        # rescale_scale 0.7 / 0.7 (constants.py:38,48): the pack's post-CFG node, applied last
        "model": [("LTXWGuidanceRescale", ("audio_rescale", 0.7), ("video_rescale", 0.7)),
                  ("LTXVModalityGuidance", ("end_percent", 1.0), ("modality_scale", 3.0),
                   ("start_percent", 0.0)),
                  ("LTXVSpatioTemporalGuidance", ("blocks", "28"), ("end_percent", 1.0),
                   ("scale", 1.0), ("start_percent", 0.0)),
                  ("CheckpointLoaderSimple", DEV_23)],
        "sca_outputs": [0]},
    2: {"sigmas": ("ManualSigmas", 0.909375, 0.725, 0.421875, 0.0),  # STAGE_2_DISTILLED_SIGMA_VALUES
        "sampler": "euler",
        "guider": ("CFGGuider", {"cfg": 1.0}),  # simple_denoising_func: no guidance
        "guides_cropped": True,
        "model": [("LoraLoaderModelOnly", DISTILLED_LORA_23, 1.0),  # DEFAULT_LORA_STRENGTH
                  ("CheckpointLoaderSimple", DEV_23)],
        "sca_outputs": [0]},
}
#: ltx-pipelines 1.0.0 A2VidPipelineTwoStage (ltx_pipelines/a2vid_two_stage.py), where it differs from
#: PIPELINE_23: the audio is kept, and its guider is MultiModalGuiderParams() (:158-160; cfg 1,
#: rescale 0: ltx_core/components/guiders.py:200-211); the video's guidance is PIPELINE_23's
PIPELINE_23_A2V = {
    1: {"guider": ("LTXVDualCFGGuider", {"video_cfg": 3.0, "audio_cfg": 1.0}),
        "model": [("LTXWGuidanceRescale", ("audio_rescale", 0.0), ("video_rescale", 0.7)),
                  *PIPELINE_23[1]["model"][1:]]},
}
#: pro templates whose pipeline is not TI2VidTwoStagesPipeline: what they change of PIPELINE_23
PIPELINE_OVERRIDES = {"ltx23_a2v_pro": PIPELINE_23_A2V}
PIPELINE_23_IMAGE_CRF = 33  # DEFAULT_IMAGE_CRF
PIPELINE_23_DECODE = ("VAEDecodeTiled", 512, 64, 64, 24)  # TilingConfig.default()
PIPELINE_23_NEGATIVE_START = "blurry, out of focus, overexposed, underexposed, low contrast,"


def _find_check_graph():
    """ltx_worker's check_graph, wherever the package keeps it."""
    import ltx_worker

    def candidates():
        yield from ("ltx_worker.workflow_check", "ltx_worker.comfy.workflow_check")
        for info in pkgutil.walk_packages(ltx_worker.__path__, "ltx_worker."):
            if "tinymodels" not in info.name:
                yield info.name

    for name in candidates():
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that does not import here has no checker
            continue
        if callable(getattr(module, "check_graph", None)):
            return module.check_graph
    raise ImportError("no check_graph in the ltx_worker package")


def _template_paths() -> list[Path]:
    return sorted(p for p in WORKFLOWS.rglob("*.json")
                  if not p.name.endswith(".bindings.json") and p.name != "family.json"
                  and "ui" not in p.relative_to(WORKFLOWS).parts)  # ui/: the editor's twins


TEMPLATES = {p.stem: p for p in _template_paths()}


def _variants(graph: dict, bindings: dict | None) -> dict[str, dict]:
    """The graph as is and as the worker sends it with enhance_prompt true / false."""
    variants = {"as is": graph}
    if not bindings:
        return variants
    for param, rule in (bindings.get("when_true") or {}).items():
        linked = copy.deepcopy(graph)
        ids = ids_by_title(linked)
        for title, input_name, source, slot in rule["link"]:
            linked[ids[title]]["inputs"][input_name] = [ids[source], slot]
        variants[f"{param} true"] = linked
    for param, rule in (bindings.get("when_false") or {}).items():
        ids = ids_by_title(graph)
        removed = {ids[title] for title in rule["remove"]}
        variants[f"{param} false"] = {k: v for k, v in graph.items() if k not in removed}
    return variants


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_is_valid_against_comfyui_033(name, object_info):
    path = TEMPLATES[name]
    bindings_path = path.with_name(path.stem + ".bindings.json")
    bindings = load_json(bindings_path) if bindings_path.is_file() else None
    check_graph = _find_check_graph()
    for variant, graph in _variants(load_json(path), bindings).items():
        assert check_graph(graph, object_info) == [], f"{name} ({variant})"


#: LTX-2.3/2.5 templates whose official template has no prompt enhancer (enhance_prompt is refused).
NO_ENHANCER = {"ltx23_idlora_fast"}


def test_templates_without_an_enhancer_have_none():
    for name in NO_ENHANCER:
        graph = load_json(TEMPLATES[name])
        assert not {"TextGenerateLTX2Prompt", "TextGenerate"} & {n["class_type"] for n in graph.values()}, name


@pytest.mark.parametrize("name", sorted(n for n in TEMPLATES
                                        if n.startswith(("ltx23_", "ltx25_")) and n not in NO_ENHANCER))
def test_enhancer_is_disconnected_and_removable(name):
    graph, bindings = load_json(TEMPLATES[name]), load_json(TEMPLATES[name].with_suffix(".bindings.json"))
    ids = ids_by_title(graph)
    assert isinstance(graph[ids["Positive Prompt"]]["inputs"]["text"], str)
    enhancer = graph[ids["Prompt Enhancer"]]
    assert enhancer["class_type"] == "TextGenerateLTX2Prompt"
    preview = graph[ids[bindings["enhanced_prompt_output"]]]
    assert preview["class_type"] == "PreviewAny"
    assert preview["inputs"]["source"] == [ids["Prompt Enhancer"], 0]
    removed = {ids[t] for t in bindings["when_false"]["enhance_prompt"]["remove"]}
    consumers: dict[str, set[str]] = {k: set() for k in graph}
    for node_id, node in graph.items():
        for value in node["inputs"].values():
            if isinstance(value, list):
                consumers[value[0]].add(node_id)
    for node_id in removed:  # nothing kept depends on a removed node ...
        assert consumers[node_id] <= removed, graph[node_id]["_meta"]["title"]
        for value in graph[node_id]["inputs"].values():  # ... and no kept node serves only them
            if isinstance(value, list):
                assert value[0] in removed or not consumers[value[0]] <= removed, value
    assert ["Prompt Enhancer", "prompt"] in bindings["params"]["prompt"]
    assert all("Prompt Enhancer" not in t for p, ts in bindings["params"].items() if p != "prompt"
               for t in ts)


def _expected(name: str, object_info: dict) -> dict:
    official = settings(ui_to_api(load_json(OFFICIAL / f"{SOURCES[name]}.json"), object_info))
    text = json.dumps(official)
    for theirs, ours in FILE_EQUIVALENTS.items():
        text = text.replace(theirs, ours)
    expected = json.loads(text)
    if name.startswith("ltx23_") and name.endswith("_pro"):
        for stage, values in PIPELINE_23.items():
            expected["stages"][str(stage)].update(values, **PIPELINE_OVERRIDES.get(name, {}).get(stage, {}))
            if expected["stages"][str(stage)]["image_strength"] is not None:
                expected["stages"][str(stage)]["image_strength"] = "bound"
        if expected["image_path"]:
            expected["image_path"][0] = ["LTXVPreprocess", ["img_compression", PIPELINE_23_IMAGE_CRF]]
        expected["decode"] = list(PIPELINE_23_DECODE)
        expected["negative_prompt"] = "pipeline"
    return json.loads(json.dumps(expected))


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_settings_follow_the_official_template(name, object_info):
    assert name in TEMPLATES, f"workflows/**/{name}.json is missing"
    ours = json.loads(json.dumps(settings(load_json(TEMPLATES[name]))))  # tuples -> lists, like theirs
    expected = _expected(name, object_info)
    if name.startswith("ltx23_") and name.endswith("_pro"):
        assert ours["negative_prompt"].startswith(PIPELINE_23_NEGATIVE_START)
        ours["negative_prompt"] = "pipeline"
        bindings = load_json(TEMPLATES[name].with_suffix(".bindings.json"))
        for stage in ours["stages"].values():  # the pipeline uses the job's strength in both stages
            if stage["image_strength"] is not None:
                stage["image_strength"] = "bound"
        if "image_strength" in bindings["params"]:
            assert len(bindings["params"]["image_strength"]) == 2
    for key in sorted(set(ours) | set(expected)):
        if (name, key) in KNOWN_DEVIATIONS:
            continue
        assert ours.get(key) == expected.get(key), f"{name}: {key} differs from {SOURCES[name]}"


def test_every_ltx2_family_template_has_a_source():
    family_templates = {n for n in TEMPLATES if n.startswith(("ltx2_", "ltx23_", "ltx25_"))}
    assert family_templates == set(SOURCES) | set(MODE_SOURCES)
    for source in MODE_SOURCES.values():
        assert (OFFICIAL / f"{source}.json").is_file(), source


def test_official_reader_names_widgets_like_the_facts(object_info):
    """Spot checks of the reader on values FACTS-ltx2-families.md lists."""
    graph = ui_to_api(load_json(OFFICIAL / "video_ltx2_3_i2v.json"), object_info)
    by_class: dict[str, list[dict]] = {}
    for node in graph.values():
        by_class.setdefault(node["class_type"], []).append(node["inputs"])
    assert sorted(n["noise_seed"] for n in by_class["RandomNoise"]) == [42, 60540193790228]
    assert sorted(n["strength"] for n in by_class["LTXVImgToVideoInplace"]) == [0.7, 1]
    resize = [n for n in by_class["ResizeImageMaskNode"] if n["resize_type"] == "scale dimensions"]
    assert (resize[0]["resize_type.crop"], resize[0]["scale_method"]) == ("center", "lanczos")
    assert by_class["LTXAVTextEncoderLoader"][0]["ckpt_name"] == DEV_23
    assert by_class["CreateVideo"][0]["bit_depth"] == 8  # [24, 8, "sRGB"]: "sRGB" is left over
