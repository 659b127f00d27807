"""LTX-2.3 and LTX-2.5 jobs through the handler and a REAL ComfyUI (tiny random weights, CPU).

Every (model id, quality) of the newer families runs end to end, with and without the prompt
enhancer, where the session's ComfyUI runs the family (ComfyUI 0.33.0: COMFYUI_DIR or
COMFYUI_ARCHIVE). The MP4's facts are read back from the file and compared with the request;
the enhanced prompt is read back from the prompt's history.
"""

from __future__ import annotations

import pytest
from test_e2e import PROMPT, image_input

from ltx_worker.contract.output import JobOutput

from support import run_job

CASES = [
    ("ltx-2.3-t2v", "fast", False),
    ("ltx-2.3-i2v", "fast", False),
    ("ltx-2.3-t2v", "pro", False),
    ("ltx-2.3-i2v", "pro", False),
    ("ltx-2.5-t2v", "fast", False),
    ("ltx-2.5-i2v", "fast", False),
    ("ltx-2.3-t2v", "fast", True),
    ("ltx-2.3-i2v", "fast", True),
    ("ltx-2.3-t2v", "pro", True),
    ("ltx-2.3-i2v", "pro", True),
    ("ltx-2.5-t2v", "fast", True),
    ("ltx-2.5-i2v", "fast", True),
]


def runs(job_handler, model: str) -> None:
    """Skip unless the session's ComfyUI runs `model`'s family (its templates passed start-up)."""
    served = {m for t in job_handler.templates.templates for m, _ in t.serves}
    if model not in served:
        family = job_handler.families.family_of(model)
        pytest.skip(f"ComfyUI {job_handler.comfyui_version} has no nodes for {family.name} "
                    "(set COMFYUI_DIR or COMFYUI_ARCHIVE to ComfyUI 0.33.0)")


@pytest.mark.parametrize(("model", "quality", "enhance"), CASES)
def test_family_job_makes_the_requested_video(comfy, job_handler, model, quality, enhance):
    runs(job_handler, model)
    spec = {"model": model, "prompt": PROMPT, "quality": quality, "resolution": "720p", "duration": 2,
            "aspect_ratio": "1:1",
            "seed": 11, "enhance_prompt": enhance}
    if model.endswith("i2v"):
        spec["image_urls"] = image_input()
    out = run_job(job_handler, spec, job_id=f"{model}-{quality}-{'enh' if enhance else 'plain'}")
    assert "error" not in out, out
    JobOutput.model_validate(out)  # the result is what `ltx-worker schema` says it is
    facts = out["video"]
    assert (facts["width"], facts["height"]) == (704, 704)  # 720p 1:1 (small: a CPU renders it)
    assert facts["frames"] == 49 and facts["fps"] == 24
    assert facts["has_audio"], "LTX-2.x makes a sound track"
    settings = out["settings"]
    assert settings["family"] == job_handler.families.family_of(model).id
    assert settings["enhance_prompt"] is enhance and settings["template"].endswith(quality)
    if enhance:
        assert out["prompt"] and out["prompt"] != PROMPT, "the enhancer's prompt is returned"
    else:
        assert out["prompt"] == PROMPT
    assert settings["prompt"] == out["prompt"]


def test_silent_video_and_defaults_on_a_newer_family(comfy, job_handler):
    runs(job_handler, "ltx-2.5-t2v")
    out = run_job(job_handler, {"model": "ltx-2.5-t2v", "prompt": PROMPT, "duration": 2, "seed": 3,
                                "audio": False, "fps": 25, "aspect_ratio": "1:1"},
                  job_id="ltx25-silent")
    assert "error" not in out, out
    assert not out["video"]["has_audio"] and out["video"]["fps"] == 25 and out["video"]["frames"] == 57
    assert out["settings"]["negative_prompt"] == job_handler.families.get("ltx25").defaults["negative_prompt"]
