"""Templates in workflows/ against ComfyUI's node schemas, and the schema checker itself.

Snapshots of ``GET /object_info`` live in <repo root>/../shared/comfyui/ (ComfyUI 0.33.0, which
has LTX-2, and 0.3.75, the registry copy that has only LTX-Video 0.9). The LTX-2 templates also
use the project's own node pack; its node's entry (custom_nodes/ltx_worker_nodes/object_info.json,
kept equal to the live entry by tests/test_node_pack.py) is added to the 0.33.0 snapshot, as a
production ComfyUI with the pack installed reports it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ltx_worker.workflow_check import check_bindings, check_graph

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
PACK_OBJECT_INFO = REPO / "custom_nodes" / "ltx_worker_nodes" / "object_info.json"
CAMERA_NODE = "LTXWCameraLoRAPreset"


def _shared_dir() -> Path:
    for candidate in (REPO.parent / "shared", REPO / "shared"):
        if (candidate / "comfyui").is_dir():
            return candidate
    return REPO.parent / "shared"


SNAPSHOTS = _shared_dir() / "comfyui"
OI_033 = SNAPSHOTS / "object_info-0.33.0.json"
OI_0375 = SNAPSHOTS / "object_info-0.3.75.json"

LTX2_TEMPLATES = {
    "ltx2_t2v_fast": ("ltx-2-t2v", "fast"),
    "ltx2_t2v_pro": ("ltx-2-t2v", "pro"),
    "ltx2_i2v_fast": ("ltx-2-i2v", "fast"),
    "ltx2_i2v_pro": ("ltx-2-i2v", "pro"),
}
SIGMAS_STAGE1_FAST = "1., 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875, 0.0"
SIGMAS_STAGE2 = "0.909375, 0.725, 0.421875, 0.0"
DEFAULT_NEGATIVE = ("blurry, low quality, still frame, frames, watermark, overlay, titles, "
                    "has blurbox, has subtitles")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _templates() -> dict[str, tuple[dict, dict]]:
    """name -> (graph, bindings) for every workflows/<name>.json with a bindings file."""
    found = {}
    for path in sorted(WORKFLOWS.glob("*/*.json")):
        if path.name.endswith(".bindings.json") or path.name == "family.json":
            continue
        bindings_path = path.with_name(path.stem + ".bindings.json")
        bindings = _load(bindings_path) if bindings_path.is_file() else None
        found[path.stem] = (_load(path), bindings)
    return found


TEMPLATES = _templates()
#: the plain LTX-2 t2v/i2v templates (the mode templates, which serve a "variant", have their own
#: tests: tests/test_control_ltx2_templates.py)
LTX2 = sorted(n for n, (_, b) in TEMPLATES.items() if b and b.get("family") == "ltx2"
              and not any(s.get("variant") for s in b["serves"]))
LTXV = sorted(n for n, (_, b) in TEMPLATES.items() if b and b.get("family") == "ltxv")


@pytest.fixture(scope="session")
def oi_033() -> dict:
    if not OI_033.is_file():
        pytest.fail(f"no object_info snapshot at {OI_033}: the LTX-2 templates must be checked every run")
    pack = _load(PACK_OBJECT_INFO)
    assert set(pack) == {CAMERA_NODE, "LTXWGuidanceRescale", "LTXWTimeMask"}
    return {**_load(OI_033), **pack}


@pytest.fixture(scope="session")
def oi_0375() -> dict:
    if not OI_0375.is_file():
        pytest.fail(f"no object_info snapshot at {OI_0375}")
    return _load(OI_0375)


def _by_title(graph: dict) -> dict[str, tuple[str, dict]]:
    return {n["_meta"]["title"]: (nid, n) for nid, n in graph.items()}


def _fill(graph: dict, bindings: dict, values: dict) -> dict:
    graph = copy.deepcopy(graph)
    titles = _by_title(graph)
    for param, targets in bindings["params"].items():
        for title, input_name in targets:
            titles[title][1]["inputs"][input_name] = values[param]
    return graph


JOB_VALUES = {
    "prompt": "A red fox runs through fresh snow at dawn.",
    "negative_prompt": DEFAULT_NEGATIVE,
    "width": 1920, "height": 1088, "half_width": 960, "half_height": 544,
    "frames": 481, "fps": 25, "seed": 2**32 - 1,
    "image": "job-1234.png", "image_strength": 0.0,
    "camera_preset": "dolly_in", "camera_strength": 2.0,
    "filename_prefix": "ltx-worker/job-1234",
}


# ------------------------------------------------------------------------------------------
# the templates
# ------------------------------------------------------------------------------------------

def test_the_four_ltx2_templates_exist_and_serve_each_model_quality_once():
    served = {}
    for name in LTX2:
        for entry in TEMPLATES[name][1]["serves"]:
            key = (entry["model"], entry["quality"])
            assert key not in served, f"{key} served by {served.get(key)} and {name}"
            served[key] = name
    for name, key in LTX2_TEMPLATES.items():
        assert name in TEMPLATES, f"workflows/{name}.json is missing"
        assert served.get(key) == name


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_has_bindings_naming_it(name):
    graph, bindings = TEMPLATES[name]
    assert bindings is not None, f"workflows/{name}.bindings.json is missing"
    assert bindings["template"] == f"{name}.json"
    assert bindings["family"] == name.split("_")[0], "a template lives in its family's folder"
    assert check_bindings(graph, bindings) == []


@pytest.mark.parametrize("name", LTX2)
def test_ltx2_template_passes_the_033_schema(name, oi_033):
    assert check_graph(TEMPLATES[name][0], oi_033) == []


@pytest.mark.parametrize("name", LTX2)
def test_ltx2_camera_slot_is_the_preset_node_for_every_preset(name, oi_033):
    """No camera move is the preset "none" of the same node (no bypass): every preset the node
    offers, at either end of the strength range, passes; an unknown preset does not."""
    graph, bindings = TEMPLATES[name]
    assert bindings["params"]["camera_preset"] == [["Camera LoRA", "preset"]]
    assert bindings["params"]["camera_strength"] == [["Camera LoRA", "strength"]]
    assert "camera_lora" not in bindings["params"]
    assert "camera_lora" not in bindings.get("bypass_when_absent", {})
    assert "camera_preset" not in bindings.get("bypass_when_absent", {})
    options = oi_033[CAMERA_NODE]["input"]["required"]["preset"][1]["options"]
    assert options[0] == "none" and len(options) == 8
    for preset in options:
        for strength in (0.0, 2.0):
            filled = _fill(graph, bindings, {**JOB_VALUES, "camera_preset": preset,
                                             "camera_strength": strength})
            assert check_graph(filled, oi_033) == [], (preset, strength)
    bad = _fill(graph, bindings, {**JOB_VALUES, "camera_preset": "dolly-in"})
    _one(check_graph(bad, oi_033), "'Camera LoRA'", "'preset'", "dolly-in")
    bad = _fill(graph, bindings, {**JOB_VALUES, "camera_strength": 2.5})
    _one(check_graph(bad, oi_033), "'Camera LoRA'", "'strength'", "maximum")


@pytest.mark.parametrize("name", LTX2)
def test_ltx2_template_filled_with_extreme_job_values_passes(name, oi_033):
    graph, bindings = TEMPLATES[name]
    for values in (JOB_VALUES, {**JOB_VALUES, "width": 704, "height": 1280, "half_width": 352,
                                "half_height": 640, "frames": 49, "fps": 24, "seed": 0,
                                "image_strength": 1.0}):
        assert check_graph(_fill(graph, bindings, values), oi_033) == []


@pytest.mark.parametrize("name", LTX2)
def test_ltx2_template_filled_by_the_worker_passes(name, oi_033):
    """The worker's own filler (ltx_worker.templates), with and without a camera move and audio."""
    from ltx_worker.templates import load_template

    template = load_template(WORKFLOWS / f"{name.split('_')[0]}/{name}.json")
    for camera_preset in (JOB_VALUES["camera_preset"], "none"):
        for audio in (True, False):
            filled = template.fill({**JOB_VALUES, "camera_preset": camera_preset, "audio": audio})
            assert check_graph(filled, oi_033) == [], (camera_preset, audio)
            create_video = _inputs(filled, "Create Video")
            assert ("audio" in create_video) is audio
            assert _inputs(filled, "Camera LoRA")["preset"] == camera_preset


