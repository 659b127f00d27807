"""The LTX-2.3 control templates (IC-LoRA Union: canny and depth) against ComfyUI 0.33.0.

workflows/ltx23/ltx23_control_{canny,depth}_fast.json follow ComfyUI's official
``video_ltx2_3_ic_lora`` (comfyui-workflow-templates 0.1.123). Checked here:

(a) the graph, as is and filled for every job shape (t2v / i2v, enhancer on / off, silent), is
    valid against the 0.33.0 ``/object_info`` snapshot, and the bindings fit the graph;
(b) the settings are the official template's (sampler, model chain, guide, first frame, decode,
    negative prompt, enhancer, MoGe, files), canny's preprocessing that of the official LTX-2
    canny template;
(c) end to end on a real ComfyUI with tiny weights (CPU): a control video made here with PyAV,
    t2v (no first frame) and i2v, a 128 x 128 MP4 with sound is saved, and the control images
    are in the prompt's ``/history``.

The graphs are filled by the worker's filler (``ltx_worker.templates``: ``remove_when_absent``
and ``bypass_when_absent`` turn the template into text to video when ``image`` is None). The
depth template loads the tiny MoGe model from ``models/geometry_estimation``, a folder the
session's extra_model_paths.yaml maps (``comfy.process.MODEL_FOLDERS``).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from ltx_worker.bindings_check import check_bindings
from ltx_worker.comfy.client import ComfyClient
from ltx_worker.delivery.outputs import probe_video
from ltx_worker.templates import load_template
from ltx_worker.workflow_check import check_graph

from official_templates import settings, ui_to_api
from support import make_test_image
from template_files import OFFICIAL, ids_by_title, load_json
from template_files import WORKFLOWS as ALL_WORKFLOWS

WORKFLOWS = ALL_WORKFLOWS / "ltx23"
KINDS = ("canny", "depth")
MOGE_FILE = "moge_2_vitl_normal_fp16.safetensors"

#: what the filler supplies for a job (docs/architecture.md, "Templates and bindings")
VALUES = {
    "prompt": "a red ball rolls past a blue box on a wooden floor",
    "negative_prompt": "pc game, console game, video game, cartoon, childish, ugly",
    "width": 128, "height": 128, "frames": 9, "fps": 24, "seed": 5,
    "image": "ltxw-control-first.png", "image_strength": 1.0,
    "control_video": "ltxw-control-video.mp4",
    "filename_prefix": "ltxw/control", "audio": True, "enhance_prompt": False,
}


def template(kind: str) -> tuple[dict, dict]:
    """(graph, bindings) of the control template of `kind`."""
    name = f"ltx23_control_{kind}_fast"
    return load_json(WORKFLOWS / f"{name}.json"), load_json(WORKFLOWS / f"{name}.bindings.json")


def fill(kind: str, values: dict) -> dict:
    """The template of `kind` filled by the worker's filler (ltx_worker.templates)."""
    return load_template(WORKFLOWS / f"ltx23_control_{kind}_fast.json").fill(values)


JOBS = {  # job shape -> values that differ from VALUES
    "i2v": {},
    "t2v": {"image": None},
    "i2v enhanced": {"enhance_prompt": True},
    "t2v enhanced": {"image": None, "enhance_prompt": True},
    "silent": {"audio": False},
}


# -- (a) schema --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_graph_and_every_filled_job_are_valid_against_comfyui_033(kind, object_info):
    graph, bindings = template(kind)
    assert check_bindings(graph, bindings) == []
    assert check_graph(graph, object_info) == [], "as is"
    for shape, changes in JOBS.items():
        filled = fill(kind, {**VALUES, **changes})
        assert check_graph(filled, object_info) == [], shape
        classes = {n["class_type"] for n in filled.values()}
        assert ("LoadImage" in classes) is (changes.get("image", "") is not None), shape
        assert ("TextGenerateLTX2Prompt" in classes) is bool(changes.get("enhance_prompt")), shape
        create = filled[ids_by_title(filled)["Create Video"]]["inputs"]
        assert ("audio" in create) is (shape != "silent"), shape


