"""Hostile and impossible edit jobs (issue 19), each refused naming the field before ComfyUI is
reached, nothing fetched from a private address, nothing left behind.

As in tests/test_hostile_modes.py, the handler points at a port where nothing listens: a job
that reached ComfyUI would fail with COMFY_UNAVAILABLE instead of INVALID_INPUT. Private
addresses are served by a real HTTP server on loopback that counts requests (it must get none).
The files are real (PyAV), sent as data: URIs.
"""

from __future__ import annotations

import pytest

from ltx_worker.contract.job import parse_job_input
from ltx_worker.errors import WorkerError

from media_samples import edit_clip, moving_video, png_bytes, tone_wav
from support import assert_refused, data_uri, run_job

CLIP = data_uri(edit_clip(120, 24, (64, 40)), "video/mp4")  # 5 s with sound
SILENT = data_uri(edit_clip(96, 24, (64, 40), audio=False), "video/mp4")
AT25 = data_uri(edit_clip(100, 25, (64, 40), audio=False), "video/mp4")
EDIT = {"model": "ltx-2.3-edit", "prompt": "the sea turns stormy", "video_url": CLIP,
        "retake": {"start_s": 1.0, "duration_s": 2.0}}
_TRUNCATED = edit_clip(96, 24, (64, 40), audio=False)


@pytest.mark.parametrize(
    ("job_input", "field", "words"),
    [
        pytest.param({**EDIT, "video_url": data_uri(tone_wav(4.0), "audio/wav")}, "video_url",
                     "not a video format", id="wav-as-video"),
        pytest.param({**EDIT, "video_url": data_uri(png_bytes(), "image/png")}, "video_url",
                     "not a video format", id="png-as-video"),
        pytest.param({**EDIT, "video_url": data_uri(_TRUNCATED[: len(_TRUNCATED) // 3], "video/mp4")}, "video_url",
                     "", id="truncated-mp4"),
        pytest.param({**EDIT, "video_url": data_uri(moving_video(40, 24, (64, 48)), "video/mp4")}, "video_url",
                     "has 40 frames; an edit needs at least 73", id="40-frames"),
        pytest.param({**EDIT, "video_url": data_uri(moving_video(1, 24, (7680, 4320), codec="mpeg4"), "video/mp4")},
                     "video_url", "7680x4320 pixels", id="8k"),
        pytest.param({**EDIT, "video_url": data_uri(moving_video(10_000, 24, (16, 16), codec="mpeg4"), "video/mp4")},
                     "video_url", "10000 frames", id="10000-frame-header"),
        pytest.param({**EDIT, "retake": {"start_s": 30.0, "duration_s": 3.0}}, "retake",
                     "keeps 0.00 s of the 5.00 s source", id="section-past-the-end"),
        pytest.param({**EDIT, "retake": {"start_s": 3.5, "duration_s": 3.0}}, "retake",
                     "at least 2 s must be left", id="less-than-2-s-left"),
        pytest.param({**EDIT, "video_url": SILENT, "retake": {"start_s": 1.0, "duration_s": 2.0, "replace": "audio"}},
                     "retake.replace", "needs a source with sound", id="audio-on-a-silent-source"),
        pytest.param({**EDIT, "video_url": SILENT, "retake": {"start_s": 1.0, "duration_s": 2.0,
                                                               "replace": "audio_and_video"}},
                     "retake.replace", "this one is silent", id="audio-and-video-on-a-silent-source"),
        pytest.param({**EDIT, "video_url": AT25, "retake": None, "extend": {"duration_s": 20.0}},
                     "extend.duration_s", "within 497 frames", id="extend-over-the-frame-cap"),
    ],
)
def test_a_hostile_or_impossible_source_is_refused_before_comfyui(offline_handler, job_input, field, words):
    job_input = {k: v for k, v in job_input.items() if v is not None}
    out = run_job(offline_handler, job_input)
    assert_refused(out, field, words)
    assert not any(offline_handler.settings.output_dir.iterdir()), "nothing is left behind"


@pytest.mark.parametrize(
    ("job_input", "field", "words"),
    [
        pytest.param({**EDIT, "retake": {"start_s": 1.0, "duration_s": 1.0}}, "retake.duration_s",
                     "greater than or equal to 2", id="duration-1"),
        pytest.param({**EDIT, "extend": {"duration_s": 3.0}}, "retake, extend", "exactly one", id="both"),
        pytest.param({k: v for k, v in EDIT.items() if k != "retake"}, "retake, extend", "exactly one", id="neither"),
        pytest.param({**EDIT, "retake": {"start_s": 1.0, "duration_s": 2.0, "replace": "sound"}}, "retake.replace",
                     "'audio_and_video', 'video' or 'audio'", id="unknown-replace"),
        pytest.param({**EDIT, "retake": {"start_s": "2", "duration_s": 2.0}}, "retake.start_s",
                     "must be a JSON number", id="start-as-a-string"),
        pytest.param({**EDIT, "fps": 24, "duration": 5}, "fps", "an edit job does not take it", id="fps-on-an-edit"),
        pytest.param({**EDIT, "image_urls": [data_uri(png_bytes(), "image/png")]}, "image_urls",
                     "does not take it", id="image-on-an-edit"),
        pytest.param({k: v for k, v in EDIT.items() if k != "video_url"}, "video_url", "give its URL",
                     id="no-source"),
        pytest.param({**EDIT, "model": "ltx-2.3-t2v"}, "video_url", "edit model is ltx-2.3-edit",
                     id="source-on-t2v"),
        pytest.param({**EDIT, "model": "ltx-2-t2v"}, "video_url", "not built for LTX-2 19B", id="source-on-ltx2"),
        pytest.param({**EDIT, "video_url": "file:///etc/passwd"}, "video_url", "only http(s)", id="file-scheme"),
        pytest.param({**EDIT, "resolution": "2160p"}, "resolution", "renders at most 720p, 1080p", id="2160p"),
    ],
)
def test_edit_rules_name_the_field(offline_handler, job_input, field, words):
    with pytest.raises(WorkerError) as err:
        parse_job_input(job_input)
    assert field in err.value.message and words.lower() in err.value.message.lower(), err.value.message
    assert_refused(run_job(offline_handler, job_input), field, words)


@pytest.mark.parametrize("where", ["loopback", "link-local"])
def test_a_private_source_url_is_never_fetched(offline_handler, counting_server, monkeypatch, where):
    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    base, hits = counting_server
    url = f"{base}/source.mp4" if where == "loopback" else "http://169.254.169.254/latest/meta-data"
    assert_refused(run_job(offline_handler, {**EDIT, "video_url": url}), "video_url", "URL refused")
    assert hits == []
