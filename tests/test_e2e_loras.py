"""A job's own LoRAs end to end (issue 20): by URL and by name, through the real handler and the
session's real ComfyUI on tiny weights.

The LoRAs are tiny random LoRAs shaped from each family's tiny model file
(`tinymodels.common.job_lora_for`), served over HTTP by `standins.LoraServer` (ETag,
Last-Modified, counted requests). The worker's SSRF check stays on: the one fake is that the
name ``public.test`` resolves to that loopback server (`standins.public_test_on_loopback`). The
worker's LoRA cache is the folder the session's ComfyUI was started with as a loras folder
(`conftest.comfy`), as entrypoint.sh registers LORA_CACHE_DIR.
"""

from __future__ import annotations

import hashlib

import av
import numpy as np
import pytest
from safetensors.torch import save

from ltx_worker.config import load_settings
from ltx_worker.handler import JobHandler
from ltx_worker.tinymodels.common import job_lora_for

from standins import LoraServer, public_test_on_loopback
from support import data_uri, make_test_image, run_job

#: The model file each family's fast template loads, in the tiny models folder.
MODEL_FILES = {
    "ltx-2-t2v": "checkpoints/ltx-2-19b-distilled-fp8.safetensors",
    "ltx-2.3-t2v": "checkpoints/ltx-2.3-22b-dev-fp8.safetensors",
    "ltx-2.5-t2v": "diffusion_models/ltx-2.5-22b-distilled-transformer-comfy-int8-convrot.safetensors",
}
JOB = {"prompt": "waves on a rocky shore", "duration": 2, "seed": 11, "aspect_ratio": "1:1"}


@pytest.fixture(scope="module")
def loras(comfy, tmp_path_factory):
    """A started handler whose LoRA cache is the session ComfyUI's cache folder, a LoRA server
    with a LoRA per family (``/<model>.safetensors``, plus ``/ltx-2-t2v-b.safetensors``), and the
    progress each job sent."""
    if not comfy.has_ltx2:
        pytest.skip(f"ComfyUI {comfy.version} has no LTX-2 nodes")
    mp = pytest.MonkeyPatch()
    public_test_on_loopback(mp)
    server = LoraServer()
    for model, file in MODEL_FILES.items():
        server.files[f"/{model}.safetensors"] = save(job_lora_for(comfy.models_dir / file, rank=2, seed=5))
    server.files["/ltx-2-t2v-b.safetensors"] = save(
        job_lora_for(comfy.models_dir / MODEL_FILES["ltx-2-t2v"], rank=2, seed=6))
    progress: dict[str, list[dict]] = {}
    settings = load_settings(comfy_port=comfy.port, output_dir=tmp_path_factory.mktemp("loras-out"),
                             comfy_input_dir=comfy.input_dir, comfy_output_dir=comfy.output_dir,
                             lora_cache_dir=comfy.lora_cache_dir, progress_interval_s=0.0)
    handler = JobHandler(settings, progress_sink=lambda job, p: progress.setdefault(job["id"], []).append(p))
    handler.start()
    yield handler, server, progress
    server.shutdown()
    mp.undo()


def frames(result: dict) -> np.ndarray:
    """The video's frames (RGB, frames x height x width x 3)."""
    with av.open(result["video_path"]) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def changed(a: np.ndarray, b: np.ndarray) -> float:
    """The share of pixel values that differ by more than 8 levels. The same job twice differs in
    a few values by 1-2 levels (CPU float order after a LoRA was patched in and out); a LoRA at
    strength 1 changes almost all (0.98 on tiny LTX-2)."""
    return float((np.abs(a.astype(np.int16) - b.astype(np.int16)) > 8).mean())


def run(handler: JobHandler, job_id: str, **fields) -> dict:
    result = run_job(handler, {**JOB, **fields}, job_id)
    assert "error" not in result, result
    return result


@pytest.mark.parametrize("model", list(MODEL_FILES))
def test_a_url_lora_changes_the_video_and_the_cache_answers_the_second_job(loras, model):
    """Strength 0 is the video without the LoRA (ComfyUI skips the patch), strength 1 another;
    the second job (no sha256) makes one conditional request. (With sha256: the next test.)"""
    handler, server, progress = loras
    url = server.url(f"/{model}.safetensors")
    sha = hashlib.sha256(server.files[f"/{model}.safetensors"]).hexdigest()
    full, conditional = server.full, server.conditional
    off = run(handler, f"{model}-off", model=model, loras=[{"url": url, "strength": 0.0}])
    assert (server.full, server.conditional) == (full + 1, conditional)
    on = run(handler, f"{model}-on", model=model, loras=[{"url": url}])
    assert (server.full, server.conditional) == (full + 1, conditional + 1)
    [used_off], [used_on] = off["settings"]["loras"], on["settings"]["loras"]
    assert used_off == {"url_host": "public.test", "strength": 0.0, "sha256": sha,
                        "bytes": len(server.files[f"/{model}.safetensors"]), "cache": "fetched"}
    assert used_on["cache"] == "revalidated" and used_on["strength"] == 1.0
    assert changed(frames(off), frames(on)) > 0.2, "the LoRA at strength 1 changed (nearly) nothing"
    stages = [p["stage"] for p in progress[f"{model}-off"]]
    assert stages.index("loras") < stages.index("queued")
    assert (handler.settings.lora_cache_path / f"{sha}.safetensors").is_file()
    if model == "ltx-2-t2v":
        plain = run(handler, f"{model}-plain", model=model)
        assert changed(frames(plain), frames(off)) < 0.001 and plain["settings"]["loras"] == []


