"""The LTX-2 control-video templates (IC-LoRA canny and depth): schema, official settings, real runs.

``workflows/ltx2/ltx2_control_{canny,depth}_{fast,pro}.json`` follow ComfyUI's official templates
video_ltx2_canny_to_video and video_ltx2_depth_to_video (comfyui-workflow-templates 0.1.123; read
from ``../shared/reference/ltx2/native-templates/`` by tests/official_templates.py): "pro" is the
official active subgraph, "fast" the official bypassed distilled alternative. Each serves
ltx-2-t2v (no first frame: ``image`` None) and ltx-2-i2v in its control variant.

(a) Each template, as is and filled for a t2v and an i2v job, is valid against the ComfyUI 0.33.0
    ``/object_info`` snapshot, and its bindings fit its graph.
(b) Its settings are the official ones: per stage sigmas, sampler, guider and CFG, model chain,
    image strength and sampler output (tests/official_templates.py ``settings``), plus the
    control path from the control video to LTXVAddGuide (canny thresholds, the Lotus depth
    chain), the guide's frame and strength, and the latent sized from the control images.
(c) Each runs end to end on the session's real ComfyUI (tiny weights, CPU) on a short control
    video the test writes with PyAV, at 128 x 128 and 9 frames, for t2v and i2v: the MP4 is saved
    with the requested size, frames and sound, and the control images are in ``/history``.

Graphs are filled by the worker's filler (``Template.fill``: ``remove_when_absent`` and
``bypass_when_absent`` drop the first frame on a t2v job) with the parameters
``compiler.template_values`` supplies.
"""

from __future__ import annotations

import io
import json
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from ltx_worker.comfy.client import ComfyClient
from ltx_worker.templates import load_template
from ltx_worker.workflow_check import check_bindings, check_graph

from official_templates import settings, ui_to_api
from support import make_test_image
from template_files import OFFICIAL, ids_by_title, load_json
from template_files import WORKFLOWS as ALL_WORKFLOWS

WORKFLOWS = ALL_WORKFLOWS / "ltx2"

KINDS = ("canny", "depth")
QUALITIES = ("fast", "pro")
NAMES = [f"ltx2_control_{kind}_{quality}" for kind in KINDS for quality in QUALITIES]
#: official file -> the project's file (same weights in fp8, the house fast checkpoint)
FILE_EQUIVALENTS = {"ltx-2-19b-distilled.safetensors": "ltx-2-19b-distilled-fp8.safetensors"}
#: widget inputs the jobs set (bound), left out of the comparison with the official defaults
BOUND_WIDGETS = ("resize_type.width", "resize_type.height", "length", "file", "image", "text",
                 "noise_seed", "filename_prefix", "frame_rate", "fps")

#: the test jobs: tiny (control images 64 x 64, stage-1 latent 2 x 2, stage 2 4 x 4; 2 latent frames)
WIDTH = HEIGHT = 128
FRAMES = 9
FPS = 24
CONTROL_FRAMES = 17  # the control video is longer: ImageFromBatch takes the first FRAMES


def _template(name: str) -> tuple[dict, dict]:
    return load_json(WORKFLOWS / f"{name}.json"), load_json(WORKFLOWS / f"{name}.bindings.json")


# ---------------------------------------------------------------------------------------------
# filling
# ---------------------------------------------------------------------------------------------

def fill(name: str, values: dict) -> dict:
    """The template filled for `values` by the worker's filler (`Template.fill`)."""
    return load_template(WORKFLOWS / f"{name}.json").fill(values)


def job_values(image: str | None, control_video: str = "control.mp4", **extra) -> dict:
    values = {
        "prompt": "a red ball rolls past a blue box", "negative_prompt": "blurry, low quality",
        "width": WIDTH, "height": HEIGHT, "half_width": WIDTH // 2, "half_height": HEIGHT // 2,
        "frames": FRAMES, "fps": FPS, "seed": 5, "filename_prefix": "video/test_control",
        "control_video": control_video, "image": image, "image_strength": 1.0, "audio": True,
    }
    values.update(extra)
    return values


