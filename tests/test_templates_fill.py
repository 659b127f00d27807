"""Template filling is a structural graph edit bound by node titles (docs/architecture.md)."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from ltx_worker.config import PROJECT_ROOT
from ltx_worker.templates import TemplateError, TemplateRegistry, load_template

WORKFLOWS = PROJECT_ROOT / "workflows"
REGISTRY = TemplateRegistry.load(WORKFLOWS)

VALUES = {
    "prompt": 'a "quoted" prompt with } braces {',
    "negative_prompt": "blurry",
    "width": 1280, "height": 704, "half_width": 640, "half_height": 352,
    "frames": 49, "fps": 24, "seed": 123, "image": "ltxw-job-start.png", "image_strength": 0.8,
    "camera_preset": "dolly_in", "camera_strength": 0.9,
    "filename_prefix": "ltxw/job",
    "guides": [{"image": "ltxw-job-guide0.png", "frame": 0, "strength": 0.7},
               {"image": "ltxw-job-guide1.png", "frame": 48, "strength": 0.7}],
    "audio_file": "ltxw-job-audio.wav", "audio_start_s": 0.5, "audio_duration_s": 2.0,
    "control_video": "ltxw-job-control.mp4",
    "reference_audio_file": "ltxw-job-reference.wav",
    "source_video": "ltxw-job-window.mp4",
    "video_mask_start_s": 1.375, "video_mask_duration_s": 2.0,
    "audio_mask_start_s": 1.375, "audio_mask_duration_s": 2.0,
    "context_guides": [{"video": "ltxw-job-guide.mp4", "frame": 49, "strength": 1.0},
                       {"video": "ltxw-job-guide2.mp4", "frame": 97, "strength": 1.0}],
}


def values_for(template):
    return {k: v for k, v in VALUES.items() if k in template.params or k in template.repeat}


def repeated_titles(template) -> set[str]:
    """Titles of the repeat groups' prototypes (the filled graph has numbered copies instead)."""
    return {t for group in template.repeat.values() for t in group.nodes}


def renumbered(graph: dict, offset: int = 1000) -> dict:
    """The graph as a UI re-export might write it: new node ids, links rewritten."""
    mapping = {nid: str(int(nid) * 7 + offset) if nid.isdigit() else nid + "x" for nid in graph}
    out = {}
    for nid, node in graph.items():
        node = copy.deepcopy(node)
        for key, value in node["inputs"].items():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
                node["inputs"][key] = [mapping[str(value[0])], value[1]]
        out[mapping[nid]] = node
    return out


def by_title(graph: dict) -> dict:
    return {n["_meta"]["title"]: n for n in graph.values() if "_meta" in n}


@pytest.mark.parametrize("template", REGISTRY.templates, ids=lambda t: t.name)
@pytest.mark.parametrize("enhance", [False, True], ids=["plain", "enhanced"])
def test_every_binding_resolves_and_sets_the_value(template, enhance):
    if enhance and "enhance_prompt" not in template.when_false:
        pytest.skip("no prompt enhancer in this template")
    graph = template.fill({**values_for(template), "enhance_prompt": enhance})
    removed = set() if enhance else set(template.when_false.get("enhance_prompt", []))
    linked = {(t, i) for t, i, _, _ in template.when_true.get("enhance_prompt", [])} if enhance else set()
    for param, targets in template.params.items():
        for title, input_name in targets:
            if title in repeated_titles(template):
                copies = [n for n in graph.values() if n["_meta"]["title"].startswith(title + " ")]
                assert len(copies) == len(VALUES["guides"])
                assert all(n["inputs"][input_name] == VALUES[param] for n in copies)
                continue
            if title in removed:
                assert not [n for n in graph.values() if n["_meta"]["title"] == title]
                continue
            node = graph[template.node_id(graph, title)]
            if (title, input_name) in linked:  # the enhancer's text feeds it instead
                source = template.when_true["enhance_prompt"][0][2]
                assert node["inputs"][input_name] == [template.node_id(graph, source), 0]
                continue
            assert node["inputs"][input_name] == VALUES[param]
    assert json.loads(json.dumps(graph)) == graph
    assert template.graph != graph, "fill works on a copy"


