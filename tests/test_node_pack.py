"""The project's ComfyUI node pack (custom_nodes/ltx_worker_nodes), loaded by a REAL ComfyUI.

The session's ComfyUI loads the pack from custom_nodes/ like any node pack (tests/conftest.py).
Checked here: the pack is standalone and registry-ready, its node's live ``/object_info``
entry (inputs, options, ranges, output) and the committed copy of it that the offline template
checks use, its preset -> file map against the job contract, and what the node does to the
pixels: "none" and strength 0 leave the model alone, a camera preset changes the video, a
missing LoRA file is an error naming the file.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import av
import numpy as np
import pytest

from ltx_worker.comfy.client import ComfyClient
from ltx_worker.config import PROJECT_ROOT
from ltx_worker.contract.job import CAMERA_LORAS
from ltx_worker.errors import WorkerError
from ltx_worker.templates import TemplateRegistry

from support import PACK, pack_module, run_job

NODE = "LTXWCameraLoRAPreset"
#: every node of the pack, in the order of its NODES list (and of object_info.json)
PACK_NODES = [NODE, "LTXWGuidanceRescale", "LTXWTimeMask"]
REGISTRY = TemplateRegistry.load(PROJECT_ROOT / "workflows")
#: The ComfyUI version whose /object_info the committed pack entry is a copy of.
SNAPSHOT_VERSION = "0.33.0"


PRESETS = pack_module("presets")


def frames_of(path: str | Path, count: int = 5) -> np.ndarray:
    """The first `count` decoded frames of a video, stacked as floats (N, H, W, 3)."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24").astype(np.float32))
            if len(out) == count:
                break
    return np.stack(out)


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute pixel difference (0..255) of two equally shaped videos."""
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).mean())


# ------------------------------------------------------------------------------------------
# the pack as files
# ------------------------------------------------------------------------------------------

def test_pack_has_the_files_of_a_node_pack():
    for name in ("__init__.py", "nodes.py", "presets.py", "pyproject.toml", "README.md",
                 "object_info.json"):
        assert (PACK / name).is_file(), name
    assert not (PACK / "requirements.txt").exists(), "the pack needs nothing beyond ComfyUI"
    init = ast.parse((PACK / "__init__.py").read_text())
    entry = [n for n in init.body if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef)
             and n.name == "comfy_entrypoint"]
    assert entry, "V3 entry point comfy_entrypoint() is missing"


def test_pack_is_standalone():
    """It imports only the standard library, ComfyUI and itself: never the worker."""
    comfy_modules = {"comfy", "comfy_api", "folder_paths", "node_helpers", "nodes"}
    for path in PACK.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in comfy_modules or top in sys.stdlib_module_names or \
                    top == "__future__", f"{path.name} imports {name}"


def test_pyproject_is_ready_for_the_comfy_registry():
    data = tomllib.loads((PACK / "pyproject.toml").read_text())
    project = data["project"]
    for key in ("name", "version", "description", "license"):
        assert project.get(key), f"[project] {key} is missing"
    assert project["name"] == "ltx-worker-nodes" and "comfyui" not in project["name"].lower()
    assert len(project["version"].split(".")) == 3
    assert project["license"] == {"text": "Apache-2.0"}
    assert project.get("dependencies", []) == []
    comfy = data["tool"]["comfy"]
    for key in ("PublisherId", "DisplayName", "Icon", "includes"):
        assert key in comfy, f"[tool.comfy] {key} is missing"
    assert comfy["PublisherId"] and comfy["DisplayName"] and comfy["includes"] == []


def test_comfyui_parses_the_pyproject(comfy):
    """ComfyUI's own parser (comfy_config, used when it loads a pack) reads the file."""
    code = (
        "import json, sys; sys.path.insert(0, '.');"
        "from comfy_config import config_parser;"
        f"c = config_parser.extract_node_configuration({str(PACK)!r});"
        "print(json.dumps({'name': c.project.name, 'version': c.project.version,"
        " 'publisher': c.tool_comfy.publisher_id, 'display': c.tool_comfy.display_name,"
        " 'license': c.project.license.text}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=comfy.comfyui_dir, check=True,
                         capture_output=True, text=True)
    parsed = json.loads(out.stdout.strip().splitlines()[-1])
    assert parsed == {"name": "ltx-worker-nodes", "version": "0.1.0", "publisher": "ltx-worker",
                      "display": "LTX-Worker Nodes", "license": "Apache-2.0"}


def test_preset_files_match_the_job_contract():
    """The node's preset -> file map is the worker's CAMERA_LORAS, option for option."""
    assert PRESETS.CAMERA_LORAS == CAMERA_LORAS
    assert PRESETS.PRESETS == ("none", *CAMERA_LORAS)
    for preset, filename in CAMERA_LORAS.items():
        assert PRESETS.lora_file(preset) == filename
        move = preset.replace("_", "-")
        assert PRESETS.hub_repo(preset).lower() == \
            f"lightricks/ltx-2-19b-lora-camera-control-{move}"
    with pytest.raises(ValueError, match="unknown camera preset"):
        PRESETS.lora_file("none")