# ---------------------------------------------------------------------------------------------
# (a) schema and bindings
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_template_is_valid_against_comfyui_033(name, object_info):
    graph, bindings = _template(name)
    assert check_bindings(graph, bindings) == [], name
    for variant, values in {"as is": None, "t2v": job_values(None), "i2v": job_values("first.png"),
                            "silent": job_values(None, audio=False)}.items():
        filled = graph if values is None else fill(name, values)
        assert check_graph(filled, object_info) == [], f"{name} ({variant})"


@pytest.mark.parametrize("name", NAMES)
def test_bindings_serve_both_models_in_the_control_variant(name):
    graph, bindings = _template(name)
    kind, quality = name.split("_")[2:]
    assert bindings["serves"] == [
        {"model": "ltx-2-t2v", "quality": quality, "variant": f"control-{kind}"},
        {"model": "ltx-2-i2v", "quality": quality, "variant": f"control-{kind}"},
    ]
    assert bindings["output"] == "Save Video" and bindings["control_output"] == "Control Images"
    ids = ids_by_title(graph)
    assert graph[ids["Load Control Video"]]["class_type"] == "LoadVideo"
    assert bindings["params"]["control_video"] == [["Load Control Video", "file"]]
    assert bindings["params"]["frames"] == [["Control Frames", "length"]]
    assert bindings["params"]["image"] == [["Load Image", "image"]]
    assert sorted(map(tuple, bindings["params"]["image_strength"])) == [
        ("Stage 1 Image Conditioning", "strength"), ("Stage 2 Image Conditioning", "strength")]
    assert bindings["remove_when_absent"] == {"image": ["Load Image", "Resize Image"]}
    assert bindings["unlink_when_false"] == {"audio": [["Create Video", "audio"]]}
    preview = graph[ids["Control Images"]]
    assert preview["class_type"] == "SaveImage"  # under the job's prefix: cleaned with the MP4
    assert preview["inputs"]["images"] == graph[ids["Control Guide"]]["inputs"]["image"]


@pytest.mark.parametrize("name", NAMES)
def test_a_t2v_job_drops_the_first_frame(name):
    graph, _ = _template(name)
    t2v = fill(name, job_values(None))
    classes = sorted(n["class_type"] for n in t2v.values())
    assert "LoadImage" not in classes and "LTXVImgToVideoInplace" not in classes
    ids = ids_by_title(graph)
    guide = next(n for n in t2v.values() if n["class_type"] == "LTXVAddGuide")
    assert guide["inputs"]["latent"] == [ids["Stage 1 Latent"], 0]  # the empty latent itself
    stage2 = t2v[ids["Stage 2 AV Latent"]]
    assert stage2["inputs"]["video_latent"] == [ids["Spatial Upscale x2"], 0]
    i2v = fill(name, job_values("first.png", image_strength=0.8))
    assert i2v[ids["Load Image"]]["inputs"]["image"] == "first.png"
    assert i2v[ids["Stage 1 Image Conditioning"]]["inputs"]["strength"] == 0.8
    assert i2v[ids["Stage 2 Image Conditioning"]]["inputs"]["strength"] == 0.8


# ---------------------------------------------------------------------------------------------
# (b) the official settings
# ---------------------------------------------------------------------------------------------

def official_graph(kind: str, quality: str, object_info: dict) -> dict:
    """The official template flattened to API format; for "fast" its distilled alternative is
    switched on (its subgraph instance, inner nodes and SaveVideo) and the active one bypassed."""
    ui = load_json(OFFICIAL / f"video_ltx2_{kind}_to_video.json")
    if quality == "fast":
        subgraphs = {s["id"]: s for s in ui["definitions"]["subgraphs"]}
        for node in ui["nodes"]:
            sub = subgraphs.get(node["type"])
            if sub is not None and sub["name"].endswith("Distilled)"):
                node["mode"] = 0
                for inner in sub["nodes"]:
                    inner["mode"] = 0
            elif sub is not None and "Lotus" not in sub["name"]:
                node["mode"] = 4
            elif node["type"] == "SaveVideo":
                node["mode"] = 0 if node["mode"] == 4 else 4
    text = json.dumps(ui_to_api(ui, object_info))
    for theirs, ours in FILE_EQUIVALENTS.items():
        text = text.replace(theirs, ours)
    return json.loads(text)