_LEGACY_CASES = [pytest.param(n, s, id=f"{n}-{s}") for n in LTXV for s in ("0.33.0", "0.3.75")]


@pytest.mark.parametrize(
    "name,snapshot",
    _LEGACY_CASES or [pytest.param(None, None, marks=pytest.mark.skip(
        reason="no legacy ltxv templates in workflows/"))],
)
def test_legacy_ltxv_template_passes_both_schemas(name, snapshot, oi_033, oi_0375):
    object_info = oi_033 if snapshot == "0.33.0" else oi_0375
    assert check_graph(TEMPLATES[name][0], object_info) == []


# ------------------------------------------------------------------------------------------
# the official LTX-2 settings (shared/reference/FACTS.md, native templates 0.1.123)
# ------------------------------------------------------------------------------------------

def _inputs(graph: dict, title: str) -> dict:
    return _by_title(graph)[title][1]["inputs"]


def _source_title(graph: dict, link: list) -> str:
    return graph[link[0]]["_meta"]["title"]


@pytest.mark.parametrize("name", sorted(LTX2_TEMPLATES))
def test_ltx2_template_follows_the_official_settings(name):
    graph, bindings = TEMPLATES[name]
    model, quality = LTX2_TEMPLATES[name]
    i2v = model == "ltx-2-i2v"
    checkpoint = {"fast": "ltx-2-19b-distilled-fp8.safetensors",
                  "pro": "ltx-2-19b-dev-fp8.safetensors"}[quality]
    nodes = _by_title(graph)
    classes = [n["class_type"] for n in graph.values()]

    assert _inputs(graph, "Load Checkpoint")["ckpt_name"] == checkpoint
    assert _inputs(graph, "Load Audio VAE")["ckpt_name"] == checkpoint
    assert _inputs(graph, "Load Text Encoder") == {
        "text_encoder": "gemma_3_12B_it_fp4_mixed.safetensors", "ckpt_name": checkpoint,
        "device": "default"}
    assert _inputs(graph, "Load Latent Upscaler")["model_name"] == \
        "ltx-2-spatial-upscaler-x2-1.0.safetensors"
    assert _inputs(graph, "Negative Prompt")["text"] == DEFAULT_NEGATIVE

    # stage 1: half size; stage 2: after the x2 latent upscaler, 3 sigmas, CFG 1
    if quality == "pro":
        assert {k: v for k, v in _inputs(graph, "Stage 1 Scheduler").items() if k != "latent"} \
            == {"steps": 20, "max_shift": 2.05, "base_shift": 0.95, "stretch": True,
                "terminal": 0.1}
        assert _inputs(graph, "Stage 1 Guider")["cfg"] == 4
    else:
        assert _inputs(graph, "Stage 1 Sigmas")["sigmas"] == SIGMAS_STAGE1_FAST
        assert _inputs(graph, "Stage 1 Guider")["cfg"] == 1
        assert "LTXVScheduler" not in classes
    assert _inputs(graph, "Stage 2 Sigmas")["sigmas"] == SIGMAS_STAGE2
    assert _inputs(graph, "Stage 2 Guider")["cfg"] == 1
    samplers = ("euler", "gradient_estimation") if i2v else ("euler_ancestral", "euler_ancestral")
    assert (_inputs(graph, "Stage 1 Sampler")["sampler_name"],
            _inputs(graph, "Stage 2 Sampler")["sampler_name"]) == samplers
    upsampler = _inputs(graph, "Spatial Upscale x2")
    assert _source_title(graph, upsampler["upscale_model"]) == "Load Latent Upscaler"
    assert classes.count("SamplerCustomAdvanced") == 2

    # LoRAs: camera LoRA (the pack's preset node, "static" at 1.0 as exported) right after the
    # checkpoint, feeding both stages; pro adds the distilled LoRA (1.0) to stage 2 only
    assert nodes["Camera LoRA"][1]["class_type"] == CAMERA_NODE
    camera = _inputs(graph, "Camera LoRA")
    assert _source_title(graph, camera["model"]) == "Load Checkpoint"
    assert (camera["preset"], camera["strength"]) == ("static", 1.0)
    assert _source_title(graph, _inputs(graph, "Stage 1 Guider")["model"]) == "Camera LoRA"
    stage2_model = _source_title(graph, _inputs(graph, "Stage 2 Guider")["model"])
    if quality == "pro":
        distilled = _inputs(graph, "Distilled LoRA")
        assert distilled["lora_name"] == "ltx-2-19b-distilled-lora-384.safetensors"
        assert distilled["strength_model"] == 1.0
        assert _source_title(graph, distilled["model"]) == "Camera LoRA"
        assert stage2_model == "Distilled LoRA"
    else:
        assert stage2_model == "Camera LoRA"
        assert classes.count("LoraLoaderModelOnly") == 0
    assert classes.count(CAMERA_NODE) == 1

    # both seeds and all frame rates come from one parameter each
    assert {tuple(t) for t in bindings["params"]["seed"]} == {
        ("Stage 1 Noise", "noise_seed"), ("Stage 2 Noise", "noise_seed")}
    fps_targets = {tuple(t) for t in bindings["params"]["fps"]}
    frame_rate_inputs = {(n["_meta"]["title"], k) for n in graph.values()
                         for k in n["inputs"] if k in ("frame_rate", "fps")}
    assert fps_targets == frame_rate_inputs
    assert len({_inputs(graph, t)[k] for t, k in fps_targets}) == 1

    assert _source_title(graph, _inputs(graph, "Create Video")["audio"]) == "Decode Audio"
    assert bindings["unlink_when_false"] == {"audio": [["Create Video", "audio"]]}

    save = _inputs(graph, "Save Video")
    assert (save["format"], save["format.codec"]) == ("mp4", "h264")
    assert bindings["output"] == "Save Video"

    if i2v:
        assert _inputs(graph, "Preprocess Image")["img_compression"] == 33
        resize = _inputs(graph, "Resize Image")
        assert resize["resize_type"] == "scale dimensions"
        assert _source_title(graph, resize["input"]) == "Load Image"
        for stage, latent_from in (("Stage 1 Image Conditioning", "Stage 1 Latent"),
                                   ("Stage 2 Image Conditioning", "Spatial Upscale x2")):
            conditioning = _inputs(graph, stage)
            assert _source_title(graph, conditioning["latent"]) == latent_from
            assert _source_title(graph, conditioning["image"]) == "Preprocess Image"
        assert set(bindings["params"]) >= {"image", "image_strength", "width", "height"}
    else:
        assert "LoadImage" not in classes and "LTXVImgToVideoInplace" not in classes
    assert set(nodes)  # titles are unique (dict built from them has one entry per node)
    assert len(nodes) == len(graph)


