"""The client distribution's contract (clients/python) against the worker's: fails when they drift.

The worker is the source (ltx_worker/contract, families.py, workflows/*/family.json, models.txt).
Checked here: the JSON Schemas of the input, output and error models are equal (only the model
docstrings, which describe each side's own code, are left out of the comparison); good and bad
jobs get the same verdict, message and field names from the worker's `parse_job_input` and the
client's `check_job`; the shipped rules.json is what `ltx-worker schema --part models` prints;
named LoRAs are refused with the worker's own message; edit jobs (issue 19) get the worker's verdict
on their fields and its edit rules (`EDIT_REFUSED`, the default resolution cap); progress payloads
parse as the client's `Progress`. No ComfyUI, no network: about a second.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from ltx_worker.contract import job as worker_job
from ltx_worker.contract import output as worker_output
from ltx_worker.errors import RETRYABLE as WORKER_RETRYABLE
from ltx_worker.errors import ErrorCode as WorkerErrorCode
from ltx_worker.errors import WorkerError
from ltx_worker.loras.job import JobLoraSet
from ltx_worker.loras.named import default_named_loras
from ltx_worker.progress import STAGE_SPANS, ProgressTracker

ROOT = Path(__file__).resolve().parents[1]
CLIENT_DIR = ROOT / "clients" / "python"
sys.path.insert(0, str(CLIENT_DIR / "src"))

from ltx_video_client import contract as client_contract  # noqa: E402
from ltx_video_client import errors as client_errors  # noqa: E402
from ltx_video_client.outputs import Progress  # noqa: E402
from ltx_video_client.rules import check_job, default_rules  # noqa: E402

IMG = "https://example.com/a.jpg"
WAV = "https://example.com/a.wav"
MP4 = "https://example.com/a.mp4"
SHA = "0" * 64


def _without_model_docs(schema: dict) -> dict:
    """`schema` without the ``description`` of the root and of each ``$defs`` entry: those are the
    classes' docstrings (each side documents its own code); field descriptions stay compared."""
    schema = copy.deepcopy(schema)
    schema.pop("description", None)
    for definition in schema.get("$defs", {}).values():
        definition.pop("description", None)
    return schema


@pytest.mark.parametrize("name", ["JobInput", "Keyframe", "LoraEntry", "Retake", "Extend"])
def test_input_schemas_are_the_workers(name):
    client = getattr(client_contract, name).model_json_schema()
    worker = getattr(worker_job, name).model_json_schema()
    assert _without_model_docs(client) == _without_model_docs(worker)


@pytest.mark.parametrize("name", ["JobOutput", "ErrorOutput", "Settings", "LoraUsed", "Timings", "Cost",
                                  "WebhookReport"])
def test_output_schemas_are_the_workers(name):
    client = getattr(client_contract, name).model_json_schema()
    worker = getattr(worker_output, name).model_json_schema()
    assert _without_model_docs(client) == _without_model_docs(worker)


def test_constants_are_the_workers():
    from ltx_worker.models.manifest import LORA_NAME

    assert client_contract.CAMERA_MOVES == tuple(worker_job.CAMERA_LORAS)
    assert client_contract.LORA_NAME == LORA_NAME


def test_edit_constants_are_the_workers():
    from ltx_video_client import rules as client_rules

    from ltx_worker import edit_plan

    assert client_rules.EDIT_REFUSED == edit_plan.EDIT_REFUSED
    assert client_rules.EDIT_FIELDS == edit_plan.EDIT_FIELDS
    assert client_rules.RESOLUTIONS == worker_job.JobInput.model_fields["resolution"].annotation.__args__