def _src(graph: dict, node: dict, name: str) -> dict | None:
    value = node["inputs"].get(name)
    return graph[str(value[0])] if isinstance(value, list) else None


def _widgets(node: dict) -> tuple:
    return (node["class_type"],) + tuple(sorted(
        (k, v) for k, v in node["inputs"].items() if not isinstance(v, list) and k not in BOUND_WIDGETS))


def _without_lotus_sampling(graph: dict) -> dict:
    """The graph minus the Lotus depth pass's sampler (settings() reads every sampler as a stage)."""
    return {k: n for k, n in graph.items() if not (
        n["class_type"] == "SamplerCustomAdvanced" and _src(graph, n, "guider")["class_type"] == "BasicGuider")}


def control_settings(graph: dict) -> dict:
    """What the control path does: each node from LTXVAddGuide's image back to LoadVideo with its
    widget values (the Lotus sampler with its noise, guider, model, sampler and sigmas), the
    guide's frame and strength, and where the latent's size and the audio length come from."""
    guide = next(n for n in graph.values() if n["class_type"] == "LTXVAddGuide")
    path, node = [], _src(graph, guide, "image")
    while node is not None:
        entry = [_widgets(node)]
        if node["class_type"] == "SamplerCustomAdvanced":
            guider = _src(graph, node, "guider")
            sigmas = _src(graph, node, "sigmas")
            entry += [_widgets(_src(graph, node, "noise")), _widgets(_src(graph, node, "sampler")),
                      _widgets(guider), _widgets(_src(graph, guider, "model")),
                      _widgets(_src(graph, guider, "conditioning")), _widgets(sigmas),
                      _widgets(_src(graph, sigmas, "sigmas")),
                      _widgets(_src(graph, _src(graph, sigmas, "sigmas"), "model"))]
        if node["class_type"] in ("VAEEncode", "VAEDecode"):
            entry.append(_widgets(_src(graph, node, "vae")))
        path.append(entry)
        node = next((_src(graph, node, k) for k in ("image", "images", "input", "pixels", "samples",
                                                    "latent_image", "video") if _src(graph, node, k)), None)
    latent = next(n for n in graph.values() if n["class_type"] == "EmptyLTXVLatentVideo")
    audio = next(n for n in graph.values() if n["class_type"] == "LTXVEmptyLatentAudio")
    sized_by = {k: (_src(graph, latent, k)["class_type"], latent["inputs"][k][1])
                for k in ("width", "height", "length")}
    size_source = _src(graph, _src(graph, latent, "width"), "image")
    return {
        "path": json.loads(json.dumps(path)),
        "guide": [guide["inputs"]["frame_idx"], guide["inputs"]["strength"]],
        "latent_sized_by": sized_by,
        "size_from_control_images": size_source is _src(graph, guide, "image"),
        "audio_frames_from": (_src(graph, audio, "frames_number")["class_type"], audio["inputs"]["frames_number"][1]),
    }