# ------------------------------------------------------------------------------------------
# the checker: negative cases
# ------------------------------------------------------------------------------------------

def _graph() -> dict:
    """A small valid 0.33 graph (checkpoint -> empty latent -> decode -> video -> save)."""
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"},
              "_meta": {"title": "Load Checkpoint"}},
        "2": {"class_type": "EmptyLTXVLatentVideo",
              "inputs": {"width": 768, "height": 512, "length": 97, "batch_size": 1},
              "_meta": {"title": "Latent"}},
        "3": {"class_type": "VAEDecode", "inputs": {"samples": ["2", 0], "vae": ["1", 2]},
              "_meta": {"title": "Decode"}},
        "4": {"class_type": "CreateVideo", "inputs": {"images": ["3", 0], "fps": 24},
              "_meta": {"title": "Create Video"}},
        "5": {"class_type": "SaveVideo",
              "inputs": {"video": ["4", 0], "filename_prefix": "video/x", "format": "mp4",
                         "format.codec": "h264"},
              "_meta": {"title": "Save Video"}},
    }


def test_checker_accepts_the_base_graph_and_does_not_modify_it(oi_033):
    graph = _graph()
    before = copy.deepcopy(graph)
    assert check_graph(graph, oi_033) == []
    assert graph == before


def _one(problems: list[str], *needles: str) -> str:
    assert len(problems) == 1, problems
    for needle in needles:
        assert needle in problems[0], problems[0]
    return problems[0]