@pytest.mark.parametrize("kind", KINDS)
def test_serves_both_ltx23_models_in_its_variant(kind):
    _, bindings = template(kind)
    assert bindings["family"] == "ltx23" and bindings["output"] == "Save Video"
    assert sorted((s["model"], s["quality"], s["variant"]) for s in bindings["serves"]) == [
        ("ltx-2.3-i2v", "fast", f"control-{kind}"), ("ltx-2.3-t2v", "fast", f"control-{kind}")]
    assert set(bindings["params"]) == set(VALUES) - {"audio", "enhance_prompt"}
    assert bindings["remove_when_absent"] == {"image": ["Load Image"]}
    assert bindings["bypass_when_absent"] == {"image": [{"node": "Image Conditioning", "input": "latent"}]}
    assert bindings["unlink_when_false"] == {"audio": [["Create Video", "audio"]]}
    assert bindings["control_output"] == "Control Images"


@pytest.mark.parametrize("kind", KINDS)
def test_t2v_latent_skips_the_first_frame(kind):
    filled = fill(kind, {**VALUES, "image": None})
    ids = ids_by_title(filled)
    assert filled[ids["Add Control Guide"]]["inputs"]["latent"] == [ids["Latent Video"], 0]


# -- (b) the official template's settings ------------------------------------------------------

def _src(graph: dict, node: dict, name: str) -> dict | None:
    value = node["inputs"].get(name)
    return graph.get(str(value[0])) if isinstance(value, list) else None


def _one(graph: dict, cls: str) -> dict:
    found = [n for n in graph.values() if n["class_type"] == cls]
    assert len(found) == 1, f"{len(found)} {cls} nodes"
    return found[0]


def _widgets(node: dict, *skip: str) -> dict:
    return {k: v for k, v in node["inputs"].items() if not isinstance(v, list) and k not in skip}


def _chain(graph: dict, node: dict | None) -> list[tuple]:
    """The model chain behind a node's ``model`` (or ``iclora_model``) input."""
    out = []
    node = _src(graph, node, "model") or _src(graph, node, "iclora_model")
    while node is not None:
        out.append((node["class_type"],) + tuple(sorted(_widgets(node).items())))
        node = _src(graph, node, "model")
    return out


def _core(graph: dict) -> dict:
    """What the control templates share with video_ltx2_3_ic_lora, read from either graph."""
    sampler = _one(graph, "KSampler")
    guide = _one(graph, "LTXVAddGuide")
    first = _one(graph, "LTXVImgToVideoInplace")
    separate = _src(graph, _one(graph, "VAEDecodeTiled"), "samples")
    return {
        "sampler": _widgets(sampler, "seed"),
        "sampler_model": _chain(graph, sampler),
        "iclora_model": _chain(graph, _one(graph, "GetICLoRAParameters")),
        "sampler_conditioning": [_src(graph, sampler, k)["class_type"] for k in ("positive", "negative")],
        "sampler_latent": _src(graph, _src(graph, sampler, "latent_image"), "video_latent")["class_type"],
        "guide": _widgets(guide),
        "guide_from": [_src(graph, guide, k)["class_type"] for k in ("latent", "iclora_parameters")],
        "first_frame": _widgets(first),
        "first_frame_from": [_src(graph, first, k)["class_type"] for k in ("image", "latent")],
        "decoded": [separate["class_type"], _src(graph, separate, "latent")["class_type"]],
        "audio_latent": _widgets(_one(graph, "LTXVEmptyLatentAudio"), "frames_number"),
        "latent": _widgets(_one(graph, "EmptyLTXVLatentVideo"), "length"),
        "fps": [_value(graph, _one(graph, "CreateVideo"), "fps"),
                _value(graph, _one(graph, "LTXVConditioning"), "frame_rate")],
    }


def _value(graph: dict, node: dict, name: str):
    """An input's value, read through the official template's ComfyMathExpression ``a``."""
    source = _src(graph, node, name)
    if source is not None and source["class_type"] == "ComfyMathExpression":
        assert source["inputs"]["expression"] == "a"
        return source["inputs"]["values.a"]
    return node["inputs"][name]