@pytest.mark.parametrize("name", NAMES)
def test_settings_follow_the_official_template(name, object_info):
    kind, quality = name.split("_")[2:]
    ours, _ = _template(name)
    theirs = official_graph(kind, quality, object_info)
    mine = json.loads(json.dumps(settings(_without_lotus_sampling(ours))))
    expected = json.loads(json.dumps(settings(_without_lotus_sampling(theirs))))
    for key in sorted(set(mine) | set(expected)):
        assert mine.get(key) == expected.get(key), f"{name}: {key} differs from the official template"
    assert control_settings(ours) == control_settings(theirs), name
    # the settings the shared reader skips, spot-checked against FACTS-ltx2-families.md
    stage1 = mine["stages"]["1"]
    assert stage1["guider"] == ["CFGGuider", {"cfg": 3.0 if quality == "pro" else 1.0}]
    assert [m[1] for m in stage1["model"] if m[0] == "LoraLoaderModelOnly"] == [
        f"ltx-2-19b-ic-lora-{kind}-control.safetensors"]
    assert mine["decode"] == ["VAEDecodeTiled", 512, 64, 4096, 8]
    if kind == "canny":
        assert control_settings(ours)["path"][0] == [["Canny", ["high_threshold", 0.8], ["low_threshold", 0.4]]]


# ---------------------------------------------------------------------------------------------
# (c) real runs
# ---------------------------------------------------------------------------------------------

def control_video_bytes(frames: int = CONTROL_FRAMES, size: int = 128, fps: int = FPS) -> bytes:
    """An H.264 MP4 of `frames` frames of moving shapes (a square and a disc crossing a striped
    background), `size` x `size`, at `fps`: edges for canny, depth-like layers for Lotus."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        yy, xx = np.mgrid[0:size, 0:size]
        for i in range(frames):
            img = np.zeros((size, size, 3), np.uint8)
            img[..., 2] = 60 + 40 * ((yy // 16) % 2)
            x0 = 8 + i * (size - 48) // max(frames - 1, 1)
            img[size // 4: size // 4 + 32, x0: x0 + 32] = (220, 40, 40)
            cx, cy = size - 24 - i * (size - 48) // max(frames - 1, 1), 3 * size // 4
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < 14 ** 2] = (40, 220, 90)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return {"width": video.width, "height": video.height, "frames": frames,
                "fps": float(video.average_rate), "has_audio": bool(container.streams.audio)}


@pytest.fixture(scope="module")
def client(comfy) -> ComfyClient:
    missing = {n["class_type"] for name in NAMES for n in _template(name)[0].values()} - set(comfy.object_info)
    if missing:
        pytest.skip(f"ComfyUI {comfy.version} lacks {', '.join(sorted(missing))} (set COMFYUI_DIR to 0.33.0)")
    return ComfyClient(comfy.url)


@pytest.fixture(scope="module")
def uploads(client) -> dict:
    """The control video and a first frame, uploaded into ComfyUI's input folder."""
    return {
        "control_video": client.upload_input(control_video_bytes(), "test_control.mp4", "video/mp4"),
        "image": client.upload_input(make_test_image(160, 120, seed=2), "test_first_frame.png"),
    }


RUNS = [(name, mode, True) for name in NAMES for mode in ("t2v", "i2v")] + [
    ("ltx2_control_canny_fast", "t2v", False)]


@pytest.mark.parametrize(("name", "mode", "audio"), RUNS)
def test_control_job_runs_on_comfyui(client, uploads, tmp_path, name, mode, audio):
    graph, bindings = _template(name)
    values = job_values(uploads["image"] if mode == "i2v" else None, uploads["control_video"], audio=audio,
                        filename_prefix=f"video/test_{name}_{mode}")
    filled = fill(name, values)
    started = time.monotonic()
    prompt_id, entry = client.run_prompt(filled, timeout_s=300)
    took = time.monotonic() - started
    print(f"{name} {mode}: {took:.1f} s")  # the tiny job's run time (pytest -s shows it)
    ids = ids_by_title(graph)
    files = client.output_files(entry, ids[bindings["output"]])
    assert len(files) == 1 and files[0].filename.endswith(".mp4"), entry.get("outputs")
    facts = probe(client.download(files[0], tmp_path / "out.mp4"))
    assert facts == {"width": WIDTH, "height": HEIGHT, "frames": FRAMES, "fps": FPS, "has_audio": audio}
    control = entry["outputs"][ids[bindings["control_output"]]]["images"]
    assert len(control) == FRAMES and all(i["type"] == "output" for i in control), control
    client.forget(prompt_id)
