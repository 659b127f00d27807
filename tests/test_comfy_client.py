"""The ComfyUI client against the real server: node errors become per-node worker errors."""

from __future__ import annotations

import copy

import pytest

from ltx_worker.comfy.client import ComfyClient
from ltx_worker.errors import ErrorCode, WorkerError


@pytest.fixture()
def t2v_graph(job_handler):
    family_model = "ltx-2-t2v" if "ltx2_t2v_fast" in {t.name for t in job_handler.templates.templates} else "ltxv-t2v"
    template = job_handler.templates.get(family_model, "fast")
    values = {"prompt": "a quiet harbour", "negative_prompt": "", "width": 128, "height": 128,
              "half_width": 64, "half_height": 64, "frames": 9, "fps": 24, "seed": 1,
              "camera_lora": None, "camera_preset": "none", "camera_strength": 1.0,
              "filename_prefix": "ltxw/client-test"}
    return template, template.fill(values)


def test_missing_model_file_is_model_missing_naming_it(comfy, t2v_graph):
    template, graph = t2v_graph
    graph = copy.deepcopy(graph)
    ckpt = template.node_id(graph, "Load Checkpoint")
    graph[ckpt]["inputs"]["ckpt_name"] = "no-such-model.safetensors"
    with pytest.raises(WorkerError) as info:
        ComfyClient(comfy.url).run_prompt(graph, timeout_s=60)
    assert info.value.code is ErrorCode.MODEL_MISSING and not info.value.retryable
    assert "no-such-model.safetensors" in info.value.message and ckpt in info.value.message


def test_bad_value_is_workflow_invalid_naming_the_node(comfy, t2v_graph):
    template, graph = t2v_graph
    graph = copy.deepcopy(graph)
    node = template.node_id(graph, "Positive Prompt")
    del graph[node]["inputs"]["text"]
    with pytest.raises(WorkerError) as info:
        ComfyClient(comfy.url).submit(graph)
    assert info.value.code is ErrorCode.WORKFLOW_INVALID
    assert f"node {node}" in info.value.message and "CLIPTextEncode" in info.value.message


def test_unreachable_comfyui_is_retryable(comfy):
    from support import free_port

    client = ComfyClient(f"http://127.0.0.1:{free_port()}", request_timeout_s=2)
    with pytest.raises(WorkerError) as info:
        client.run_prompt({}, timeout_s=5)
    assert info.value.code is ErrorCode.COMFY_UNAVAILABLE and info.value.retryable
