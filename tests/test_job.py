"""The job contract (SPEC.md "Job input"): derived sizes and field-named errors."""

import pytest

from ltx_worker.contract.job import frames_for, parse_job_input
from ltx_worker.errors import ErrorCode, WorkerError

BASE = {"model": "ltx-2-t2v", "prompt": "a red fox runs through snow"}


@pytest.mark.parametrize(
    ("duration", "fps", "frames"),
    [(2, 24, 49), (10, 24, 241), (15, 24, 361), (20, 24, 481), (10, 25, 257), (20, 25, 497), (3, 25, 81)],
)
def test_frames_are_8k_plus_1_and_capped(duration, fps, frames):
    assert frames_for(duration, fps) == frames
    assert (frames - 1) % 8 == 0
    assert frames >= min(duration * fps, frames)


@pytest.mark.parametrize(
    ("resolution", "aspect", "size"),
    [("720p", "16:9", (1280, 704)), ("1080p", "16:9", (1920, 1088)), ("720p", "9:16", (704, 1280)),
     ("1080p", "1:1", (1088, 1088))],
)
def test_sizes_are_multiples_of_64(resolution, aspect, size):
    job = parse_job_input({**BASE, "resolution": resolution, "aspect_ratio": aspect})
    r = job.render()
    assert (r.width, r.height) == size
    assert r.width % 64 == 0 and r.height % 64 == 0


def test_defaults_and_normalisation():
    job = parse_job_input({**BASE, "prompt": "   a cat sleeping  ", "camera_lora": "Dolly-In"})
    assert job.prompt == "a cat sleeping"
    assert job.camera_lora == "dolly_in"
    assert (job.quality, job.resolution, job.duration, job.fps, job.audio) == ("fast", "720p", None, 24, True)
    assert job.plan.frames == 241  # duration left out: 10 s
    assert job.family == "ltx2" and not job.is_i2v


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": "ltx-3"}, "model"),
        ({"duration": 0}, "duration"),
        ({"duration": 21}, "duration"),
        ({"duration": "10"}, "duration"),
        ({"prompt": "x" * 5000}, "prompt"),
        ({"prompt": "  a "}, "prompt"),
        ({"prompt": "bell\x07"}, "prompt"),
        ({"quality": "ultra"}, "quality"),
        ({"resolution": "4k"}, "resolution"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"camera_lora": "barrel_roll"}, "camera_lora"),
        ({"colour": "red"}, "colour"),
        ({"image_urls": ["https://example.com/a.png"]}, "image_urls"),
        ({"model": "ltx-2-i2v"}, "image_urls"),
        ({"model": "ltx-2-i2v", "image_urls": ["ftp://example.com/a.png"]}, "image_urls"),
        ({"model": "ltx-2-i2v", "image_urls": ["https://a/1.png", "https://a/2.png"]}, "image_urls"),
        ({"image_strength": 1.5}, "image_strength"),
    ],
)
def test_bad_input_names_the_field(change, field):
    with pytest.raises(WorkerError) as info:
        parse_job_input({**BASE, **change})
    err = info.value
    assert err.code is ErrorCode.INVALID_INPUT and err.retryable is False
    assert err.message.startswith(field) or f"; {field}" in err.message, err.message
    out = err.to_output()
    assert out["error_code"] == "INVALID_INPUT" and field in out["error"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"enhance_prompt": "yes"}, 'enhance_prompt: must be JSON true or false, not "yes"'),
        ({"audio": "no"}, 'audio: must be JSON true or false, not "no"'),
        ({"audio": 0}, "audio: must be JSON true or false, not 0"),
        ({"return_base64": "true"}, 'return_base64: must be JSON true or false, not "true"'),
        ({"camera_strength": "1.5"}, 'camera_strength: must be a JSON number, not "1.5"'),
        ({"camera_strength": True}, "camera_strength: must be a JSON number, not true"),
        ({"image_strength": "0.5"}, 'image_strength: must be a JSON number, not "0.5"'),
        ({"deadline_s": "60"}, 'deadline_s: must be a JSON number, not "60"'),
        ({"duration": 4.0}, "duration: must be a JSON integer, not 4.0"),
        ({"seed": "7"}, 'seed: must be a JSON integer, not "7"'),
        ({"prompt": 12345}, "prompt: must be a JSON string, not 12345"),
        ({"model": "ltx-2.3-i2v", "image_urls": ["https://example.com/a.png"],
          "keyframes": [{"image_url": "https://example.com/b.png", "frame": -1, "strength": "0.7"}]},
         'keyframes.0.strength: must be a JSON number, not "0.7"'),
    ],
)
def test_json_types_are_strict(change, says):
    """One rule for every field (issue 22): JSON's own types only, refused naming the field."""
    with pytest.raises(WorkerError) as info:
        parse_job_input({**BASE, **change})
    assert info.value.code is ErrorCode.INVALID_INPUT and not info.value.retryable
    assert says in info.value.message, info.value.message


def test_real_json_types_are_unchanged():
    """A version-1 job that sends real JSON types: an integer where a number is asked is taken."""
    job = parse_job_input({**BASE, "duration": 4, "fps": 25, "seed": 7, "camera_strength": 1,
                           "audio": False, "enhance_prompt": False, "return_base64": True,
                           "deadline_s": 120, "camera_lora": "static"})
    assert (job.duration, job.fps, job.seed, job.audio, job.return_base64) == (4, 25, 7, False, True)
    assert job.camera_strength == 1.0 and isinstance(job.camera_strength, float)
    assert job.deadline_s == 120.0


def test_missing_fields_and_non_object():
    with pytest.raises(WorkerError, match="prompt: required field is missing"):
        parse_job_input({"model": "ltx-2-t2v"})
    with pytest.raises(WorkerError, match="input must be a JSON object"):
        parse_job_input(["not", "a", "dict"])
