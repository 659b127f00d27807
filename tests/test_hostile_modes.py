"""Hostile inputs of the version-2 modes (keyframes, image+audio, control video), each refused
with a field-named error before ComfyUI is reached (issue 11).

The handler points at a port where nothing listens: a job that reached ComfyUI would fail with
COMFY_UNAVAILABLE instead of INVALID_INPUT. Private addresses are served by a real HTTP server on
loopback that counts requests: it must get none. The files are real (made with PyAV by
tests/media_samples.py), sent as data: URIs.
"""

from __future__ import annotations

import pytest

from ltx_worker.config import load_settings
from ltx_worker.contract.job import parse_job_input
from ltx_worker.errors import WorkerError

from media_samples import (
    concatenated_audio,
    ffconcat_text,
    moving_video,
    png_bytes,
    png_with_exif,
    sdp_text,
    size_switching_video,
    tone_wav,
    wav_header_with_rate,
    webp_with_exif,
)
from support import assert_refused, data_uri, run_job

PNG = data_uri(png_bytes(), "image/png")
WAV = data_uri(tone_wav(3.0, rate=16_000), "audio/wav")
MP4 = data_uri(moving_video(30, 24, (64, 48)), "video/mp4")
I23 = {"model": "ltx-2.3-i2v", "prompt": "a singer on a stage", "image_urls": [PNG], "duration": 2}
T23 = {"model": "ltx-2.3-t2v", "prompt": "a robot dancing", "duration": 2}


@pytest.mark.parametrize(
    ("job_input", "field", "words"),
    [
        pytest.param({**I23, "audio_url": PNG}, "audio_url", "not an audio format", id="image-as-audio"),
        pytest.param({**I23, "image_urls": [WAV]}, "image_urls[0]", "not a decodable image", id="audio-as-image"),
        pytest.param({**T23, "control_video_url": WAV, "control": "canny"}, "control_video_url",
                     "not a video format", id="audio-as-video"),
        pytest.param({**T23, "control_video_url": PNG, "control": "canny"}, "control_video_url",
                     "not a video format", id="image-as-video"),
        pytest.param({**I23, "audio_url": data_uri(tone_wav(61.0, rate=8_000), "audio/wav")}, "audio_url",
                     "more than the 60 s limit", id="audio-over-cap"),
        pytest.param({**I23, "audio_url": data_uri(wav_header_with_rate(1), "audio/wav")}, "audio_url",
                     "sample rate 1 Hz", id="wav-rate-1"),
        pytest.param({**I23, "audio_url": data_uri(tone_wav(0.5), "audio/wav")}, "audio_url",
                     "less than the 1 s", id="audio-too-short"),
        pytest.param({**I23, "audio_url": WAV, "audio_start_s": 2.5}, "audio_url", "leaves 0.50 s",
                     id="audio-start-past-end"),
        pytest.param({**I23, "audio_url": WAV, "duration": 5}, "audio_url", "shorter than duration 5",
                     id="audio-shorter-than-duration"),
        pytest.param({**T23, "control_video_url": data_uri(moving_video(10_000, 24, (16, 16), codec="mpeg4"),
                                                           "video/mp4"), "control": "canny"},
                     "control_video_url", "10000 frames", id="video-10000-frames"),
        pytest.param({**T23, "control_video_url": data_uri(moving_video(1, 24, (4096, 4096), codec="mpeg4"),
                                                           "video/mp4"), "control": "canny"},
                     "control_video_url", "4096x4096 pixels", id="video-over-pixel-cap"),
        pytest.param({**T23, "control_video_url": data_uri(moving_video(48, 24, (64, 48))[:2500], "video/mp4"),
                      "control": "canny"}, "control_video_url", "not a decodable video", id="truncated-mp4"),
        pytest.param({**T23, "control_video_url": MP4, "control": "canny", "duration": 5}, "control_video_url",
                     "needs 121", id="video-shorter-than-duration"),
        # security hardening (tests/test_hostile_media.py has the details): malformed media is never INTERNAL,
        # the pixel cap holds for every frame, FFmpeg's reference demuxers are never reached
        pytest.param({**I23, "image_urls": [data_uri(png_with_exif(b"xx"), "image/png")]}, "image_urls[0]",
                     "not a decodable image", id="png-broken-exif"),
        pytest.param({**I23, "last_image_url": data_uri(webp_with_exif(b"xx"), "image/webp")}, "last_image_url",
                     "not a decodable image", id="webp-broken-exif"),
        pytest.param({**I23, "audio_url": data_uri(concatenated_audio((44_100, "mono"), (22_050, "mono"), seconds=0.5),
                                                   "audio/aac"), "duration": 5}, "audio_url",
                     "shorter than duration 5", id="adts-rate-change-decodes"),
        pytest.param({**T23, "control_video_url": data_uri(size_switching_video((64, 64), (4096, 2304), (3, 1)),
                                                           "video/x-msvideo"), "control": "canny"},
                     "control_video_url", "frame 4 is 4096x2304 pixels", id="video-grows-in-band"),
        pytest.param({**I23, "audio_url": data_uri(sdp_text(9), "application/sdp")}, "audio_url",
                     "not an audio format", id="sdp-as-audio"),
        pytest.param({**T23, "control_video_url": data_uri(ffconcat_text("README.md"), "text/plain"),
                      "control": "canny"}, "control_video_url", "not a video format", id="ffconcat-as-video"),
    ],
)
def test_hostile_file_is_refused_before_comfyui(offline_handler, job_input, field, words):
    out = run_job(offline_handler, job_input)
    assert_refused(out, field, words)
    out_dir = offline_handler.settings.output_dir
    assert not any(out_dir.iterdir()), "nothing is left behind"