@pytest.fixture(scope="module")
def official(object_info) -> dict:
    return ui_to_api(load_json(OFFICIAL / "video_ltx2_3_ic_lora.json"), object_info)


@pytest.mark.parametrize("kind", KINDS)
def test_settings_follow_the_official_ic_lora_template(kind, official):
    graph, _ = template(kind)
    ours, theirs = settings(graph), settings(official)
    for key in ("decode", "negative_prompt"):
        assert ours[key] == theirs[key], key
    # the official enhancer also sees the first frame, which a t2v job lacks (bindings notes)
    assert ours["enhancer"] == {**theirs["enhancer"], "image_from": None}
    moge = ("LoadMoGeModel", "model_name", MOGE_FILE)
    expected_files = [f for f in theirs["files"] if f != moge or kind == "depth"]
    assert ours["files"] == expected_files
    assert _core(graph) == _core(official)
    assert _core(graph)["sampler"] == {"steps": 8, "cfg": 1, "sampler_name": "euler_ancestral",
                                       "scheduler": "linear_quadratic", "denoise": 1}
    ids = ids_by_title(graph)
    assert graph[ids["Create Video"]]["inputs"]["bit_depth"] == 8  # official 'auto' is no INT


def _control_path(graph: dict) -> list[tuple]:
    """The chain feeding LTXVAddGuide's image back to GetVideoComponents (switches followed
    through their on_false input, the path taken for frames up to 2048 px wide)."""
    out, node = [], _src(graph, _one(graph, "LTXVAddGuide"), "image")
    while node is not None and node["class_type"] != "GetVideoComponents":
        switch = node["inputs"].get("switch")
        if node["class_type"] == "ComfySwitchNode" and isinstance(switch, bool):
            node = _src(graph, node, "on_true" if switch else "on_false")  # a constant switch
            continue
        out.append((node["class_type"],) + tuple(sorted(
            (k, v) for k, v in _widgets(node).items() if not k.endswith((".width", ".height")))))
        node = next(_src(graph, node, k) for k in ("on_false", "image", "input", "moge_geometry")
                    if _src(graph, node, k) is not None)
    return out


def test_canny_preprocessing_is_the_official_ltx2_canny_one(object_info):
    graph, _ = template("canny")
    canny = ui_to_api(load_json(OFFICIAL / "video_ltx2_canny_to_video.json"), object_info)
    ours = _control_path(graph)
    assert ours == _control_path(canny)
    assert [step[0] for step in ours] == ["Canny", "ImageScaleBy", "ResizeImageMaskNode", "ImageFromBatch"]
    ids = ids_by_title(graph)
    assert graph[ids["Control Images"]]["inputs"]["images"] == [ids["Canny"], 0]


def test_depth_is_the_official_moge_subgraph(official):
    graph, _ = template("depth")
    ours, theirs = _control_path(graph), _control_path(official)
    assert ours[:-2] == theirs, "MoGe render, inference, switch"
    assert [step[0] for step in ours[-2:]] == ["ResizeImageMaskNode", "ImageFromBatch"]
    for cls in ("MoGeInference", "LoadMoGeModel", "ComfyMathExpression"):
        widgets = [[_widgets(n) for n in g.values() if n["class_type"] == cls
                    and n["inputs"].get("expression", "2048").endswith("2048")] for g in (graph, official)]
        assert widgets[0] == widgets[1], cls
    big = [n for n in graph.values() if n["class_type"] == "ResizeImageMaskNode"
           and n["inputs"]["resize_type"] == "scale longer dimension"]
    assert [_widgets(n) for n in big] == [_widgets(n) for n in official.values()
                                          if n["class_type"] == "ResizeImageMaskNode"]
    ids = ids_by_title(graph)
    assert graph[ids["Control Images"]]["inputs"]["images"] == [ids["Depth Map"], 0]


