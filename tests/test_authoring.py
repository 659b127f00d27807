"""The authoring round trip (docs/authoring.md): a template saved again from the ComfyUI editor.

When an author loads a template in the ComfyUI editor and saves it with "Export (API)", the
editor gives the nodes new ids, writes them in another order and rewrites every link; titles
(``_meta.title``) stay. The bindings name nodes by title, so such a re-export must still bind
and fill to the same graph. When the author renames a bound node or adds a node ComfyUI does
not know, ``ltx-worker templates check`` must say so (exit 1), naming the template and binding.
No ComfyUI process is needed: the checks run against the 0.33.0 /object_info snapshot plus the
node pack's entry (as tests/test_templates_schema.py does).
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ltx_worker.templates import load_template, template_paths
from ltx_worker.workflow_check import check_bindings, check_graph

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
PACK_OBJECT_INFO = REPO / "custom_nodes" / "ltx_worker_nodes" / "object_info.json"


def _shared_dir() -> Path:
    for candidate in (REPO.parent / "shared", REPO / "shared"):
        if (candidate / "comfyui").is_dir():
            return candidate
    return REPO.parent / "shared"


OI_033 = _shared_dir() / "comfyui" / "object_info-0.33.0.json"
NAMES = sorted(p.stem for p in template_paths(WORKFLOWS))

#: Values for the parameters the worker fills (docs/architecture.md); a parameter not listed here
#: gets the value the template already holds at its first target.
VALUES = {
    "prompt": "A red fox runs through fresh snow at dawn.",
    "negative_prompt": "blurry, low quality",
    "width": 1280, "height": 704, "half_width": 640, "half_height": 352,
    "frames": 121, "fps": 24, "seed": 123456789,
    "image": "ltxw-job-start.png", "image_strength": 0.8,
    "camera_preset": "dolly_in", "camera_strength": 1.5,
    "camera_lora": "ltx-2-19b-lora-camera-control-dolly-in.safetensors",
    "filename_prefix": "ltxw/job-1",
    "guides": [{"image": "ltxw-job-guide0.png", "frame": 0, "strength": 0.7},
               {"image": "ltxw-job-guide1.png", "frame": 120, "strength": 0.7}],
    "audio_file": "ltxw-job-audio.wav", "audio_start_s": 0.0, "audio_duration_s": 5.0,
    "control_video": "ltxw-job-control.mp4",
    "reference_audio_file": "ltxw-job-reference.wav",
}


@pytest.fixture(scope="module")
def object_info() -> dict:
    if not OI_033.is_file():
        pytest.fail(f"no object_info snapshot at {OI_033}")
    return {**json.loads(OI_033.read_text()), **json.loads(PACK_OBJECT_INFO.read_text())}


def _is_link(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def reexport(graph: dict, seed: int) -> dict:
    """`graph` as the editor's "Export (API)" writes it after a load: every node gets a new id
    (drawn so that old and new ids overlap, as numbers do), nodes come in another order, and
    every link ``[id, slot]`` is rewritten to the new ids. Titles and values stay."""
    rng = random.Random(seed)
    old_ids = list(graph)
    new_ids = [str(i) for i in rng.sample(range(1, 3 * len(old_ids) + 10), len(old_ids))]
    mapping = dict(zip(old_ids, new_ids, strict=True))
    assert any(mapping[i] != i for i in old_ids)
    order = old_ids[:]
    rng.shuffle(order)
    out = {}
    for old in order:
        node = copy.deepcopy(graph[old])
        for name, value in node["inputs"].items():
            if _is_link(value):
                node["inputs"][name] = [mapping[str(value[0])], value[1]]
        out[mapping[old]] = node
    return out


def canonical(graph: dict) -> dict:
    """The graph keyed by node title, links written as (source title, slot): equal for two
    graphs that differ only in node ids and order."""
    titles = {nid: node["_meta"]["title"] for nid, node in graph.items()}
    assert len(set(titles.values())) == len(titles), "titles must be unique"
    return {
        titles[nid]: {
            "class_type": node["class_type"],
            "inputs": {k: (("link", titles[str(v[0])], v[1]) if _is_link(v) else v)
                       for k, v in node["inputs"].items()},
        }
        for nid, node in graph.items()
    }


def _values_for(template) -> dict:
    values = dict(VALUES)
    for param, targets in template.params.items():
        if param not in values:
            title, input_name = targets[0]
            values[param] = template.graph[template.node_id(template.graph, title)]["inputs"][input_name]
    return values


def _copy_workflows(dest: Path) -> Path:
    shutil.copytree(WORKFLOWS, dest)
    return dest


@pytest.mark.parametrize("name", NAMES)
def test_reexported_template_binds_and_fills_the_same(name, tmp_path, object_info):
    folder = _copy_workflows(tmp_path / "workflows")
    original = load_template(WORKFLOWS / f"{name.split('_')[0]}/{name}.json")
    renumbered = reexport(original.graph, seed=len(name))
    assert set(renumbered) != set(original.graph) or list(renumbered) != list(original.graph)
    (folder / f"{name.split('_')[0]}/{name}.json").write_text(json.dumps(renumbered, indent=2))

    bindings = json.loads((folder / f"{name.split('_')[0]}/{name}.bindings.json").read_text())
    assert check_bindings(renumbered, bindings) == []
    reloaded = load_template(folder / f"{name.split('_')[0]}/{name}.json")
    assert canonical(reloaded.graph) == canonical(original.graph)

    values = _values_for(original)
    toggles = sorted(set(original.unlink_when_false) | set(original.bypass_when_absent))
    for variant in ({}, {t: False for t in original.unlink_when_false},
                    {t: None for t in original.bypass_when_absent}, {t: True for t in original.when_true}):
        filled_original = original.fill({**values, **variant})
        filled_reexport = reloaded.fill({**values, **variant})
        assert canonical(filled_reexport) == canonical(filled_original), (name, variant, toggles)
        assert check_graph(filled_reexport, object_info) == []
    # the filled values really landed (not a vacuous comparison); nodes a switch removes are gone
    filled = canonical(reloaded.fill(values))
    removed = {t for titles in original.when_false.values() for t in titles}
    repeated = {t for group in original.repeat.values() for t in group.nodes}
    for param, targets in original.params.items():
        for title, input_name in targets:
            if title in removed:
                assert title not in filled
                continue
            if title in repeated:  # the prototype's copies carry the value
                title = f"{title} 1"
            assert filled[title]["inputs"][input_name] == values[param], (param, title)


def _templates_check(workflows: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ltx_worker.cli", "templates", "check", "--workflows", str(workflows),
         "--object-info", str(OI_033), "--object-info", str(PACK_OBJECT_INFO), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )


def test_templates_check_passes_the_shipped_and_the_reexported_templates(tmp_path, object_info):
    assert _templates_check(WORKFLOWS).returncode == 0
    folder = _copy_workflows(tmp_path / "workflows")
    for i, name in enumerate(NAMES):
        path = folder / f"{name.split('_')[0]}/{name}.json"
        path.write_text(json.dumps(reexport(json.loads(path.read_text()), seed=100 + i)))
    done = _templates_check(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(NAMES)} template(s): {len(NAMES)} ok" in done.stdout


def _retitle(graph: dict, old: str, new: str) -> None:
    hits = [n for n in graph.values() if n["_meta"]["title"] == old]
    assert len(hits) == 1, old
    hits[0]["_meta"]["title"] = new


def test_templates_check_reports_a_renamed_title_and_an_unknown_node(tmp_path, object_info):
    folder = _copy_workflows(tmp_path / "workflows")
    t2v = "ltx2_t2v_fast" if "ltx2_t2v_fast" in NAMES else NAMES[0]
    other = next(n for n in NAMES if n != t2v)
    graph = reexport(json.loads((folder / f"{t2v.split('_')[0]}/{t2v}.json").read_text()), seed=7)
    bindings = json.loads((folder / f"{t2v.split('_')[0]}/{t2v}.bindings.json").read_text())
    bound_title = bindings["params"]["prompt"][0][0]
    _retitle(graph, bound_title, "My Prompt")  # the author renamed the node in the editor
    (folder / f"{t2v.split('_')[0]}/{t2v}.json").write_text(json.dumps(graph))

    graph = json.loads((folder / f"{other.split('_')[0]}/{other}.json").read_text())
    node_id = sorted(graph)[0]
    graph[node_id]["class_type"] = "FancyUpscalerFromSomePack"  # a node pack ComfyUI lacks
    (folder / f"{other.split('_')[0]}/{other}.json").write_text(json.dumps(graph))

    done = _templates_check(folder)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    lines = out.splitlines()
    assert any(line.startswith("FAIL") and t2v in line for line in lines), out
    assert any(line.startswith("FAIL") and other in line for line in lines), out
    binding = [line for line in lines if "binding:" in line]
    assert any("'prompt'" in line and f"no node titled {bound_title!r}" in line for line in binding), out
    unknown = [line for line in lines if "unknown node:" in line]
    assert any("FancyUpscalerFromSomePack" in line and f"node {node_id}" in line for line in unknown), out
    ok = [line for line in lines if line.startswith("ok")]
    assert len(ok) == len(NAMES) - 2, out
    assert f"{len(NAMES) - 2} ok, 2 with problems" in out

    # only the renamed template, asked for by name
    done = _templates_check(folder, "--template", t2v)
    assert done.returncode == 1 and other not in done.stdout


def test_templates_check_reports_a_bound_widget_turned_into_a_link(tmp_path, object_info):
    """The author converted a bound widget to an input and linked it: the filler would no longer
    reach it, and check says which binding broke."""
    folder = _copy_workflows(tmp_path / "workflows")
    name = NAMES[0]
    template = load_template(folder / f"{name.split('_')[0]}/{name}.json")
    graph = copy.deepcopy(template.graph)
    title, input_name = template.params["seed"][0]
    seed_node = graph[template.node_id(graph, title)]
    graph["9999"] = {"class_type": "PrimitiveInt", "inputs": {"value": 5}, "_meta": {"title": "Seed"}}
    seed_node["inputs"][input_name] = ["9999", 0]
    (folder / f"{name.split('_')[0]}/{name}.json").write_text(json.dumps(graph))
    done = _templates_check(folder, "--template", name)
    assert done.returncode == 1
    assert any("binding:" in line and "'seed'" in line and "is a link" in line
               for line in done.stdout.splitlines()), done.stdout


def test_templates_check_usage_errors(tmp_path):
    done = _templates_check(WORKFLOWS, "--template", "no_such_template")
    assert done.returncode == 2 and "no_such_template" in done.stderr
    bad = tmp_path / "oi.json"
    bad.write_text("[1, 2]")
    done = subprocess.run(
        [sys.executable, "-m", "ltx_worker.cli", "templates", "check", "--object-info", str(bad)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "expected an object" in done.stderr