def test_unknown_class_type(oi_033):
    graph = _graph()
    graph["2"]["class_type"] = "NoSuchNode"
    problems = check_graph(graph, oi_033)
    assert any("NoSuchNode" in p and "node 2" in p and "'Latent'" in p for p in problems)


def test_missing_required_input(oi_033):
    graph = _graph()
    del graph["2"]["inputs"]["length"]
    _one(check_graph(graph, oi_033), "node 2", "'Latent'", "EmptyLTXVLatentVideo", "'length'",
         "missing")


def test_wrong_link_type(oi_033):
    graph = _graph()
    graph["3"]["inputs"]["vae"] = ["1", 0]  # MODEL into a VAE input
    _one(check_graph(graph, oi_033), "node 3", "'Decode'", "VAEDecode", "'vae'", "VAE", "MODEL")


def test_out_of_range_values(oi_033):
    graph = _graph()
    graph["2"]["inputs"]["width"] = 32  # min 64
    _one(check_graph(graph, oi_033), "node 2", "'width'", "minimum")
    graph = _graph()
    graph["4"]["inputs"]["fps"] = 240  # max 120
    _one(check_graph(graph, oi_033), "node 4", "CreateVideo", "'fps'", "maximum")


def test_unknown_input(oi_033):
    graph = _graph()
    graph["2"]["inputs"]["frames"] = 97
    _one(check_graph(graph, oi_033), "'frames'", "unknown input")


