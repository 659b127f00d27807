"""Jobs through the handler and a REAL ComfyUI server (tiny random weights, CPU).

Every template family the session's ComfyUI supports runs: LTX-Video 0.9 everywhere, LTX-2
where the ComfyUI has its nodes (COMFYUI_DIR pointing at ComfyUI >= 0.8). The MP4's size,
frame count and fps are read back from the file and compared with the request.
"""

from __future__ import annotations

import base64
from pathlib import Path

import av
import numpy as np
import pytest

from support import make_test_image, run_job

PROMPT = "a lighthouse on a cliff at dusk, waves below"


def image_input(seed: int = 0) -> list[str]:
    """image_urls holding a test picture as a data: URI."""
    return ["data:image/png;base64," + base64.b64encode(make_test_image(seed=seed)).decode()]


def frames_of(path: str, count: int = 3) -> list[np.ndarray]:
    """The first `count` decoded frames of a video as float arrays (H, W, 3)."""
    out = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24").astype(np.float32))
            if len(out) == count:
                break
    return out


def needs(comfy, family: str) -> None:
    if family == "ltx2" and not comfy.has_ltx2:
        pytest.skip(f"ComfyUI {comfy.version} has no LTX-2 nodes (set COMFYUI_DIR to ComfyUI >= 0.8)")


def job(model: str, quality: str = "fast", **extra) -> dict:
    spec = {"model": model, "prompt": PROMPT, "quality": quality, "resolution": "720p",
            "duration": 2, "seed": 7}
    if model.endswith("i2v"):
        spec["image_urls"] = image_input()
    spec.update(extra)
    return spec


CASES = [
    ("ltxv-t2v", "fast", None),
    ("ltxv-i2v", "pro", None),
    ("ltx-2-t2v", "fast", None),
    ("ltx-2-t2v", "pro", None),
    ("ltx-2-i2v", "fast", None),
    ("ltx-2-i2v", "pro", None),
    ("ltx-2-t2v", "fast", "dolly-in"),
    ("ltx-2-t2v", "pro", "static"),
    ("ltx-2-i2v", "fast", "jib_up"),
    ("ltx-2-i2v", "pro", "dolly_left"),
]


#: Output size per aspect ratio at 720p (README). One case renders 16:9, the rest the smaller 1:1
#: (what they add to the first is the model, the quality or the LoRA, not the size; 1:1 has 55 % of
#: the pixels, and the tiny models' noise makes decoding and encoding cost per pixel).
SIZES = {"16:9": (1280, 704), "1:1": (704, 704)}
WIDE = ("ltx-2-t2v", "fast", None)


@pytest.mark.parametrize(("model", "quality", "camera"), CASES)
def test_job_makes_the_requested_video(comfy, job_handler, model, quality, camera):
    needs(comfy, "ltx2" if model.startswith("ltx-2") else "ltxv")
    aspect = "16:9" if (model, quality, camera) == WIDE or (model.startswith("ltxv") and quality == "fast") else "1:1"
    extra = {"camera_lora": camera} if camera else {}
    out = run_job(job_handler, job(model, quality, aspect_ratio=aspect, **extra),
                  job_id=f"{model}-{quality}-{camera}")
    assert "error" not in out, out
    facts = out["video"]
    assert (facts["width"], facts["height"]) == SIZES[aspect]
    assert facts["frames"] == 49 and facts["fps"] == 24
    assert facts["duration_s"] == pytest.approx(49 / 24, abs=0.01)
    assert facts["content_type"] == "video/mp4" and facts["bytes"] == Path(out["video_path"]).stat().st_size
    if model.startswith("ltx-2"):
        assert facts["has_audio"], "LTX-2 makes a sound track"
    assert out["seed"] == 7 and out["prompt_id"]
    assert out["settings"]["camera_lora"] == (camera.replace("-", "_") if camera else None)
    assert Path(out["poster_path"]).read_bytes()[:2] == b"\xff\xd8"
    assert set(out["timings"]) == {"inputs_s", "generation_s", "upload_s", "total_s"}


@pytest.mark.parametrize("model", ["ltxv-i2v", "ltx-2-i2v"])
def test_i2v_first_frame_comes_from_the_image(comfy, job_handler, model):
    """The first frame is fixed by the start image: the same image with another seed and
    prompt gives the same first frame, another image a different one (1:1, the smallest 720p)."""
    needs(comfy, "ltx2" if model.startswith("ltx-2") else "ltxv")
    a = run_job(job_handler, job(model, seed=1, aspect_ratio="1:1"), job_id="i2v-a")
    a2 = run_job(job_handler, job(model, seed=2, prompt="a storm over the sea", aspect_ratio="1:1"),
                 job_id="i2v-a2")
    b = run_job(job_handler, job(model, seed=1, image_urls=image_input(seed=5), aspect_ratio="1:1"),
                job_id="i2v-b")
    fa, fa2, fb = (frames_of(o["video_path"], 1)[0] for o in (a, a2, b))
    same = float(np.abs(fa - fa2).mean())
    other = float(np.abs(fa - fb).mean())
    assert same < 0.25 * other, (same, other)


def test_unsupported_family_is_a_clean_error(comfy, job_handler):
    if comfy.has_ltx2:
        pytest.skip("this ComfyUI runs every family")
    out = run_job(job_handler, job("ltx-2-t2v"), job_id="no-ltx2")
    assert out["error_code"] == "WORKFLOW_INVALID" and "ltx-2-t2v" in out["message"]
