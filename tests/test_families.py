"""Model families as folders (workflows/<family>/family.json): their rules, their templates, their
models, and the contract as data (`ltx-worker schema`).

Bad jobs go through a handler pointed at a port where nothing listens: a job that reached ComfyUI
would fail with COMFY_UNAVAILABLE instead of the expected INVALID_INPUT.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

import jsonschema
import pytest

from ltx_worker.config import PROJECT_ROOT
from ltx_worker.contract.job import parse_job_input
from ltx_worker.errors import WorkerError
from ltx_worker.families import FamilyRegistry
from ltx_worker.models.check import template_needs
from ltx_worker.models.manifest import load_models_txt, profile_names
from ltx_worker.templates import TemplateRegistry

WORKFLOWS = PROJECT_ROOT / "workflows"
FAMILIES = FamilyRegistry.load(WORKFLOWS)
TEMPLATES = TemplateRegistry.load(WORKFLOWS)
T2V = {"prompt": "a lighthouse at dusk, waves below"}


def test_every_family_is_a_folder_with_its_templates():
    assert [f.id for f in FAMILIES.families] == ["ltxv", "ltx2", "ltx23", "ltx25"]  # oldest first
    for family in FAMILIES.families:
        mine = [t for t in TEMPLATES.templates if t.family == family.id]
        assert mine, family.id
        for template in mine:
            assert (family.folder / f"{template.name}.json").is_file(), "a template lives in its family's folder"
            for model, quality in template.serves:
                assert model in family.models and quality in family.qualities, (template.name, model, quality)
        plain = [t for t in mine if t.variant is None]
        served = {s for t in plain for s in t.serves}
        generating = [m for m, mode in family.models.items() if mode != "edit"]  # edits: the edit variant
        assert served == {(m, q) for m in generating for q in family.qualities}, family.id
        # the variants family.json declares are exactly those its mode templates serve
        declared = {(m, q, name) for name, v in family.variants.items() if not v.refused
                    for m in v.models for q in v.qualities_for(m)}
        assert {k for t in mine if t.variant for k in t.keys} == declared, family.id
        if family.has("enhance_prompt"):
            assert all(t.enhanced_prompt_output and "enhance_prompt" in t.when_false for t in plain)
        if family.has("camera_lora"):
            assert all("camera_preset" in t.params for t in plain)


def test_every_file_a_family_needs_is_in_models_txt_under_its_profiles():
    entries = {e.relpath: e for e in load_models_txt(PROJECT_ROOT / "models.txt")}
    assert set(profile_names()) >= {p for f in FAMILIES.families for g in f.profiles.values() for p in g}
    assert set(profile_names()) >= {p for f in FAMILIES.families for v in f.variants.values() for p in v.profiles}
    for template in TEMPLATES.templates:
        family = FAMILIES.get(template.family)
        for model, quality in template.serves:
            for need in template_needs(template):
                assert need.relpath in entries, f"{template.name}: {need.relpath} is not in models.txt"
                wanted = set(family.profiles_for(quality, {need.feature} if need.feature else set(),
                                                 template.variant))
                if need.camera_move:
                    wanted = set(family.profiles.get("camera_lora", []))
                assert entries[need.relpath].profiles & wanted, (template.name, model, need.relpath, wanted)


@pytest.mark.parametrize(
    ("job_input", "field", "words"),
    [
        ({"model": "ltx-2-t2v", "resolution": "2160p"}, "resolution", ["LTX-2 (19B)", "720p, 1080p"]),
        ({"model": "ltx-2.5-t2v", "fps": 50, "duration": 20}, "duration", ["50 fps", "10 s"]),
        ({"model": "ltx-2.5-t2v", "resolution": "2160p", "duration": 15}, "duration", ["2160p", "10 s"]),
        ({"model": "ltx-2.5-t2v", "camera_lora": "dolly_in"}, "camera_lora", ["LTX-2 (19B)", "ltx-2-t2v"]),
        ({"model": "ltx-2.5-t2v", "quality": "pro"}, "quality", ["LTX-2.5", "it has fast"]),
        ({"model": "ltx-2.3-t2v", "quality": "ultra"}, "quality", ["LTX-2.3", "fast, pro"]),
        ({"model": "ltx-2-t2v", "enhance_prompt": True}, "enhance_prompt", ["LTX-2 (19B)", "LTX-2.3"]),
        ({"model": "ltxv-i2v", "enhance_prompt": True}, "enhance_prompt", ["LTX-Video"]),
        ({"model": "ltx-2.3-t2v", "fps": 48}, "fps", ["24, 25"]),
        ({"model": "ltx-2.3-i2v"}, "image_urls", ["start image"]),
        ({"model": "ltx-3-t2v"}, "model", ["ltx-2.5-i2v"]),
        ({"model": "ltx-2.3-i2v", "image_urls": ["https://example.com/a.png"], "audio_url": "https://example.com/a.wav",
          "quality": "pro"}, "quality", ["audio on ltx-2.3-i2v", "made at quality fast, not 'pro'"]),
        ({"model": "ltx-2.5-t2v", "audio_url": "https://example.com/a.wav"}, "audio_url",
         ["ltx-2.5-t2v has no audio template", "ltx-2.3-t2v, ltx-2.3-i2v"]),
    ],
)
def test_a_job_outside_its_family_is_refused_naming_the_field(offline_handler, job_input, field, words):
    out = asyncio.run(offline_handler({"id": "bad", "input": {**T2V, **job_input}}))
    assert out["error_code"] == "INVALID_INPUT", out
    assert out["message"].startswith(f"{field}:"), out["message"]
    for word in words:
        assert word in out["message"], out["message"]
    assert out["retryable"] is False


def test_audio_without_an_image_is_ltx23_t2v_fast_and_pro():
    """``audio_url`` on ltx-2.3-t2v (issue 19): fast and pro, each with its own template, the length
    following the audio; family.json's per-model qualities (i2v: fast only) reach the schema."""
    from ltx_worker.contract.schema import family_rules

    for quality, template in (("fast", "ltx23_a2v_fast"), ("pro", "ltx23_a2v_pro")):
        job = parse_job_input({**T2V, "model": "ltx-2.3-t2v", "quality": quality,
                               "audio_url": "https://example.com/a.wav"})
        assert (job.variant, job.plan.mode, job.plan.follows_input) == ("audio", "t2v", True)
        assert TEMPLATES.get(job.model, quality, "audio").name == template
    rules = family_rules(FAMILIES)
    assert rules["ltx-2.3-t2v"]["variants"]["audio"] == {"qualities": ["fast", "pro"]}
    assert rules["ltx-2.3-i2v"]["variants"]["audio"] == {"qualities": ["fast"]}