def test_wrong_value_types(oi_033):
    graph = _graph()
    graph["2"]["inputs"]["length"] = "97"
    _one(check_graph(graph, oi_033), "'length'", "expects INT")
    graph = _graph()
    graph["2"]["inputs"]["batch_size"] = True
    _one(check_graph(graph, oi_033), "'batch_size'", "expects INT")
    graph = _graph()
    graph["3"]["inputs"]["vae"] = "my_vae"  # a literal where only a link can go
    _one(check_graph(graph, oi_033), "'vae'", "expects a link")


def test_combo_and_dynamic_combo_options(oi_033):
    graph = _graph()
    graph["6"] = {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler_fast"},
                  "_meta": {"title": "Sampler"}}
    _one(check_graph(graph, oi_033), "node 6", "'sampler_name'", "euler_fast", "not one of")
    graph = _graph()
    graph["5"]["inputs"]["format"] = "avi"
    problems = check_graph(graph, oi_033)
    assert any("'format'" in p and "avi" in p for p in problems), problems
    graph = _graph()
    graph["5"]["inputs"]["format.codec"] = "vp9"
    _one(check_graph(graph, oi_033), "'format.codec'", "vp9")
    graph = _graph()
    graph["5"]["inputs"]["format.codec.encoding"] = "re-encode"  # then crf etc. are required
    problems = check_graph(graph, oi_033)
    assert any("'format.codec.encoding.crf'" in p and "missing" in p for p in problems), problems


def test_dotted_dynamic_inputs_missing_and_legacy_codec_alias(oi_033):
    graph = _graph()
    del graph["5"]["inputs"]["format.codec"]
    _one(check_graph(graph, oi_033), "'format.codec'", "missing")
    graph["5"]["inputs"]["codec"] = "h264"  # the older input 0.33 still accepts
    assert check_graph(graph, oi_033) == []
    graph = _graph()
    graph["6"] = {"class_type": "LoadImage", "inputs": {"image": "in.png"},
                  "_meta": {"title": "Load"}}
    graph["7"] = {"class_type": "ResizeImageMaskNode",
                  "inputs": {"input": ["6", 0], "resize_type": "scale dimensions",
                             "resize_type.width": 640, "scale_method": "lanczos"},
                  "_meta": {"title": "Resize"}}
    problems = check_graph(graph, oi_033)
    assert {p.split(": ")[0] for p in problems} == {
        "node 7 ('Resize', ResizeImageMaskNode) input 'resize_type.height'",
        "node 7 ('Resize', ResizeImageMaskNode) input 'resize_type.crop'"}, problems


def test_match_type_output_is_resolved(oi_033):
    graph = _graph()
    graph["6"] = {"class_type": "LoadImage", "inputs": {"image": "in.png"},
                  "_meta": {"title": "Load"}}
    graph["7"] = {"class_type": "ResizeImageMaskNode",
                  "inputs": {"input": ["6", 1], "resize_type": "scale longer dimension",
                             "resize_type.longer_size": 512, "scale_method": "area"},
                  "_meta": {"title": "Resize"}}
    graph["4"]["inputs"]["images"] = ["7", 0]  # a resized MASK is not an IMAGE
    _one(check_graph(graph, oi_033), "node 4", "'images'", "MASK")
    graph["7"]["inputs"]["input"] = ["6", 0]
    assert check_graph(graph, oi_033) == []


def test_model_file_names_are_not_checked_but_must_be_strings(oi_033, oi_0375):
    graph = _graph()
    graph["1"]["inputs"]["ckpt_name"] = "some-other-model.safetensors"
    assert check_graph(graph, oi_033) == []
    graph = {
        "1": {"class_type": "CLIPLoader",
              "inputs": {"clip_name": "t5xxl_fp16.safetensors", "type": "ltxv"},
              "_meta": {"title": "Text Encoder"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "x"},
              "_meta": {"title": "Save"}},
        "3": {"class_type": "EmptyImage",
              "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0},
              "_meta": {"title": "Image"}},
    }
    assert check_graph(graph, oi_0375) == []  # 0.3.75 lists "t5-tiny.safetensors" only
    graph["1"]["inputs"]["type"] = "bogus"  # a real option list is still checked
    _one(check_graph(graph, oi_0375), "'type'", "bogus")
    graph["1"]["inputs"]["type"] = "ltxv"
    graph["1"]["inputs"]["clip_name"] = 5
    _one(check_graph(graph, oi_0375), "'clip_name'", "string")