@pytest.mark.parametrize(
    ("job_input", "field", "words"),
    [
        pytest.param({**I23, "keyframes": [{"image_url": PNG, "frame": 10_000}]}, "keyframes[0].frame",
                     "outside the video's frames 0..48", id="keyframe-frame-10000"),
        pytest.param({**I23, "keyframes": [{"image_url": PNG, "at_s": 2.5}]}, "keyframes[0].at_s",
                     "outside", id="keyframe-after-the-end"),
        pytest.param({**I23, "keyframes": [{"image_url": PNG, "frame": 24}, {"image_url": PNG, "at_s": 1.0}]},
                     "keyframes[1]", "frame 24 is already taken by keyframes[0]", id="two-keyframes-one-frame"),
        pytest.param({**I23, "keyframes": [{"image_url": PNG, "frame": 0}]}, "keyframes[0]",
                     "already taken by image_urls[0]", id="keyframe-on-start-image"),
        pytest.param({**I23, "last_image_url": PNG, "keyframes": [{"image_url": PNG, "frame": -1}]}, "keyframes[0]",
                     "already taken", id="keyframe-on-last-image"),
        pytest.param({**I23, "keyframes": [{"image_url": PNG, "frame": 3, "at_s": 1.0}]}, "keyframes.0",
                     "exactly one of at_s or frame", id="keyframe-two-positions"),
        pytest.param({**I23, "keyframes": [{"image_url": PNG, "frame": 8 * k + 1} for k in range(1, 6)]
                      + [{"image_url": PNG, "at_s": 0.1 * k} for k in range(1, 5)]}, "keyframes",
                     "at most 8 keyframes", id="too-many-keyframes"),
        pytest.param({**T23, "last_image_url": PNG}, "last_image_url", "text-to-video", id="last-image-on-t2v"),
        pytest.param({**I23, "last_image_url": PNG, "quality": "pro"}, "quality", "made at quality fast",
                     id="keyframes-pro"),
        pytest.param({**I23, "model": "ltx-2-i2v", "last_image_url": PNG}, "last_image_url",
                     "no official first+last frame", id="keyframes-on-ltx2"),
        pytest.param({**I23, "control_video_url": MP4, "control": "pose"}, "control",
                     "not a core ComfyUI node", id="pose-refused"),
        pytest.param({**I23, "model": "ltx-2.5-i2v", "control_video_url": MP4, "control": "canny"}, "control",
                     "has no control-canny template", id="control-family-lacks"),
        pytest.param({**I23, "model": "ltx-2.5-i2v", "audio_url": WAV}, "audio_url",
                     "models that have it: ltx-2.3-t2v, ltx-2.3-i2v", id="audio-on-ltx25"),
        pytest.param({**T23, "model": "ltx-2-t2v", "audio_url": WAV}, "audio_url", "ltx-2-t2v has no audio template",
                     id="audio-on-ltx2-t2v"),
        pytest.param({**I23, "audio_url": WAV, "last_image_url": PNG}, "audio_url", "not last_image_url "
                     "and audio_url together", id="two-modes"),
        pytest.param({**T23, "control_video_url": MP4}, "control", "go together", id="control-missing"),
        pytest.param({**T23, "control": "canny"}, "control_video_url", "go together", id="control-url-missing"),
        pytest.param({**T23, "audio_url": "file:///etc/passwd"}, "audio_url", "only http(s)", id="file-scheme"),
    ],
)
def test_mode_rules_name_the_field(offline_handler, job_input, field, words):
    with pytest.raises(WorkerError) as err:
        parse_job_input(job_input)
    assert field in err.value.message and words.lower() in err.value.message.lower(), err.value.message
    assert_refused(run_job(offline_handler, job_input), field, words)