# ------------------------------------------------------------------------------------------
# the node in the live ComfyUI
# ------------------------------------------------------------------------------------------

def test_live_object_info_entry(comfy):
    info = comfy.object_info.get(NODE)
    assert info, f"{NODE} is not loaded; see {comfy.log_path}"
    assert info["display_name"] == "LTX-2 Camera LoRA Preset"
    assert info["category"] == "LTX-Worker"
    assert info["output"] == ["MODEL"] and info["output_name"] == ["MODEL"]
    assert info["output_node"] is False
    required = info["input"]["required"]
    assert list(required) == ["model", "preset", "strength"]
    assert set(info["input"]) == {"required"}
    assert required["model"][0] == "MODEL"
    kind, preset = required["preset"]
    assert kind == "COMBO"
    assert preset["options"] == ["none", "static", "dolly_in", "dolly_out", "dolly_left",
                                 "dolly_right", "jib_up", "jib_down"]
    assert preset["default"] == "none"
    kind, strength = required["strength"]
    assert kind == "FLOAT"
    assert (strength["default"], strength["min"], strength["max"], strength["step"]) == \
        (1.0, 0.0, 2.0, 0.05)


def test_live_rescale_entry(comfy):
    info = comfy.object_info.get("LTXWGuidanceRescale")
    assert info, f"LTXWGuidanceRescale is not loaded; see {comfy.log_path}"
    assert info["category"] == "LTX-Worker" and info["output"] == ["MODEL"]
    required = info["input"]["required"]
    assert list(required) == ["model", "video_rescale", "audio_rescale"]
    assert set(info["input"]) == {"required"} and required["model"][0] == "MODEL"
    for name in ("video_rescale", "audio_rescale"):
        kind, spec = required[name]
        assert kind == "FLOAT"
        assert (spec["default"], spec["min"], spec["max"], spec["step"]) == (0.7, 0.0, 1.0, 0.01)


def test_committed_object_info_is_the_live_entry(comfy):
    """custom_nodes/ltx_worker_nodes/object_info.json (merged into the 0.33.0 snapshot by the
    offline template checks) is exactly what ComfyUI 0.33.0 reports for each node of the pack;
    another ComfyUI must agree on every field both report."""
    committed = json.loads((PACK / "object_info.json").read_text())
    assert list(committed) == PACK_NODES
    for node in PACK_NODES:
        live = comfy.object_info[node]
        if comfy.version == SNAPSHOT_VERSION:
            assert live == committed[node], node
        else:
            common = set(live) & set(committed[node])
            assert {"input", "input_order", "output", "output_name", "name", "display_name",
                    "category", "description", "output_node"} <= common
            assert {k: live[k] for k in common} == {k: committed[node][k] for k in common}, node


# ------------------------------------------------------------------------------------------
# what the node does, on LTX-Video 0.9 (every tree) and LTX-2 (trees that have it)
# ------------------------------------------------------------------------------------------

LTXV_VALUES = {
    "prompt": "a lighthouse on a cliff at dusk", "negative_prompt": "blurry",
    "width": 256, "height": 192, "frames": 9, "fps": 24, "seed": 11,
}


def _run_graph(comfy, graph: dict, output_title: str, dest: Path) -> Path:
    """Run an API graph in the session's ComfyUI; the path of the MP4 it saved."""
    client = ComfyClient(comfy.url)
    _, entry = client.run_prompt(graph, timeout_s=300)
    [node_id] = [k for k, n in graph.items() if n["_meta"]["title"] == output_title]
    files = [f for f in client.output_files(entry, node_id) if f.filename.endswith(".mp4")]
    assert files, entry
    return client.download(files[0], dest)


def _ltxv_with_preset(prefix: str, preset: str | None, strength: float = 1.0) -> dict:
    """The LTX-Video t2v template, with the camera node between checkpoint and sampler
    (`preset` None: the template as it is)."""
    template = REGISTRY.get("ltxv-t2v", "fast")
    graph = template.fill({**LTXV_VALUES, "filename_prefix": f"ltxw-pack/{prefix}"})
    if preset is not None:
        checkpoint = template.node_id(graph, "Load Checkpoint")
        sampler = graph[template.node_id(graph, "Sampler")]
        graph["900"] = {"class_type": NODE,
                        "inputs": {"model": [checkpoint, 0], "preset": preset,
                                   "strength": strength},
                        "_meta": {"title": "Camera LoRA"}}
        sampler["inputs"]["model"] = ["900", 0]
    return graph


