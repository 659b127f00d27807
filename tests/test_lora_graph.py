"""A job's LoRAs in every template's graph (issue 20): a LoraLoaderModelOnly chain behind the LTX
model loader, reaching every stage's guider or sampler, leaving other models alone; checked
against ComfyUI 0.33.0's /object_info snapshot."""

from __future__ import annotations

import json

import pytest

from ltx_worker.graph import GraphError, is_link, title_of
from ltx_worker.loras.graph import NODE, JobLora, apply_loras, model_loader
from ltx_worker.workflow_check import check_graph

from template_files import WORKFLOWS

TEMPLATES = sorted(p for p in WORKFLOWS.glob("*/*.json")
                   if not p.name.endswith((".bindings.json", "family.json")))
#: Nodes that sample with a model: each must see every job LoRA, unless it samples another
#: model (the Lotus depth estimator of the LTX-2 depth templates).
SAMPLING = {"CFGGuider", "BasicGuider", "LTXVDualCFGGuider", "KSampler", "SamplerCustom"}
LORAS = [JobLora("a" * 64 + ".safetensors", 0.8), JobLora("ltx-2-19b-lora-camera-control-static.safetensors", -1.5)]


def _model_ancestry(graph: dict, nid: str) -> set[str]:
    seen, todo = set(), [nid]
    while todo:
        node = graph[todo.pop()]
        for name, value in node["inputs"].items():
            if name == "model" and is_link(value) and str(value[0]) not in seen:
                seen.add(str(value[0]))
                todo.append(str(value[0]))
    return seen


def _with_loras_allowed(object_info: dict) -> dict:
    info = json.loads(json.dumps(object_info))
    spec = info[NODE]["input"]["required"]["lora_name"]
    spec[0].extend(lora.lora_name for lora in LORAS if lora.lora_name not in spec[0])
    return info


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_every_stage_samples_with_the_job_loras(path, object_info):
    graph = json.loads(path.read_text())
    applied = apply_loras(graph, LORAS)
    assert check_graph(applied, _with_loras_allowed(object_info)) == []
    loader, folder, name = model_loader(applied)
    assert folder in ("checkpoints", "diffusion_models") and name.endswith(".safetensors")
    added = {nid for nid, n in applied.items() if title_of(n) and title_of(n).startswith("Job LoRA")}
    assert [applied[n]["inputs"]["strength_model"] for n in sorted(added, key=int)] == [0.8, -1.5]
    samplers = [nid for nid, n in applied.items() if n["class_type"] in SAMPLING]
    assert samplers
    for nid in samplers:
        ancestry = _model_ancestry(applied, nid)
        if loader in ancestry:
            assert added <= ancestry, (path.stem, applied[nid]["_meta"]["title"])
        else:  # another model (Lotus): untouched
            assert not added & ancestry and path.stem.startswith("ltx2_control_depth")
    # nothing else changed: the graph minus the chain, rewired back, is the template
    rewired = {nid: n for nid, n in applied.items() if nid not in added}
    for node in rewired.values():
        for key, value in node["inputs"].items():
            if is_link(value) and str(value[0]) in added:
                node["inputs"][key] = [loader, 0]
    assert rewired == graph


def test_no_loras_is_the_template_and_a_graph_without_a_model_loader_is_refused():
    graph = json.loads(TEMPLATES[0].read_text())
    assert apply_loras(graph, []) == graph
    with pytest.raises(GraphError, match="0 nodes titled 'Load Checkpoint' or 'Load Diffusion Model'"):
        apply_loras({"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"},
                           "_meta": {"title": "Loader"}}}, LORAS)