def test_tiny_ic_lora_carries_the_reference_downscale_factor(tiny_models):
    from safetensors import safe_open

    path = tiny_models / "loras" / "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors"
    if not path.is_file():
        pytest.skip("this ComfyUI tree has no LTX-2.3 model code, so no tiny LTX-2.3 weights (needs 0.33.0)")
    with safe_open(str(path), framework="pt") as handle:
        assert handle.metadata() == {"reference_downscale_factor": "2"}
        assert any(k.startswith("diffusion_model.transformer_blocks.") for k in handle.keys())
    assert (tiny_models / "geometry_estimation" / MOGE_FILE).stat().st_size < 2_000_000


# -- (c) end to end ----------------------------------------------------------------------------

def make_control_video(path: Path, frames: int = 17, fps: int = 24, size: tuple[int, int] = (160, 128)) -> Path:
    """An H.264 MP4 of `frames` frames: a bright disc and a box moving over a gradient."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            img = np.zeros((height, width, 3), np.uint8)
            img[..., 2] = (xs * 200 // width).astype(np.uint8)
            cx, cy = 20 + i * 6, height // 2
            img[(xs - cx) ** 2 + (ys - cy) ** 2 < 18 ** 2] = (240, 60, 40)
            bx = width - 40 - i * 3
            img[20:50, bx:bx + 30] = (40, 220, 90)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _lists_moge(object_info: dict) -> bool:
    spec = object_info.get("LoadMoGeModel", {}).get("input", {}).get("required", {}).get("model_name")
    options = spec[1].get("options", []) if spec and len(spec) > 1 and isinstance(spec[1], dict) else []
    return MOGE_FILE in options


@pytest.fixture(scope="module")
def server(comfy):
    """The session's ComfyUI, when it runs the control templates (0.33.0)."""
    if "GetICLoRAParameters" not in comfy.object_info or "LoadMoGeModel" not in comfy.object_info:
        pytest.skip(f"ComfyUI {comfy.version} has no LTX-2.3 IC-LoRA / MoGe nodes (needs 0.33.0)")
    assert _lists_moge(comfy.object_info), "geometry_estimation/ is not among the tiny models' folders"
    return comfy


CASES = [
    ("canny", "t2v", {"image": None}),
    ("canny", "i2v", {"enhance_prompt": True, "frames": 17}),
    ("depth", "t2v", {"image": None, "enhance_prompt": True}),
    ("depth", "i2v", {}),
]


@pytest.mark.parametrize(("kind", "mode", "changes"), CASES, ids=[f"{k}-{m}" for k, m, _ in CASES])
def test_control_job_saves_the_video_and_shows_the_control_images(server, kind, mode, changes, tmp_path):
    values = {**VALUES, **changes, "control_video": f"ltxw-control-{kind}-{mode}.mp4",
              "filename_prefix": f"ltxw/control_{kind}_{mode}"}
    server.input_dir.mkdir(parents=True, exist_ok=True)
    make_control_video(server.input_dir / values["control_video"])
    if values["image"] is not None:
        values["image"] = f"ltxw-control-{kind}-{mode}.png"
        (server.input_dir / values["image"]).write_bytes(make_test_image(160, 128, seed=3))
    filled = fill(kind, values)
    ids = ids_by_title(filled)
    client = ComfyClient(server.url)
    _, entry = client.run_prompt(filled, timeout_s=300)

    videos = client.output_files(entry, ids["Save Video"])
    assert len(videos) == 1 and videos[0].filename.endswith(".mp4")
    facts = probe_video(client.download(videos[0], tmp_path / "out.mp4"))
    assert (facts.width, facts.height, facts.frames) == (128, 128, values["frames"])
    assert facts.fps == values["fps"] and facts.has_audio

    control = client.output_files(entry, ids["Control Images"])
    assert len(control) == values["frames"], "one control image per frame"
    assert all(f.type == "output" and f.filename.endswith(".png") for f in control)  # SaveImage
    first = client.download(control[4], tmp_path / "c.png")
    if first is not None:
        from PIL import Image

        pixels = np.asarray(Image.open(first).convert("L"), np.float32)
        assert pixels.shape == ((64, 64) if kind == "canny" else (128, 128)), "canny at half size"
        assert pixels.std() > 1.0, "the control image is not blank"
    if values["enhance_prompt"]:
        assert client.output_text(entry, ids["Enhanced Prompt"])