@pytest.mark.parametrize("template", REGISTRY.templates, ids=lambda t: t.name)
def test_bindings_survive_renumbered_node_ids(template):
    moved = dataclasses.replace(template, graph=renumbered(template.graph))
    a, b = template.fill(values_for(template)), moved.fill(values_for(moved))
    assert set(a) != set(b)
    assert {t: n["inputs"] for t, n in by_title(a).items() if not _has_links(n)} == {
        t: n["inputs"] for t, n in by_title(b).items() if not _has_links(n)}


def _has_links(node):
    return any(isinstance(v, list) for v in node["inputs"].values())


LTX2 = [t for t in REGISTRY.templates if t.family == "ltx2" and t.variant is None]  # plain t2v/i2v


@pytest.mark.parametrize("template", LTX2, ids=lambda t: t.name)
def test_no_camera_move_keeps_the_preset_node_at_none(template):
    """No camera move is the preset "none" of the camera node (which passes the model
    through), not a rewired graph: the node stays and its links are untouched."""
    assert not template.bypass_when_absent
    graph = template.fill({**values_for(template), "camera_preset": "none"})
    lora_id = template.node_id(graph, "Camera LoRA")
    assert graph[lora_id]["class_type"] == "LTXWCameraLoRAPreset"
    assert graph[lora_id]["inputs"]["preset"] == "none"
    assert graph[lora_id]["inputs"]["model"] == template.graph[lora_id]["inputs"]["model"]
    for nid, node in template.graph.items():
        links = {k: v for k, v in node["inputs"].items() if isinstance(v, list)}
        assert {k: v for k, v in graph[nid]["inputs"].items() if isinstance(v, list)} == links


@pytest.mark.parametrize("template", LTX2, ids=lambda t: t.name)
def test_bypass_rule_removes_the_node_and_rewires_its_consumers(template):
    """The filler's bypass_when_absent rule (docs/architecture.md), on the camera node of an
    LTX-2 graph: an absent value removes the node and feeds its consumers from its input."""
    template = dataclasses.replace(
        template, bypass_when_absent={"camera_preset": [("Camera LoRA", {0: "model"})]})
    graph = template.fill({**values_for(template), "camera_preset": None})
    titles = {n.get("_meta", {}).get("title") for n in graph.values()}
    assert "Camera LoRA" not in titles
    lora_id = template.node_id(template.graph, "Camera LoRA")
    feed = template.graph[lora_id]["inputs"]["model"]
    consumers = [
        (nid, key) for nid, n in template.graph.items() for key, v in n["inputs"].items()
        if isinstance(v, list) and len(v) == 2 and str(v[0]) == lora_id
    ]
    assert consumers
    for nid, key in consumers:
        assert graph[nid]["inputs"][key] == feed
    for node in graph.values():  # no dangling links
        for v in node["inputs"].values():
            if isinstance(v, list) and len(v) == 2 and isinstance(v[1], int):
                assert str(v[0]) in graph


def test_missing_value_and_unknown_title_are_template_errors(tmp_path):
    template = REGISTRY.templates[0]
    with pytest.raises(TemplateError, match="no value for bound parameter"):
        template.fill({})
    (tmp_path / "t.json").write_text(json.dumps({"1": {"class_type": "X", "inputs": {}, "_meta": {"title": "A"}}}))
    (tmp_path / "t.bindings.json").write_text(json.dumps(
        {"family": "ltx2", "serves": [{"model": "m", "quality": "q"}], "params": {"prompt": [["B", "text"]]}}))
    with pytest.raises(TemplateError, match="0 nodes are titled 'B'"):
        load_template(tmp_path / "t.json").fill({"prompt": "x"})


def test_every_model_and_quality_has_a_template():
    families = {t.family for t in REGISTRY.templates}
    for model in ("ltx-2-t2v", "ltx-2-i2v") + (("ltxv-t2v", "ltxv-i2v") if "ltxv" in families else ()):
        for quality in ("fast", "pro"):
            assert REGISTRY.get(model, quality)