def test_none_passes_the_model_through(comfy, tmp_path):
    """On any tree: "none" (and any preset at strength 0) renders the video of the graph
    without the node."""
    plain = _run_graph(comfy, _ltxv_with_preset("plain", None), "Save Video", tmp_path / "a.mp4")
    none = _run_graph(comfy, _ltxv_with_preset("none", "none"), "Save Video", tmp_path / "b.mp4")
    zero = _run_graph(comfy, _ltxv_with_preset("zero", "jib_down", 0.0), "Save Video",
                      tmp_path / "c.mp4")
    reference = frames_of(plain)
    assert mean_diff(frames_of(none), reference) == 0.0
    assert mean_diff(frames_of(zero), reference) == 0.0


def test_missing_lora_file_is_an_error_naming_it(comfy, tmp_path):
    """A preset whose LoRA is not in models/loras fails the prompt with the file's name."""
    preset = "dolly_right"
    lora = comfy.models_dir / "loras" / CAMERA_LORAS[preset]
    hidden = tmp_path / lora.name
    present = lora.exists()
    if present:
        lora.rename(hidden)
    try:
        with pytest.raises(WorkerError) as err:
            # a strength no other test uses, so ComfyUI cannot answer from its cache
            _run_graph(comfy, _ltxv_with_preset("missing", preset, 1.35), "Save Video",
                       tmp_path / "d.mp4")
    finally:
        if present:
            hidden.rename(lora)
    message = str(err.value)
    assert CAMERA_LORAS[preset] in message and "Camera LoRA" in message, message
    assert "Lightricks/LTX-2-19b-LoRA-Camera-Control-Dolly-Right" in message, message


def _needs_ltx2(comfy) -> None:
    if not comfy.has_ltx2:
        pytest.skip(f"ComfyUI {comfy.version} has no LTX-2 nodes (set COMFYUI_DIR to ComfyUI >= 0.8)")


def _ltx2_job(**extra) -> dict:
    spec = {"model": "ltx-2-t2v", "prompt": "a lighthouse on a cliff at dusk, waves below",
            "quality": "fast", "resolution": "720p", "aspect_ratio": "1:1", "duration": 2, "seed": 5}
    spec.update(extra)
    return spec


def test_ltx2_camera_preset_changes_the_pixels_and_none_does_not(comfy, job_handler):
    """Through the worker, the camera LoRA is loaded and applied by the templates' camera preset
    node: "none" and "dolly_in" at strength 0 give the same video (so the differences are the
    LoRA's, not run-to-run noise), "dolly_in" at strength 1 a different one, "jib_down" another."""
    _needs_ltx2(comfy)
    none = run_job(job_handler, _ltx2_job(), job_id="pack-none")
    dolly = run_job(job_handler, _ltx2_job(camera_lora="dolly_in"), job_id="pack-dolly")
    jib = run_job(job_handler, _ltx2_job(camera_lora="jib_down"), job_id="pack-jib")
    zero = run_job(job_handler, _ltx2_job(camera_lora="dolly_in", camera_strength=0.0),
                   job_id="pack-dolly-0")
    for out in (none, dolly, jib, zero):
        assert "error" not in out, out
    videos = [frames_of(o["video_path"]) for o in (none, dolly, jib, zero)]
    assert mean_diff(videos[0], videos[1]) > 1.0
    assert mean_diff(videos[1], videos[2]) > 1.0
    assert mean_diff(videos[0], videos[3]) == 0.0


def test_ltx2_template_with_none_equals_the_template_without_the_node(comfy, tmp_path):
    """The LTX-2 template filled with preset "none" renders what the same graph renders with
    the camera node removed (its consumers fed by the checkpoint directly)."""
    _needs_ltx2(comfy)
    template = REGISTRY.get("ltx-2-t2v", "fast")
    values = {"prompt": "a red fox in fresh snow", "negative_prompt": "blurry",
              "half_width": 256, "half_height": 192, "frames": 25, "fps": 24, "seed": 3,
              "camera_preset": "none", "camera_strength": 1.0}
    with_node = template.fill({**values, "filename_prefix": "ltxw-pack/ltx2-none"})
    assert with_node[template.node_id(with_node, "Camera LoRA")]["class_type"] == NODE
    bypassing = dataclasses.replace(
        template, bypass_when_absent={"camera_preset": [("Camera LoRA", {0: "model"})]})
    without = bypassing.fill({**values, "camera_preset": None,
                              "filename_prefix": "ltxw-pack/ltx2-plain"})
    assert NODE not in {n["class_type"] for n in without.values()}
    a = _run_graph(comfy, with_node, "Save Video", tmp_path / "with.mp4")
    b = _run_graph(comfy, without, "Save Video", tmp_path / "without.mp4")
    assert mean_diff(frames_of(a), frames_of(b)) == 0.0