@pytest.mark.parametrize("edit, source_s, fps", [
    ({"retake": {"start_s": 10, "duration_s": 3}}, 30, 24), ({"retake": {"start_s": 0, "duration_s": 4}}, 30, 24),
    ({"retake": {"start_s": 27, "duration_s": 9}}, 30, 25), ({"retake": {"start_s": 1, "duration_s": 19}}, 60, 24),
    ({"extend": {"duration_s": 5}}, 30, 24), ({"extend": {"duration_s": 5}}, 4, 24),
    ({"extend": {"duration_s": 5, "at": "start", "context_s": 3}}, 30, 30), ({"extend": {"duration_s": 20}}, 30, 24),
])
def test_the_quotes_edit_window_is_the_workers_within_a_latent_frame(edit, source_s, fps):
    """quote.py prices an edit's window in seconds; the worker lays it on the latent grid (edit_window)."""
    from ltx_video_client.quote import MIN_EDIT_S, RETAKE_CONTEXT_S, edit_window_s
    from ltx_video_client.rules import frames_for

    from ltx_worker import edit_window
    from ltx_worker.edit_plan import frame_cap

    assert (RETAKE_CONTEXT_S, MIN_EDIT_S) == (edit_window.DEFAULT_RETAKE_CONTEXT_S, edit_window.MIN_EDIT_S)
    job = worker_job.parse_job_input({"model": "ltx-2.3-edit", "prompt": "window", "video_url": MP4, **edit})
    family, frames = job.plan.family, round(source_s * fps)
    if job.retake is not None:
        worker = edit_window.retake_window(frames, fps, job.retake.start_s, job.retake.duration_s,
                                           frame_cap(family, fps))
    else:
        worker = edit_window.extend_window(frames, fps, job.extend.duration_s, frame_cap(family, fps), job.extend.at,
                                           job.extend.context_s)
    seconds = edit_window_s(client_contract.parse_job(job.model_dump(exclude_unset=True)), family.max_seconds,
                            source_s)
    assert abs(frames_for(seconds, fps, family.max_seconds) - worker.window_frames) <= 8


@pytest.mark.parametrize("resolution", [None, "720p", "1080p"])
def test_an_edits_resolution_cap_is_the_workers(resolution):
    """The client's `edit_resolution` names the size the worker's `edit_size_cap` caps an edit at."""
    from ltx_video_client.rules import edit_resolution

    from ltx_worker.edit_plan import edit_size_cap

    job = {"model": "ltx-2.3-edit", "prompt": "cap", "video_url": MP4, "retake": {"start_s": 0, "duration_s": 2},
           **({"resolution": resolution} if resolution else {})}
    worker = worker_job.parse_job_input(job)
    family = worker.plan.family
    cap = edit_size_cap(worker, family, "edit")
    name = edit_resolution(client_contract.parse_job(job), default_rules().models["ltx-2.3-edit"])
    width, height = family.resolutions[name]["16:9"]
    assert (max(width, height), min(width, height)) == cap == (worker.plan.width, worker.plan.height)


def test_error_codes_and_retryable_defaults_are_the_workers():
    assert [c.value for c in client_errors.ErrorCode] == [c.value for c in WorkerErrorCode]
    assert {c.value: r for c, r in client_errors.RETRYABLE.items()} == {c.value: r for c, r in
                                                                         WORKER_RETRYABLE.items()}
    assert set(client_errors.ERROR_CLASSES) == set(client_errors.ErrorCode)


def test_failure_shape_of_the_worker_is_read():
    """The worker's `to_output()` as RunPod's FAILED status shows it (the SDK pops "error")."""
    out = WorkerError(WorkerErrorCode.OUT_OF_MEMORY, "stage 2 ran out of GPU memory",
                      details={"node": "12"}).to_output()
    error = out.pop("error")
    failure = client_errors.failure_from_status({"id": "j1", "status": "FAILED", "error": error, "output": out})
    assert isinstance(failure, client_errors.OutOfMemoryError)
    assert (failure.message, failure.retryable, failure.details, failure.job_id) == (
        "stage 2 ran out of GPU memory", True, {"node": "12"}, "j1")
    only_output = client_errors.failure_from_status({"id": "j2", "status": "FAILED", "output": out})
    assert isinstance(only_output, client_errors.OutOfMemoryError) and only_output.retryable


def test_rules_json_is_what_the_worker_prints():
    printed = subprocess.run([sys.executable, "-m", "ltx_worker.cli", "schema", "--part", "models"], cwd=ROOT,
                             check=True, capture_output=True, text=True).stdout
    shipped = (CLIENT_DIR / "src" / "ltx_video_client" / "rules.json").read_text()
    assert shipped == printed, "run: .venv/bin/python clients/python/tools/generate_rules.py"