@pytest.mark.parametrize(
    ("job_input", "size", "frames"),
    [
        ({"model": "ltx-2.5-t2v", "resolution": "2160p", "duration": 10}, (3840, 2176), 241),
        ({"model": "ltx-2.5-t2v", "resolution": "1440p", "aspect_ratio": "9:16"}, (1472, 2560), 241),
        ({"model": "ltx-2.5-t2v", "fps": 50, "duration": 10}, (1280, 704), 505),
        ({"model": "ltx-2.5-t2v", "duration": 20, "resolution": "1080p", "fps": 25}, (1920, 1088), 497),
        ({"model": "ltx-2.3-t2v", "resolution": "1080p"}, (1920, 1088), 241),
        ({"model": "ltx-2-t2v"}, (1280, 704), 241),
    ],
)
def test_sizes_and_frames_follow_the_family(job_input, size, frames):
    plan = parse_job_input({**T2V, **job_input}).plan
    assert (plan.width, plan.height) == size and plan.frames == frames
    assert plan.width % 64 == 0 and plan.height % 64 == 0 and (plan.frames - 1) % 8 == 0


def test_family_defaults_fill_what_the_job_leaves_out():
    ltx23 = parse_job_input({**T2V, "model": "ltx-2.3-i2v", "image_urls": ["https://example.com/a.png"]}).plan
    assert ltx23.image_strength == 0.7 and ltx23.negative_prompt.startswith("pc game")
    ltx2 = parse_job_input({**T2V, "model": "ltx-2-i2v", "image_urls": ["https://example.com/a.png"]}).plan
    assert ltx2.image_strength == 1.0 and ltx2.negative_prompt.startswith("blurry")
    own = parse_job_input({**T2V, "model": "ltx-2.5-t2v", "negative_prompt": "fog"}).plan
    assert own.negative_prompt == "fog"


def test_version_1_jobs_are_unchanged():
    job = parse_job_input({**T2V, "model": "ltx-2-i2v", "image_urls": ["https://example.com/a.png"],
                           "camera_lora": "Dolly-In", "quality": "pro", "resolution": "1080p", "duration": 20})
    plan = job.plan
    assert (job.family, plan.mode, plan.width, plan.height, plan.frames, plan.fps) == (
        "ltx2", "i2v", 1920, 1088, 481, 24)
    assert job.camera_lora == "dolly_in" and plan.image_strength == 1.0


