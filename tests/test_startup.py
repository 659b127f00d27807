"""Start-up: the worker refuses jobs when a template's model file is missing, naming it; with
MODELS_REQUIRED=available it serves the rest; the optional warm-up job loads the models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from ltx_worker.config import PROJECT_ROOT, load_settings
from ltx_worker.errors import WorkerError
from ltx_worker.handler import JobHandler

from support import run_job

MISSING = "ltx-never-downloaded.safetensors"


@pytest.fixture
def broken_workflows(comfy, tmp_path):
    """A copy of workflows/ whose t2v template (of the family this ComfyUI runs) names a file
    ComfyUI does not have."""
    workflows = tmp_path / "workflows"
    shutil.copytree(PROJECT_ROOT / "workflows", workflows)
    name = "ltx2_t2v_fast" if comfy.has_ltx2 else "ltxv_t2v"
    graph = json.loads((workflows / f"{name.split('_')[0]}/{name}.json").read_text())
    next(n for n in graph.values() if n["class_type"] == "CheckpointLoaderSimple")["inputs"]["ckpt_name"] = MISSING
    (workflows / f"{name.split('_')[0]}/{name}.json").write_text(json.dumps(graph))
    return workflows


def test_strict_mode_refuses_to_start_and_names_the_missing_file(comfy, broken_workflows, tmp_path):
    env = dict(os.environ, COMFY_PORT=str(comfy.port), WORKFLOWS_DIR=str(broken_workflows),
               OUTPUT_DIR=str(tmp_path / "out"), MODELS_REQUIRED="all")
    proc = subprocess.run([sys.executable, "handler.py", "--rp_serve_api", "--rp_api_port", "1"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "cannot take jobs" in proc.stderr and "MODEL_MISSING" in proc.stderr
    assert f"checkpoints/{MISSING}" in proc.stderr and "Traceback" not in proc.stderr


def test_the_worker_serves_what_it_holds_and_names_the_file_per_job(comfy, broken_workflows, tmp_path, caplog):
    """The default (MODELS_REQUIRED=available): an image serves the models whose files it holds;
    a job for another fails with MODEL_MISSING naming the file, and the start-up log says what
    is served."""
    with caplog.at_level("INFO", logger="ltx_worker.handler"):
        handler = JobHandler(load_settings(comfy_port=comfy.port, output_dir=tmp_path,
                                           workflows_dir=broken_workflows)).start()
    model = "ltx-2-t2v" if comfy.has_ltx2 else "ltxv-t2v"
    assert (model, "fast") not in handler.served and handler.served
    served_line = next(r.getMessage() for r in caplog.records if "serving" in r.getMessage())
    assert "ltx-2-i2v fast" in served_line if comfy.has_ltx2 else "ltxv-i2v fast" in served_line
    result = run_job(handler, {"model": model, "prompt": "a quiet harbour", "duration": 2})
    assert result["error_code"] == "MODEL_MISSING" and f"checkpoints/{MISSING}" in result["message"], result
    assert result["retryable"] is False
    with pytest.raises(WorkerError) as err:
        JobHandler(load_settings(comfy_port=comfy.port, output_dir=tmp_path, workflows_dir=broken_workflows,
                                 models_required="all")).start()
    assert err.value.code.value == "MODEL_MISSING" and MISSING in err.value.message


def test_a_worker_that_can_serve_nothing_refuses_to_start(comfy, tmp_path):
    """Every template's checkpoint missing: nothing can be served, so the worker must not take jobs."""
    workflows = tmp_path / "workflows"
    shutil.copytree(PROJECT_ROOT / "workflows", workflows)
    for path in workflows.glob("*/*.json"):
        if path.name.endswith(".bindings.json") or path.name == "family.json":
            continue
        graph = json.loads(path.read_text())
        for node in graph.values():
            for key, value in node["inputs"].items():
                if isinstance(value, str) and value.endswith(".safetensors"):
                    node["inputs"][key] = "gone-" + value
        path.write_text(json.dumps(graph))
    with pytest.raises(WorkerError) as err:
        JobHandler(load_settings(comfy_port=comfy.port, output_dir=tmp_path, workflows_dir=workflows)).start()
    assert err.value.code.value == "MODEL_MISSING" and "no model can be served" in err.value.message


def test_warm_up_runs_one_job_and_leaves_no_files(comfy, tmp_path):
    handler = JobHandler(load_settings(comfy_port=comfy.port, output_dir=tmp_path / "out",
                                       comfy_input_dir=comfy.input_dir, comfy_output_dir=comfy.output_dir,
                                       warmup=True)).start()
    result = handler.warm_up()
    assert "error" not in result, result
    assert not any((tmp_path / "out").iterdir())
    assert not list((comfy.output_dir / "ltxw").glob("warmup_*"))
