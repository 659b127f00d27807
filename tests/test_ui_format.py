"""The UI-format twins of the templates (workflows/<family>/ui/<name>.json) and their generator.

Every API template has a twin that an author opens in the ComfyUI editor (docs/authoring.md). The
twin must stay in step: read back as the editor's "Export (API)" would (`ui_format.ui_to_api`), it
is the committed template, node ids aside and titles kept, plus only the widget defaults the editor
writes for inputs the template leaves out (`ui_format.complete`). A template without its twin, or
with a stale one, fails naming the command that regenerates it. The generator's layout (groups by
stage, left to right; the note of what the worker binds; seeds "fixed") and its widget order (the
one ComfyUI's frontend 1.49 uses, as the browser test confirms for real) are checked here without a
browser, against the 0.33.0 ``/object_info`` snapshot plus the node pack's entry.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from ltx_worker import ui_format as uf
from ltx_worker.graph import is_link
from ltx_worker.templates import template_paths

from template_files import OI_033, PACK_OBJECT_INFO, REPO, WORKFLOWS

PATHS = {p.stem: p for p in template_paths(WORKFLOWS)}


def _regenerate(name: str) -> str:
    return f"run `ltx-worker templates ui --template {name}` (docs/authoring.md)"


@pytest.mark.parametrize("name", sorted(PATHS))
def test_ui_twin_is_in_step_with_its_template(name, object_info):
    path = PATHS[name]
    twin = uf.ui_path(path)
    assert twin.is_file(), f"{twin.relative_to(REPO)} is missing: {_regenerate(name)}"
    ui = json.loads(twin.read_text())
    back = uf.ui_to_api(ui, object_info)
    graph = json.loads(path.read_text())
    problems = uf.differences(back, uf.complete(graph, object_info))
    assert not problems, (f"{twin.relative_to(REPO)} is not in step with {path.relative_to(REPO)}: "
                          f"{_regenerate(name)}\n  " + "\n  ".join(problems[:20]))
    # what the editor adds is only inputs the template leaves out, at the values it would show
    for title, inputs in uf.added_by_editor(graph, object_info).items():
        assert title in uf.by_title(back) and all(i in uf.by_title(back)[title]["inputs"] for i in inputs)
    assert uf.check_in_step(path, object_info) == []


@pytest.mark.parametrize("name", sorted(PATHS))
def test_generated_twin_is_laid_out_by_stage_with_a_note(name, object_info):
    path = PATHS[name]
    graph = json.loads(path.read_text())
    bindings = json.loads(path.with_name(f"{name}.bindings.json").read_text())
    ui = uf.ui_for_template(path, object_info, root=REPO)
    assert ui == uf.ui_for_template(path, object_info, root=REPO)  # deterministic: rerunnable

    # the UI format the editor saves
    assert ui["version"] == 0.4 and ui["last_node_id"] == max(n["id"] for n in ui["nodes"])
    assert ui["last_link_id"] == len(ui["links"])
    nodes = {n["id"]: n for n in ui["nodes"]}
    for link_id, src, src_slot, dst, dst_slot, kind in ui["links"]:
        assert nodes[dst]["inputs"][dst_slot]["link"] == link_id
        assert link_id in nodes[src]["outputs"][src_slot]["links"]
        assert kind == nodes[src]["outputs"][src_slot]["type"]
    real = [n for n in ui["nodes"] if n["type"] != "MarkdownNote"]
    assert sorted(str(n["id"]) for n in real) == sorted(graph)  # the template's ids stay
    assert {n["title"] for n in real} == {n["_meta"]["title"] for n in graph.values()}
    for node in real:
        named = node.get("widgets_values_named", {})
        assert list(named.values()) == node.get("widgets_values", [])
        if "control_after_generate" in named:
            assert named["control_after_generate"] == "fixed"  # Run keeps the template's seed

    # groups by stage, left to right, in the order of the pipeline; every node inside its group
    titles = [g["title"] for g in ui["groups"]]
    order = {title: i for i, (_key, title, _c) in enumerate(uf.STAGES)}
    order["Sampling"] = order["Stage 1"]  # stage 1's name when there is no stage 2
    assert titles == sorted(titles, key=order.__getitem__)
    xs = [g["bounding"][0] for g in ui["groups"]]
    assert xs == sorted(xs)
    for a, b in zip(ui["groups"], ui["groups"][1:], strict=False):
        assert a["bounding"][0] + a["bounding"][2] < b["bounding"][0]
    stages = uf.layout_stages(graph)
    stage_title = {key: title for key, title, _c in uf.STAGES}
    for node in real:
        x, y = node["pos"]
        inside = [g for g in ui["groups"]
                  if g["bounding"][0] <= x and x + node["size"][0] <= g["bounding"][0] + g["bounding"][2]
                  and g["bounding"][1] <= y - 30 and y + node["size"][1] <= g["bounding"][1] + g["bounding"][3]]
        assert len(inside) == 1, (node["title"], node["pos"])
        expected = stage_title[stages[str(node["id"])]]
        assert inside[0]["title"] in (expected, "Sampling" if expected == "Stage 1" else expected)
    boxes = [(n["pos"][0], n["pos"][1] - 30, n["pos"][0] + n["size"][0], n["pos"][1] + n["size"][1])
             for n in real]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], "nodes overlap"
    for title in ("Stage 1", "Stage 2"):
        members = [n for n in real if n["title"].startswith(title)]
        group = next((g for g in ui["groups"] if g["title"] == title), None)
        assert not members or group is not None

    # the note: every bound parameter and target, and where to save
    notes = [n for n in ui["nodes"] if n["type"] == "MarkdownNote"]
    assert len(notes) == 1
    text = notes[0]["widgets_values"][0]
    for param, targets in bindings["params"].items():
        assert f"`{param}`" in text
        for title, inp in targets:
            assert f"'{title}'.{inp}" in text
    assert f"workflows/{path.parent.name}/{name}.json" in text and "ltx-worker templates check" in text
    assert notes[0]["pos"][0] + notes[0]["size"][0] < min(xs)  # left of the graph


def test_stages_of_the_ltx2_two_stage_template():
    graph = json.loads(PATHS["ltx2_i2v_fast"].read_text()) if "ltx2_i2v_fast" in PATHS else None
    if graph is None:
        pytest.skip("no ltx2_i2v_fast template")
    stages = {graph[nid]["_meta"]["title"]: s for nid, s in uf.layout_stages(graph).items()}
    assert stages["Load Checkpoint"] == stages["Camera LoRA"] == "models"
    assert stages["Positive Prompt"] == stages["Conditioning"] == "prompt"
    assert stages["Load Image"] == stages["Resize Image"] == "inputs"
    assert stages["Stage 1 Sampling"] == stages["Stage 1 Noise"] == "stage1"
    assert stages["Spatial Upscale x2"] == stages["Crop Guides"] == "upscale"
    assert stages["Stage 2 Sampling"] == "stage2"
    assert stages["Save Video"] == stages["Decode Video"] == "output"


# ---------------------------------------------------------------------------------------------
# widget order: what ComfyUI's frontend 1.49.6 writes for these nodes (seen in the browser test)
# ---------------------------------------------------------------------------------------------

def test_widget_layout_matches_the_editor(object_info):
    layout = uf.widget_layout
    assert layout(object_info["RandomNoise"], {}) == [("noise_seed", "value"), ("control_after_generate", "control")]
    assert layout(object_info["LoadImage"], {}) == [("image", "value"), ("upload", "upload")]
    assert layout(object_info["LoadAudio"], {}) == [("audio", "value"), ("audioUI", "ui"), ("upload", "upload")]
    # a dynamic combo's children follow it, for the option it selects; the hidden legacy codec last
    save = {"format": "mp4", "format.codec": "h264"}
    assert [n for n, _k in layout(object_info["SaveVideo"], save)] == [
        "filename_prefix", "format", "format.codec", "format.codec.encoding", "codec"]
    resize = {"resize_type": "scale longer dimension"}
    assert [n for n, _k in layout(object_info["ResizeImageMaskNode"], resize)] == [
        "resize_type", "resize_type.longer_size", "scale_method"]
    # a FLOAT,INT input shown as a FLOAT widget (widgetType)
    assert [n for n, _k in layout(object_info["LTXVEmptyLatentAudio"], {})] == [
        "frames_number", "frame_rate", "batch_size"]
    # sockets first, then widgets; an autogrow input shows its used names and one free slot
    slots = uf.node_slots(object_info["ComfyMathExpression"], {"expression": "a > 2", "values.a": ["1", 0]})
    assert [s.name for s in slots] == ["values.a", "values.b", "expression"]
    slots = uf.node_slots(object_info["CreateVideo"], {})
    assert [s.name for s in slots] == ["images", "audio", "fps", "bit_depth"]


def test_complete_adds_what_the_editor_writes(object_info):
    graph = {"1": {"class_type": "SaveVideo", "_meta": {"title": "Save"},
                   "inputs": {"video": ["2", 0], "filename_prefix": "x", "format": "mp4", "codec": "h264"}},
             "2": {"class_type": "CreateVideo", "_meta": {"title": "Create"},
                   "inputs": {"images": ["3", 0], "fps": 24}},
             "3": {"class_type": "EmptyImage", "_meta": {"title": "Img"}, "inputs": {}}}
    done = uf.complete(graph, object_info)
    # SaveVideo's legacy top-level codec stands for format.codec (as ComfyUI 0.33 reads it)
    assert done["1"]["inputs"]["format.codec"] == "h264"
    assert done["1"]["inputs"]["format.codec.encoding"] == "auto"
    assert done["2"]["inputs"]["bit_depth"] == 8
    assert done["3"]["inputs"] == {"width": 512, "height": 512, "batch_size": 1, "color": 0}
    assert graph["1"]["inputs"].get("format.codec") is None  # the input is not modified
    assert uf.complete(done, object_info) == done


def test_the_editors_video_preview_input_is_accepted(object_info):
    """The editor's "Export (API)" writes ``"video-preview": ""`` on LoadVideo (its preview
    widget; ComfyUI ignores it): the schema check accepts it there, and only there."""
    from ltx_worker.workflow_check import check_graph

    graph = {"1": {"class_type": "LoadVideo", "_meta": {"title": "V"}, "inputs": {"file": "a.mp4"}},
             "2": {"class_type": "SaveVideo", "_meta": {"title": "S"},
                   "inputs": {"video": ["1", 0], "filename_prefix": "x", "format": "mp4", "format.codec": "h264"}}}
    exported = uf.complete(graph, object_info)
    assert exported["1"]["inputs"]["video-preview"] == ""
    assert check_graph(exported, object_info) == []
    exported["2"]["inputs"]["video-preview"] = ""
    assert any("'video-preview': unknown input" in p for p in check_graph(exported, object_info))


def test_ui_to_api_reads_what_the_editor_saves(object_info):
    """A file as the editor saves it: positional values only, default titles left out, a
    Reroute and a note in the graph, a muted node, a widget converted to an input and linked."""
    ui = {
        "nodes": [
            {"id": 5, "type": "RandomNoise", "mode": 0, "inputs": [{"name": "noise_seed", "type": "INT",
                                                                     "widget": {"name": "noise_seed"}, "link": 3}],
             "outputs": [{"name": "NOISE", "type": "NOISE", "links": [1]}], "widgets_values": [7, "randomize"]},
            {"id": 6, "type": "Reroute", "mode": 0, "inputs": [{"name": "", "type": "*", "link": 1}],
             "outputs": [{"name": "", "type": "NOISE", "links": [2]}]},
            {"id": 7, "type": "SamplerCustomAdvanced", "mode": 0, "title": "Sampling",
             "inputs": [{"name": "noise", "type": "NOISE", "link": 2}], "outputs": []},
            {"id": 8, "type": "PrimitiveInt", "mode": 0, "inputs": [],
             "outputs": [{"name": "INT", "type": "INT", "links": [3]}], "widgets_values": [42, "fixed"]},
            {"id": 9, "type": "MarkdownNote", "mode": 0, "widgets_values": ["hello"]},
            {"id": 10, "type": "KSamplerSelect", "mode": 2, "widgets_values": ["euler"]},
            {"id": 11, "type": "LoadImage", "mode": 0, "widgets_values": ["a.png", "image"]},
        ],
        "links": [[1, 5, 0, 6, 0, "NOISE"], [2, 6, 0, 7, 0, "NOISE"], [3, 8, 0, 5, 0, "INT"]],
    }
    api = uf.ui_to_api(ui, object_info)
    assert sorted(api) == ["11", "5", "7", "8"]
    assert api["5"] == {"inputs": {"noise_seed": ["8", 0]}, "class_type": "RandomNoise",
                        "_meta": {"title": "RandomNoise"}}
    assert api["7"]["inputs"] == {"noise": ["5", 0]} and api["7"]["_meta"]["title"] == "Sampling"
    assert api["11"]["inputs"] == {"image": "a.png"} and api["11"]["_meta"]["title"] == "Load Image"
    with pytest.raises(KeyError, match="FancyNode"):
        uf.ui_to_api({"nodes": [{"id": 1, "type": "FancyNode"}], "links": []}, object_info)


def test_by_title_and_differences():
    a = {"1": {"class_type": "A", "_meta": {"title": "x"}, "inputs": {"v": 1}},
         "2": {"class_type": "B", "_meta": {"title": "y"}, "inputs": {"i": ["1", 0]}}}
    b = {"9": {"class_type": "A", "_meta": {"title": "x"}, "inputs": {"v": 1.0}},
         "3": {"class_type": "B", "_meta": {"title": "y"}, "inputs": {"i": ["9", 0]}}}
    assert uf.differences(a, b) == [] and uf.by_title(a) == uf.by_title(b)
    b["9"]["inputs"]["v"] = 2
    b["3"]["_meta"]["title"] = "z"
    assert uf.differences(a, b) == ["only in the first: 'y'", "only in the second: 'z'", "'x'.v: 1 != 2"]


# ---------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ltx_worker.cli", "templates", "ui", *args,
                           "--object-info", str(OI_033), "--object-info", str(PACK_OBJECT_INFO)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_templates_ui_writes_checks_and_names_the_command(tmp_path, object_info):
    folder = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, folder, ignore=shutil.ignore_patterns("ui"))
    done = _cli("--workflows", str(folder), "--check")
    assert done.returncode == 1 and "no UI file" in done.stdout
    assert f"ltx-worker templates ui --template {sorted(PATHS)[0]}" in done.stdout

    done = _cli("--workflows", str(folder))
    assert done.returncode == 0, done.stdout + done.stderr
    for path in template_paths(folder):
        assert uf.ui_path(path).is_file()
        assert f"wrote {path.parent.name}/ui/{path.name}" in done.stdout
    first = {p: p.read_bytes() for p in folder.rglob("ui/*.json")}
    assert _cli("--workflows", str(folder)).returncode == 0  # rerunnable: the same files
    assert {p: p.read_bytes() for p in folder.rglob("ui/*.json")} == first
    done = _cli("--workflows", str(folder), "--check")
    assert done.returncode == 0 and f"{len(PATHS)} in step, 0 not" in done.stdout

    # an author changes the API template but not its twin: --check names it and the command
    name = sorted(PATHS)[0]
    path = next(p for p in template_paths(folder) if p.stem == name)
    graph = json.loads(path.read_text())
    nid, node = next((k, n) for k, n in graph.items()
                     if any(not is_link(v) and isinstance(v, str) for v in n["inputs"].values()))
    key = next(k for k, v in node["inputs"].items() if not is_link(v) and isinstance(v, str))
    node["inputs"][key] = node["inputs"][key] + " (edited)"
    path.write_text(json.dumps(graph))
    done = _cli("--workflows", str(folder), "--check", "--template", name)
    assert done.returncode == 1
    assert f"ltx-worker templates ui --template {name}" in done.stdout
    assert f"'{node['_meta']['title']}'.{key}" in done.stdout
    assert _cli("--workflows", str(folder), "--template", name).returncode == 0
    assert _cli("--workflows", str(folder), "--check").returncode == 0


def test_templates_ui_usage_errors(tmp_path):
    done = _cli("--template", "no_such_template")
    assert done.returncode == 2 and "no_such_template" in done.stderr