def _schema_cli(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "ltx_worker.cli", "schema", *args],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def test_schema_validates_v1_and_v2_jobs_and_rejects_unknown_fields():
    schema = _schema_cli("--part", "input")
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    v1 = {"model": "ltx-2-i2v", "prompt": "a lighthouse", "quality": "pro", "resolution": "1080p",
          "duration": 15, "camera_lora": "dolly_in", "seed": 7, "image_urls": ["https://example.com/a.png"]}
    v2 = {"model": "ltx-2.5-t2v", "prompt": "a lighthouse", "resolution": "2160p", "fps": 50,
          "duration": 10, "enhance_prompt": True}
    assert list(validator.iter_errors(v1)) == [] and list(validator.iter_errors(v2)) == []
    errors = list(validator.iter_errors({**v2, "colour": "red"}))
    assert errors and "colour" in errors[0].message
    assert list(validator.iter_errors({**v2, "model": "wan-2"}))
    for job in (v1, v2):  # the worker agrees with the schema
        parse_job_input(job)
    with pytest.raises(WorkerError):
        parse_job_input({**v2, "colour": "red"})


def test_schema_has_output_error_and_per_model_rules():
    schemas = _schema_cli()
    assert {"input", "output", "error", "models"} <= set(schemas)
    assert {"video", "seed", "prompt", "settings", "timings", "cost", "prompt_id"} <= set(
        schemas["output"]["required"])
    rules = schemas["models"]
    assert rules["ltx-2.5-i2v"]["resolutions"] == ["720p", "1080p", "1440p", "2160p"]
    assert rules["ltx-2-t2v"]["features"] == ["camera_lora", "audio", "loras"]
    assert set(rules) == set(FAMILIES.model_ids)


def test_readme_field_table_matches_the_schema():
    """The README's job input table lists exactly the fields of the schema (generated from the
    same pydantic model that validates jobs), and every model id."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Job input", 1)[1].split("\n#", 1)[0]
    fields = re.findall(r"^\| (\w+) \|", section, flags=re.M)
    schema = _schema_cli("--part", "input")
    assert [f for f in fields if f != "field"] == list(schema["properties"]), "README table vs schema"
    for model in FAMILIES.model_ids:
        assert f"`{model}`" in section, model


@pytest.mark.parametrize("template", TEMPLATES.templates, ids=lambda t: t.name)
def test_a_bound_default_is_the_one_in_the_graph(template):
    """A template that binds ``negative_prompt`` (or ``image_strength``) carries its official
    value in the graph; the family's default for each (quality, variant) it serves must be that
    value, or a job that leaves the field out gets another one and the result reports it (issue
    22: the keyframes and LTX-2.3 control variants fell back to the plain template's prompt)."""
    family = FAMILIES.get(template.family)
    for param in ("negative_prompt", "image_strength"):
        for title, name in template.params.get(param, [])[:1]:
            node = template.graph[template.node_id(template.graph, title)]
            in_graph = node["inputs"][name]
            for _model, quality, variant in template.keys:
                default = family.defaults_for(quality, variant)[param]
                assert default == in_graph, (
                    f"{template.name}: {param} default for quality={quality} variant={variant} "
                    f"is {str(default)[:60]!r}, the graph's {title}.{name} is {str(in_graph)[:60]!r}")


def test_pro_defaults_cite_where_each_value_is():
    """LTX-2.3 pro's defaults say where each value comes from, truly (issue 22): the negative
    prompt is DEFAULT_NEGATIVE_PROMPT in ltx_pipelines/utils/constants.py; the image strength has
    no default there (utils/args.py requires one) and 1.0 is the package README's example."""
    family = FAMILIES.get("ltx23")
    pro = family.defaults_for("pro")
    assert pro["image_strength"] == 1.0
    notes = family.notes
    assert "DEFAULT_NEGATIVE_PROMPT" in notes and "ltx_pipelines/utils/constants.py" in notes
    strength = notes[notes.index("image strength"):]
    assert "utils/args.py" in strength and "README" in strength and "1.0" in strength
    assert "(negative prompt, image strength" not in notes  # the old claim: both from constants.py


_TITLED = re.compile(r'\b(?P<cls>[A-Z][A-Za-z0-9]+) titled "(?P<title>[^"]+)"')


@pytest.mark.parametrize("template", TEMPLATES.templates, ids=lambda t: t.name)
def test_notes_name_the_nodes_the_graph_has(template):
    """A bindings note that says "<class> titled "<title>"" describes a node of that class in the
    graph (issue 22: four LTX-2 control notes named a PreviewImage the graphs do not have), and
    the control output is a SaveImage under the job's prefix (a PreviewImage's files would
    outlive the job in ComfyUI's temp folder)."""
    for m in _TITLED.finditer(template.notes):
        node = template.graph[template.node_id(template.graph, m["title"])]
        assert node["class_type"] == m["cls"], (
            f"{template.name}: the notes say {m['cls']} titled {m['title']!r}; the graph's is "
            f"{node['class_type']}")
    if template.control_output:
        node_id = template.node_id(template.graph, template.control_output)
        assert template.graph[node_id]["class_type"] == "SaveImage", template.name
        assert [template.control_output, "filename_prefix"] in [list(b) for b in template.params["filename_prefix"]]