def test_a_named_lora_with_its_trigger_word_and_four_loras_at_once(loras):
    """A named LoRA puts its trigger word in front of the prompt (not when the prompt has it:
    `test_lora_checks`); four LoRAs at once, one of them by sha256, which asks the server nothing."""
    handler, server, _ = loras
    # the URL LoRA at strength 0 changes nothing; it puts the file in the cache for the next job
    named = run(handler, "named", model="ltx-2-t2v", loras=[
        {"name": "ltx2-squish"}, {"url": server.url("/ltx-2-t2v.safetensors"), "strength": 0.0}])
    assert named["settings"]["prompt"] == "squish it, waves on a rocky shore"
    assert named["settings"]["loras"][0] == {"name": "ltx2-squish", "strength": 1.0, "file": "ltx2-squish.safetensors",
                                             "trigger": "squish it", "trigger_added": True}
    sha = hashlib.sha256(server.files["/ltx-2-t2v.safetensors"]).hexdigest()
    requests_before = server.full + server.conditional
    four = run(handler, "four", model="ltx-2-t2v", loras=[
        {"url": server.url("/ltx-2-t2v.safetensors"), "sha256": sha, "strength": 0.5},
        {"url": server.url("/ltx-2-t2v-b.safetensors"), "strength": -0.5},
        {"name": "ltx2-squish", "strength": 0.25},
        {"url": server.url("/ltx-2-t2v.safetensors"), "sha256": sha, "strength": 0.25},
    ])
    used = four["settings"]["loras"]
    assert [x["strength"] for x in used] == [0.5, -0.5, 0.25, 0.25]
    assert [x.get("cache") for x in used] == ["sha256", "fetched", None, "sha256"]
    assert server.full + server.conditional == requests_before + 1, "only the new LoRA was requested"
    assert changed(frames(named), frames(four)) > 0.2


def test_transition_is_refused_where_it_does_not_apply(loras):
    """The transition job itself runs in tests/test_e2e_modes.py (with delivery)."""
    handler, _, _ = loras
    start, last = (data_uri(make_test_image(320, 320, seed), "image/png") for seed in (1, 2))
    for fields, words in (({"model": "ltx-2.5-i2v"}, "has no transition; only LTX-2.3"),
                          ({"last_image_url": None}, "transition: a transition goes from the start image")):
        bad = {**JOB, "model": "ltx-2.3-i2v", "image_urls": [start], "last_image_url": last, "transition": True,
               **fields}
        refused = run_job(handler, {k: v for k, v in bad.items() if v is not None}, "bad-transition")
        assert refused.get("error_code") == "INVALID_INPUT" and words in refused["message"], refused


def test_refused_loras_name_the_entry_and_leave_nothing_behind(loras, comfy):
    handler, server, _ = loras
    cache = handler.settings.lora_cache_path
    before = sorted(p.name for p in cache.rglob("*") if p.is_file() and ".locks" not in p.parts)
    inputs_before = sorted(p.name for p in comfy.input_dir.iterdir())
    other = server.url("/ltx-2.3-t2v.safetensors")  # LTX-2.3's LoRA: its gated-attention keys are not in LTX-2
    cases = [
        ({"loras": [{"url": other}]}, "loras[0]: not a LoRA this job can use"),
        ({"loras": [{"name": "ltx23-transition"}]}, "loras[0].name: ltx23-transition is a LoRA for another family"),
        ({"loras": [{"name": "no-such-lora"}]}, "loras[0].name: no LoRA named 'no-such-lora'"),
        ({"loras": [{"name": "../../x"}]}, "loras.0.name"),
        ({"loras": [{"url": server.url("/a"), "name": "ltx2-squish"}]}, "give exactly one of url or name"),
        ({"loras": [{"strength": 1.0}]}, "give exactly one of url or name"),
        ({"loras": [{"name": "ltx2-squish", "strength": 9}]}, "loras.0.strength"),
        ({"loras": [{"name": "ltx2-squish"}] * 5}, "loras: List should have at most 4 items"),
        ({"loras": [{"url": "http://127.0.0.1:1/x.safetensors"}]}, "loras[0]"),
        ({"loras": [{"url": "file:///etc/passwd"}]}, "loras.0.url"),
    ]
    for fields, words in cases:
        result = run_job(handler, {**JOB, "model": "ltx-2-t2v", **fields}, "refused")
        assert result.get("error_code") == "INVALID_INPUT" and words in result["message"], (fields, result)
    assert sorted(p.name for p in cache.rglob("*") if p.is_file() and ".locks" not in p.parts) == before
    assert sorted(p.name for p in comfy.input_dir.iterdir()) == inputs_before