@pytest.mark.parametrize("field", ["last_image_url", "keyframes", "audio_url", "control_video_url"])
@pytest.mark.parametrize("where", ["loopback", "link-local"])
def test_private_urls_of_new_fields_are_never_fetched(offline_handler, counting_server, monkeypatch, field, where):
    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    base, hits = counting_server
    url = f"{base}/{field}.bin" if where == "loopback" else "http://169.254.169.254/latest/meta-data"
    job = {
        "last_image_url": {**I23, "last_image_url": url},
        "keyframes": {**I23, "keyframes": [{"image_url": url, "frame": 24}]},
        "audio_url": {**I23, "audio_url": url},
        "control_video_url": {**T23, "control_video_url": url, "control": "canny"},
    }[field]
    out = run_job(offline_handler, job)
    expected = "keyframes[0]" if field == "keyframes" else field
    assert_refused(out, expected, "URL refused")
    assert hits == []


def test_keyframes_resolve_to_frames_in_order():
    job = parse_job_input({**I23, "duration": 5, "fps": 24, "last_image_url": PNG,
                           "keyframes": [{"image_url": PNG, "at_s": 2.5, "strength": 0.9},
                                         {"image_url": PNG, "frame": -25}]})
    plan = job.plan
    assert plan.variant == "keyframes" and plan.frames == 121
    assert [(g.field, g.frame, g.strength) for g in plan.guides] == [
        ("image_urls[0]", 0, plan.image_strength), ("keyframes[0]", 60, 0.9),
        ("keyframes[1]", 96, 0.7), ("last_image_url", 120, 0.7)]


def test_duration_follows_the_input_only_when_left_out():
    assert parse_job_input({**I23, "duration": None, "audio_url": WAV}).plan.follows_input
    assert not parse_job_input({**I23, "audio_url": WAV}).plan.follows_input  # I23 gives duration 2
    job = parse_job_input({**{k: v for k, v in I23.items() if k != "duration"}, "audio_url": WAV})
    assert job.plan.with_input_seconds(3.2).frames == 8 * 10 + 1  # 3.2 s * 24 = 76.8 -> 81
    assert job.plan.with_input_seconds(0.4).frames == 49  # never below the family's 2 s


def test_audio_longer_than_the_longest_video_is_cut_with_it():
    """Duration left out: a 25 s track makes the family's longest video (481 frames at 24 fps),
    and only that much of the audio is kept (TrimAudioDuration)."""
    from ltx_worker.job_inputs import fetch_inputs

    job = parse_job_input({**{k: v for k, v in I23.items() if k != "duration"},
                           "audio_url": data_uri(tone_wav(25.0, rate=8_000), "audio/wav")})
    checked = fetch_inputs(job, load_settings())
    assert checked.plan.frames == 481 and checked.audio_duration_s == pytest.approx(481 / 24)
    assert checked.facts["audio"]["duration_s"] == 25.0 and checked.facts["audio"]["sample_rate"] == 8_000
    assert checked.describe() == "start image, audio"