def test_bad_links(oi_033):
    graph = _graph()
    graph["3"]["inputs"]["samples"] = ["99", 0]
    _one(check_graph(graph, oi_033), "'samples'", "99", "does not exist")
    graph = _graph()
    graph["3"]["inputs"]["samples"] = ["2", 1]
    _one(check_graph(graph, oi_033), "'samples'", "output 1")
    graph = _graph()
    graph["3"]["inputs"]["samples"] = ["2"]
    _one(check_graph(graph, oi_033), "'samples'", "bad link")


def test_graph_level_problems(oi_033):
    graph = _graph()
    del graph["5"]
    _one(check_graph(graph, oi_033), "no output node")
    graph = _graph()
    graph["6"] = {"class_type": "ImageInvert", "inputs": {"image": ["7", 0]},
                  "_meta": {"title": "A"}}
    graph["7"] = {"class_type": "ImageInvert", "inputs": {"image": ["6", 0]},
                  "_meta": {"title": "B"}}
    problems = check_graph(graph, oi_033)
    assert any("cycle" in p for p in problems), problems
    assert check_graph({}, oi_033)
    assert check_graph({"1": {"inputs": {}}}, oi_033)


# ------------------------------------------------------------------------------------------
# the checker: bindings
# ------------------------------------------------------------------------------------------

def _bindings() -> dict:
    return {
        "template": "x.json", "family": "ltx2", "serves": [], "output": "Save Video",
        "params": {"fps": [["Create Video", "fps"]], "frames": [["Latent", "length"]]},
        "bypass_when_absent": {},
    }


def test_bindings_accept_a_good_binding():
    assert check_bindings(_graph(), _bindings()) == []


def test_bindings_problems():
    bindings = _bindings()
    bindings["params"]["prompt"] = [["Positive Prompt", "text"]]
    _one(check_bindings(_graph(), bindings), "'prompt'", "no node titled 'Positive Prompt'")

    graph = _graph()
    graph["3"]["_meta"]["title"] = "Latent"
    _one(check_bindings(graph, _bindings()), "'frames'", "not unique")

    bindings = _bindings()
    bindings["params"]["frames"] = [["Latent", "frames"]]
    _one(check_bindings(_graph(), bindings), "'frames'", "does not exist")

    bindings = _bindings()
    bindings["params"]["images"] = [["Create Video", "images"]]
    _one(check_bindings(_graph(), bindings), "'images'", "is a link")

    bindings = _bindings()
    bindings["params"]["rate"] = [["Create Video", "fps"]]
    _one(check_bindings(_graph(), bindings), "also bound")

    bindings = _bindings()
    bindings["output"] = "Nope"
    _one(check_bindings(_graph(), bindings), "output", "'Nope'")


def test_bindings_unlink_rules():
    bindings = _bindings()
    bindings["unlink_when_false"] = {"audio": [["Create Video", "images"]]}
    assert check_bindings(_graph(), bindings) == []
    bindings["unlink_when_false"] = {"audio": [["Create Video", "fps"]]}
    _one(check_bindings(_graph(), bindings), "'audio'", "must be a link")
    bindings["unlink_when_false"] = {"audio": [["Create Video", "audio"]]}
    _one(check_bindings(_graph(), bindings), "'audio'", "does not exist")
    bindings["unlink_when_false"] = {"audio": [["Mixer", "audio"]]}
    _one(check_bindings(_graph(), bindings), "'audio'", "no node titled 'Mixer'")


def test_bindings_bypass_rules():
    bindings = _bindings()
    bindings["bypass_when_absent"] = {"fps": [{"node": "Create Video", "input": "images"}]}
    assert check_bindings(_graph(), bindings) == []
    bindings["bypass_when_absent"] = {"fps": [{"node": "Create Video", "input": "fps"}]}
    _one(check_bindings(_graph(), bindings), "must be a link")
    bindings["bypass_when_absent"] = {"fps": [{"node": "Camera LoRA", "input": "model"}]}
    _one(check_bindings(_graph(), bindings), "no node titled 'Camera LoRA'")
    bindings["bypass_when_absent"] = {"camera_lora": [{"node": "Create Video",
                                                       "input": "images"}]}
    _one(check_bindings(_graph(), bindings), "'camera_lora'", "not bound in 'params'")