def test_the_regeneration_script_agrees():
    done = subprocess.run([sys.executable, str(CLIENT_DIR / "tools" / "generate_rules.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


GOOD_JOBS = [
    {"model": "ltx-2-t2v", "prompt": "a lighthouse at dusk"},
    {"model": "ltx-2-i2v", "prompt": "the waves roll in", "image_urls": [IMG], "quality": "pro",
     "resolution": "1080p", "duration": 20, "fps": 25, "camera_lora": "Dolly-In", "seed": 2**32 - 1},
    {"model": "ltx-2.5-t2v", "prompt": "a city in 4K", "resolution": "2160p", "duration": 10, "fps": 50},
    {"model": "ltx-2.3-i2v", "prompt": "day to night", "image_urls": [IMG], "last_image_url": IMG,
     "keyframes": [{"image_url": IMG, "at_s": 2.5, "strength": 0.8}], "duration": 5},
    {"model": "ltx-2.3-i2v", "prompt": "a song", "image_urls": [IMG], "audio_url": WAV, "audio_start_s": 12},
    {"model": "ltx-2.3-t2v", "prompt": "a song, no image", "audio_url": WAV},
    {"model": "ltx-2.3-t2v", "prompt": "a song, no image, pro", "audio_url": WAV, "quality": "pro", "duration": 4},
    {"model": "ltx-2.3-t2v", "prompt": "a dance", "control_video_url": MP4, "control": "canny", "duration": 4},
    {"model": "ltx-2-i2v", "prompt": "depth", "image_urls": [IMG], "control_video_url": MP4, "control": "depth",
     "quality": "pro"},
    {"model": "ltx-2.3-i2v", "prompt": "she speaks", "image_urls": [IMG], "reference_audio_url": WAV},
    {"model": "ltx-2.3-i2v", "prompt": "morph", "image_urls": [IMG], "last_image_url": IMG, "transition": True},
    {"model": "ltx-2.3-t2v", "prompt": "enhanced", "enhance_prompt": True, "external_id": "order-7",
     "webhook_url": "https://studio.example.com/hook", "deadline_s": 600, "return_base64": False, "audio": False},
    {"model": "ltxv-t2v", "prompt": "legacy", "loras": [{"url": "https://x.example/l.safetensors", "sha256": SHA,
                                                        "strength": -1.5}]},
    {"model": "ltx-2-t2v", "prompt": "  padded  ", "aspect_ratio": "9:16", "camera_lora": "none", "seed": 0},
    # edits (issue 19)
    {"model": "ltx-2.3-edit", "prompt": "a retake", "video_url": MP4, "retake": {"start_s": 2.5, "duration_s": 3}},
    {"model": "ltx-2.3-edit", "prompt": "picture only, pro", "video_url": MP4, "quality": "pro", "resolution": "720p",
     "retake": {"start_s": 0, "duration_s": 2, "replace": "video"}, "seed": 7, "negative_prompt": "blur"},
    {"model": "ltx-2.3-edit", "prompt": "sound only", "video_url": "data:video/mp4;base64,AAAA",
     "retake": {"start_s": 10, "duration_s": 3600, "replace": "audio"}, "resolution": "1080p"},
    {"model": "ltx-2.3-edit", "prompt": "and then", "video_url": MP4, "extend": {"duration_s": 5}},
    {"model": "ltx-2.3-edit", "prompt": "before that", "video_url": MP4, "quality": "pro",
     "extend": {"duration_s": 20, "at": "start", "context_s": 1}, "loras": [{"name": "ltx23-transition"}],
     "enhance_prompt": True, "external_id": "edit-1", "webhook_url": "https://studio.example.com/hook",
     "deadline_s": 900, "return_base64": True},
]

BAD_JOBS = [  # field rules (the contract models)
    "not an object",
    {"prompt": "no model"},
    {"model": "ltx-2-t2v", "prompt": "hi"},
    {"model": "ltx-2-t2v", "prompt": "x" * 2001},
    {"model": "ltx-2-t2v", "prompt": "bell\x07 in the prompt"},
    {"model": "ltx-2-t2v", "prompt": "unknown", "colour": "red"},
    {"model": "ltx-2-t2v", "prompt": "types", "duration": "10"},
    {"model": "ltx-2-t2v", "prompt": "types", "duration": 10.0},
    {"model": "ltx-2-t2v", "prompt": "types", "audio": "yes"},
    {"model": "ltx-2-t2v", "prompt": "types", "audio": 1},
    {"model": "ltx-2-t2v", "prompt": "types", "camera_strength": "1.5"},
    {"model": "ltx-2-t2v", "prompt": "range", "duration": 21},
    {"model": "ltx-2-t2v", "prompt": "range", "seed": -1},
    {"model": "ltx-2-t2v", "prompt": "range", "fps": 30},
    {"model": "ltx-2-t2v", "prompt": "range", "resolution": "4k"},
    {"model": "ltx-2-t2v", "prompt": "camera", "camera_lora": "orbit"},
    {"model": "ltx-2-i2v", "prompt": "images", "image_urls": [IMG, IMG]},
    {"model": "ltx-2-i2v", "prompt": "images", "image_urls": ["ftp://example.com/a.jpg"]},
    {"model": "ltx-2-i2v", "prompt": "images", "image_urls": ["   "]},
    {"model": "ltx-2.3-i2v", "prompt": "keys", "image_urls": [IMG], "keyframes": [{"image_url": IMG}]},
    {"model": "ltx-2.3-i2v", "prompt": "keys", "image_urls": [IMG], "keyframes": [{"image_url": IMG, "frame": 3,
                                                                                   "at_s": 1.0}]},
    {"model": "ltx-2.3-i2v", "prompt": "keys", "image_urls": [IMG], "keyframes": []},
    {"model": "ltx-2-t2v", "prompt": "loras", "loras": [{"name": "../etc"}]},
    {"model": "ltx-2-t2v", "prompt": "loras", "loras": [{"name": "a", "url": "https://x/a.safetensors"}]},
    {"model": "ltx-2-t2v", "prompt": "loras", "loras": [{"name": "ltx2-squish", "sha256": SHA}]},
    {"model": "ltx-2-t2v", "prompt": "loras", "loras": [{"url": "https://x/a"}] * 5},
    {"model": "ltx-2-t2v", "prompt": "webhook", "webhook_url": "ftp://x"},
    {"model": "ltx-2-t2v", "prompt": "deadline", "deadline_s": 0},
    {"model": "ltx-2-t2v", "prompt": "deadline", "deadline_s": 100_000},
    {"model": "ltx-2-t2v", "prompt": "several", "duration": 1, "fps": 23, "colour": "red"},
    # the edit fields' own rules
    {"model": "ltx-2.3-edit", "prompt": "a string", "video_url": MP4, "retake": {"start_s": "2", "duration_s": 3}},
    {"model": "ltx-2.3-edit", "prompt": "too short", "video_url": MP4, "retake": {"start_s": 0, "duration_s": 1}},
    {"model": "ltx-2.3-edit", "prompt": "no end", "video_url": MP4, "retake": {"start_s": 0}},
    {"model": "ltx-2.3-edit", "prompt": "replace what", "video_url": MP4,
     "retake": {"start_s": 0, "duration_s": 2, "replace": "both"}},
    {"model": "ltx-2.3-edit", "prompt": "unknown key", "video_url": MP4,
     "retake": {"start_s": 0, "duration_s": 2, "context_s": 1}},
    {"model": "ltx-2.3-edit", "prompt": "not an object", "video_url": MP4, "retake": [0, 2]},
    {"model": "ltx-2.3-edit", "prompt": "too long", "video_url": MP4, "extend": {"duration_s": 21}},
    {"model": "ltx-2.3-edit", "prompt": "where", "video_url": MP4, "extend": {"duration_s": 4, "at": "middle"}},
    {"model": "ltx-2.3-edit", "prompt": "context", "video_url": MP4, "extend": {"duration_s": 4, "context_s": 0.5}},
    {"model": "ltx-2.3-edit", "prompt": "a scheme", "video_url": "file:///etc/passwd", "extend": {"duration_s": 4}},
    {"model": "ltx-2.3-edit", "prompt": "empty", "video_url": "   ", "extend": {"duration_s": 4}},
]

IMPOSSIBLE_JOBS = [  # the families' rules (families.FamilyRegistry.plan)
    {"model": "ltx-9-t2v", "prompt": "unknown model"},
    {"model": "ltx-2.5-t2v", "prompt": "no pro", "quality": "pro"},
    {"model": "ltx-2-t2v", "prompt": "no ultra", "quality": "ultra"},
    {"model": "ltx-2-t2v", "prompt": "no 4K", "resolution": "2160p"},
    {"model": "ltx-2.3-t2v", "prompt": "no 48 fps", "fps": 48},
    {"model": "ltx-2.5-t2v", "prompt": "4K too long", "resolution": "2160p", "duration": 12},
    {"model": "ltx-2.5-t2v", "prompt": "50 fps too long", "fps": 50, "duration": 15},
    {"model": "ltx-2.5-t2v", "prompt": "4K default 10 s ok, 1440p 11 s not", "resolution": "1440p", "duration": 11},
    {"model": "ltx-2.3-t2v", "prompt": "no camera", "camera_lora": "static"},
    {"model": "ltx-2-t2v", "prompt": "no enhancer", "enhance_prompt": True},
    {"model": "ltx-2-t2v", "prompt": "no transition", "transition": True},
    {"model": "ltx-2.3-i2v", "prompt": "transition alone", "image_urls": [IMG], "transition": True},
    {"model": "ltx-2.3-i2v", "prompt": "transition with keys", "image_urls": [IMG], "last_image_url": IMG,
     "keyframes": [{"image_url": IMG, "frame": 5}], "transition": True},
    {"model": "ltx-2-i2v", "prompt": "no image"},
    {"model": "ltx-2-t2v", "prompt": "an image", "image_urls": [IMG]},
    {"model": "ltx-2-i2v", "prompt": "no keyframes on LTX-2", "image_urls": [IMG], "last_image_url": IMG},
    {"model": "ltx-2.3-t2v", "prompt": "last frame on t2v", "last_image_url": IMG},
    {"model": "ltx-2.5-t2v", "prompt": "no audio template", "audio_url": WAV},
    {"model": "ltx-2.5-i2v", "prompt": "no audio template", "image_urls": [IMG], "audio_url": WAV},
    {"model": "ltx-2.3-i2v", "prompt": "pro audio", "image_urls": [IMG], "audio_url": WAV, "quality": "pro"},
    {"model": "ltx-2.3-t2v", "prompt": "control alone", "control": "canny"},
    {"model": "ltx-2.3-t2v", "prompt": "video alone", "control_video_url": MP4},
    {"model": "ltx-2.3-t2v", "prompt": "pose", "control_video_url": MP4, "control": "pose"},
    {"model": "ltx-2.5-t2v", "prompt": "no control", "control_video_url": MP4, "control": "canny"},
    {"model": "ltxv-t2v", "prompt": "no control", "control_video_url": MP4, "control": "depth"},
    {"model": "ltx-2.3-t2v", "prompt": "pro control", "control_video_url": MP4, "control": "depth", "quality": "pro"},
    {"model": "ltx-2.3-t2v", "prompt": "id-lora on t2v", "reference_audio_url": WAV},
    {"model": "ltx-2-i2v", "prompt": "id-lora on LTX-2", "image_urls": [IMG], "reference_audio_url": WAV},
    {"model": "ltx-2.3-i2v", "prompt": "two modes", "image_urls": [IMG], "audio_url": WAV,
     "reference_audio_url": WAV},
    {"model": "ltx-2.3-i2v", "prompt": "two modes", "image_urls": [IMG], "last_image_url": IMG,
     "control_video_url": MP4, "control": "canny"},
    {"model": "ltx-2.3-t2v", "prompt": "keys pro", "keyframes": [{"image_url": IMG, "frame": 0}], "quality": "pro"},
    {"model": "ltxv-i2v", "prompt": "legacy keys", "image_urls": [IMG], "keyframes": [{"image_url": IMG, "frame": 3}]},
    {"model": "ltx-2-t2v", "prompt": "duration and fps both bad", "fps": 48, "duration": 20},
    # edits (edit_plan.edit_size_cap, the edit branch of FamilyRegistry.plan)
    {"model": "ltx-2.3-t2v", "prompt": "a source on t2v", "video_url": MP4},
    {"model": "ltx-2.3-i2v", "prompt": "a retake on i2v", "image_urls": [IMG],
     "retake": {"start_s": 0, "duration_s": 2}},
    {"model": "ltx-2-t2v", "prompt": "before the resolution", "resolution": "2160p", "extend": {"duration_s": 2}},
    {"model": "ltx-2.5-t2v", "prompt": "no edits on 2.5", "video_url": MP4, "extend": {"duration_s": 2}},
    {"model": "ltxv-t2v", "prompt": "no edits on ltxv", "video_url": MP4},
    {"model": "ltx-2.5-edit", "prompt": "no such model", "video_url": MP4, "extend": {"duration_s": 2}},
    {"model": "ltx-2.3-edit", "prompt": "quality first", "quality": "ultra", "fps": 25},
    {"model": "ltx-2.3-edit", "prompt": "every refused field", "video_url": MP4, "extend": {"duration_s": 2},
     "fps": 24, "duration": 10, "aspect_ratio": "9:16", "image_urls": [IMG], "last_image_url": IMG,
     "keyframes": [{"image_url": IMG, "frame": 0}], "audio_url": WAV, "audio_start_s": 1.0,
     "control_video_url": MP4, "control": "canny", "camera_lora": "static", "camera_strength": 1.0,
     "image_strength": 0.5, "reference_audio_url": WAV, "transition": False, "audio": True},
    {"model": "ltx-2.3-edit", "prompt": "a default value given", "video_url": MP4, "extend": {"duration_s": 2},
     "audio": True},
    {"model": "ltx-2.3-edit", "prompt": "no source", "retake": {"start_s": 0, "duration_s": 2}},
    {"model": "ltx-2.3-edit", "prompt": "neither", "video_url": MP4},
    {"model": "ltx-2.3-edit", "prompt": "both", "video_url": MP4, "retake": {"start_s": 0, "duration_s": 2},
     "extend": {"duration_s": 2}},
    {"model": "ltx-2.3-edit", "prompt": "no 4K", "video_url": MP4, "extend": {"duration_s": 2}, "resolution": "2160p"},
    {"model": "ltx-2.3-edit", "prompt": "refused before the source", "fps": 25},
]


def _worker_verdict(job: object) -> tuple[str, list[str]] | None:
    try:
        worker_job.parse_job_input(job)
    except WorkerError as err:
        assert err.code is WorkerErrorCode.INVALID_INPUT
        return err.message, err.details.get("fields", [])
    return None


def _client_verdict(job: object) -> tuple[str, list[str]] | None:
    try:
        check_job(job)
    except client_errors.InvalidInputError as err:
        return err.message, err.details.get("fields", [])
    return None


@pytest.mark.parametrize("job", GOOD_JOBS + BAD_JOBS + IMPOSSIBLE_JOBS)
def test_same_verdict_message_and_fields(job):
    worker, client = _worker_verdict(job), _client_verdict(job)
    assert client == worker
    if job in BAD_JOBS or job in IMPOSSIBLE_JOBS:
        assert worker is not None, "a bad job the worker takes: move it to GOOD_JOBS"
    else:
        assert worker is None


@pytest.mark.parametrize("job", GOOD_JOBS)
def test_the_client_sends_what_the_worker_reads(job):
    """A good job's normalised input (stripped strings, camera spelling) parses to the same job."""
    sent = client_contract.parse_job(job).to_input()
    assert worker_job.parse_job_input(sent).model_dump() == worker_job.parse_job_input(job).model_dump()


def test_edit_qualities_and_loras_follow_the_family_data():
    """The edit branches today's family.json cannot reach (every LTX-2.3 quality edits, the family
    takes LoRAs): an ltx23 whose edit variant is pro only and which has no LoRAs, given to both."""
    from ltx_video_client.rules import Rules

    from ltx_worker.contract.schema import family_rules
    from ltx_worker.families import FamilyRegistry

    registry = worker_job.default_families()
    ltx23 = registry.get("ltx23")
    edit = ltx23.variants["edit"].model_copy(update={"qualities": ["pro"]})
    changed = ltx23.model_copy(update={"variants": {**ltx23.variants, "edit": edit},
                                       "features": {**ltx23.features, "loras": False}})
    families = FamilyRegistry([changed if f.id == "ltx23" else f for f in registry.families])
    rules = Rules(family_rules(families))
    job = {"model": "ltx-2.3-edit", "prompt": "edit", "video_url": MP4, "extend": {"duration_s": 2}}
    for case in (job, {**job, "loras": [{"url": "https://x.example/l.safetensors"}]}, {**job, "quality": "pro"}):
        try:
            worker_job.parse_job_input(case, families)
            worker = None
        except WorkerError as err:
            worker = err.message
        try:
            check_job(case, rules=rules)
            client = None
        except client_errors.InvalidInputError as err:
            client = err.message
        assert client == worker
        assert (worker is None) == (case.get("quality") == "pro")


#: Keyframes the family's frames and limit refuse (the data's max_seconds and max_keyframes).
KEYFRAME_JOBS = [
    {"model": "ltx-2.3-i2v", "prompt": "key past the end", "image_urls": [IMG], "duration": 2,
     "keyframes": [{"image_url": IMG, "frame": 200}]},
    {"model": "ltx-2.3-i2v", "prompt": "key before the start", "image_urls": [IMG], "duration": 2,
     "keyframes": [{"image_url": IMG, "frame": -60}]},
    {"model": "ltx-2.3-i2v", "prompt": "key past the end in seconds", "image_urls": [IMG], "duration": 2,
     "keyframes": [{"image_url": IMG, "at_s": 2.5}]},
    {"model": "ltx-2.3-i2v", "prompt": "two on frame 0", "image_urls": [IMG], "keyframes": [{"image_url": IMG,
                                                                                            "frame": 0}]},
    {"model": "ltx-2.3-i2v", "prompt": "last frame twice", "image_urls": [IMG], "duration": 2, "last_image_url": IMG,
     "keyframes": [{"image_url": IMG, "frame": -1}]},
    {"model": "ltx-2.3-t2v", "prompt": "nine keys", "keyframes": [{"image_url": IMG, "frame": i} for i in range(9)]},
    {"model": "ltx-2.3-t2v", "prompt": "eight keys", "keyframes": [{"image_url": IMG, "frame": i} for i in range(8)]},
    {"model": "ltx-2.5-t2v", "prompt": "a key at the 20 s cap", "duration": 20, "fps": 25,
     "keyframes": [{"image_url": IMG, "at_s": 19.99}]},
]


@pytest.mark.parametrize("job", KEYFRAME_JOBS)
def test_keyframe_positions_and_counts_get_the_workers_verdict(job):
    assert _client_verdict(job) == _worker_verdict(job)


@pytest.mark.parametrize("model, name", [("ltx-2-t2v", "no-such-lora"), ("ltx-2.3-t2v", "ltx2-squish")])
def test_named_loras_are_refused_with_the_workers_message(model, name):
    rule = default_rules().models[model]
    with pytest.raises(WorkerError) as worker:
        JobLoraSet()._named("loras[0]", worker_job.LoraEntry(name=name), default_named_loras(), rule["family"],
                            rule["family_name"], set())
    with pytest.raises(client_errors.InvalidInputError) as client:
        check_job({"model": model, "prompt": "named", "loras": [{"name": name}]})
    assert client.value.message == worker.value.message


def test_progress_payloads_parse_as_the_clients():
    sent: list[dict] = []
    tracker = ProgressTracker(sent.append, interval_s=0.0)
    for stage in STAGE_SPANS:
        tracker.stage_started(stage, "detail")
        tracker._update(stage, 3, 8)
    assert len(sent) >= len(STAGE_SPANS)
    for payload in sent:
        assert Progress.model_validate(payload).model_dump() == payload
