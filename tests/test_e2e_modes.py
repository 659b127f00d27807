"""The version-2 modes end to end: keyframes, image+audio, control video (issue 11), and audio to
video without a start image (issue 19).

Each job runs through the worker's handler and a REAL ComfyUI 0.33.0 on tiny random weights,
with delivery exactly as a t2v job has it: the MP4 in an S3-compatible bucket (moto's server on
loopback), one signed webhook event to a real receiver, and progress payloads from the inputs
stage to done. The inputs are made by the tests (PyAV tones and videos, Pillow images) and sent
as data: URIs. Skipped per family where the session's ComfyUI lacks its nodes.
"""

from __future__ import annotations

import base64
import io

import av
import numpy as np
import pytest
from PIL import Image
from standardwebhooks import Webhook

from ltx_worker.config import load_settings
from ltx_worker.contract.output import JobOutput
from ltx_worker.handler import JobHandler

from media_samples import moving_video, tone_wav
from support import data_uri, run_job

SECRET = "whsec_" + base64.b64encode(b"modes-test-secret-32-bytes-long!").decode()
PROMPT = "a paper boat drifts across a pond at noon"
RED, BLUE, GREEN = (220, 40, 40), (40, 60, 220), (40, 200, 60)


def _png(color, size=(320, 320)) -> str:
    """A data: URI of a flat image with a darker square, so it has some structure."""
    img = Image.new("RGB", size, color)
    dark = tuple(c // 3 for c in color)
    img.paste(dark, (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def delivering(comfy, s3, receiver, tmp_path_factory):
    """A started handler that stores to the bucket, signs webhooks and records progress."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", "true")  # the receiver is on loopback
    progress: dict[str, list[dict]] = {}
    s3.client().create_bucket(Bucket="modes")
    settings = load_settings(comfy_port=comfy.port, output_dir=tmp_path_factory.mktemp("modes-out"),
                             webhook_secret=SECRET, progress_interval_s=0.0, **s3.settings("modes"))
    handler = JobHandler(settings, progress_sink=lambda job, p: progress.setdefault(job["id"], []).append(p))
    handler.start()
    histories: dict[str, dict] = {}
    forget = handler.client.forget

    def keep_history(prompt_id: str, *args, **kwargs):  # test instrumentation: read before clean-up
        histories[prompt_id] = handler.client.history(prompt_id) or {}
        return forget(prompt_id, *args, **kwargs)

    handler.client.forget = keep_history
    yield handler, progress, histories
    mp.undo()


def _serves(handler: JobHandler, model: str, quality: str, variant: str) -> None:
    if (model, quality, variant) not in handler.served_variants:
        pytest.skip(f"ComfyUI {handler.comfyui_version} here does not run {model} {quality} {variant} "
                    "(set COMFYUI_DIR or COMFYUI_ARCHIVE to ComfyUI 0.33.0)")


def _run(delivering, receiver, s3, spec: dict, job_id: str) -> dict:
    """Run one job and check its delivery as the t2v tests do; returns the result."""
    handler, progress, _ = delivering
    spec = dict(spec)
    variant = spec.pop("_variant")
    out = run_job(handler, {"webhook_url": receiver.url, "seed": 5, "prompt": PROMPT, **spec}, job_id=job_id)
    assert "error" not in out, out
    JobOutput.model_validate(out)
    assert out["video_key"] and out["video_url"], "the MP4 went to the bucket"
    assert s3.client().head_object(Bucket="modes", Key=out["video_key"])["ContentLength"] == out["video"]["bytes"]
    events = [Webhook(SECRET).verify(d.body, d.headers) for d in receiver.deliveries
              if d.headers["webhook-id"].startswith(f"msg_{job_id}_")]
    assert len(events) == 1 and events[0]["type"] == "video.succeeded"
    assert events[0]["data"]["output"]["video"]["sha256"] == out["video"]["sha256"]
    stages = [p["stage"] for p in progress[job_id]]
    assert stages[0] == "inputs" and stages[-1] == "done" and "decode" in stages
    percents = [p["percent"] for p in progress[job_id]]
    assert percents == sorted(percents)
    assert out["settings"]["variant"] == variant
    return out


def _frames(path_or_bytes) -> list[np.ndarray]:
    with av.open(path_or_bytes) as container:
        return [f.to_ndarray(format="rgb24").astype(np.float32) for f in container.decode(video=0)]


def _download(s3, out: dict) -> io.BytesIO:
    return io.BytesIO(s3.client().get_object(Bucket="modes", Key=out["video_key"])["Body"].read())


def _guides_run(histories: dict, out: dict) -> list[tuple[int, float, str]]:
    """(frame_idx, strength, LoadImage file) of each LTXVAddGuide in the graph ComfyUI ran
    (history ``prompt[2]``), in chain order from the latent."""
    graph = histories[out["prompt_id"]]["prompt"][2]
    guides = {nid: n for nid, n in graph.items() if n["class_type"] == "LTXVAddGuide"}

    def image_of(node: dict) -> str:
        while node["class_type"] != "LoadImage":
            source = next(v for k, v in node["inputs"].items()
                          if k in ("image", "images", "input") and isinstance(v, list))
            node = graph[str(source[0])]
        return node["inputs"]["image"]

    first = next(nid for nid, n in guides.items() if str(n["inputs"]["latent"][0]) not in guides)
    chain, nid = [], first
    while nid is not None:
        node = guides[nid]
        chain.append((node["inputs"]["frame_idx"], node["inputs"]["strength"], image_of(node)))
        nid = next((g for g, n in guides.items() if str(n["inputs"]["latent"][0]) == nid), None)
    return chain


def test_first_and_last_frame(delivering, receiver, s3):
    """First+last frame on LTX-2.3 through the official flf2v graph: ComfyUI ran one guide per
    image, the start image at frame 0 and the last at frames-1 (the official -1), each from the
    file the worker uploaded, and the MP4 is delivered like any other.

    Whether the end frames *look like* the images is a property of the real weights: the tiny
    random ones decode mid-grey with the VAE's injected noise (the same job run twice differs by
    2.9 grey levels on average, as much as swapping an image changes it), so it is not asserted
    here; tests/test_mode_templates.py checks where ComfyUI's LTXVAddGuide puts each image.
    """
    handler, _, histories = delivering
    _serves(handler, "ltx-2.3-i2v", "fast", "keyframes")
    out = _run(delivering, receiver, s3, {
        "model": "ltx-2.3-i2v", "duration": 2, "aspect_ratio": "1:1", "image_urls": [_png(RED)],
        "last_image_url": _png(BLUE), "_variant": "keyframes"}, "kf-first-last")
    assert len(_frames(_download(s3, out))) == 49
    assert _guides_run(histories, out) == [(0, 0.7, "ltxw-kf-first-last-guide0.png"),
                                           (48, 0.7, "ltxw-kf-first-last-guide1.png")]
    guides = out["settings"]["inputs"]["guides"]
    assert [(g["field"], g["frame"], g["strength"]) for g in guides] == [
        ("image_urls[0]", 0, 0.7), ("last_image_url", 48, 0.7)]


def test_keyframe_in_the_middle(delivering, receiver, s3):
    """Keyframes at the middle of an LTX-2.5 t2v job (at_s and frame), in frame order."""
    handler, _, histories = delivering
    _serves(handler, "ltx-2.5-t2v", "fast", "keyframes")
    out = _run(delivering, receiver, s3, {
        "model": "ltx-2.5-t2v", "duration": 2, "aspect_ratio": "1:1", "_variant": "keyframes",
        "keyframes": [{"image_url": _png(RED), "frame": 36}, {"image_url": _png(GREEN), "at_s": 0.5,
                                                               "strength": 1.0}]}, "kf-middle")
    assert len(_frames(_download(s3, out))) == 49
    assert _guides_run(histories, out) == [(12, 1.0, "ltxw-kf-middle-guide0.png"),
                                           (36, 0.7, "ltxw-kf-middle-guide1.png")]
    assert [g["field"] for g in out["settings"]["inputs"]["guides"]] == ["keyframes[1]", "keyframes[0]"]


def test_image_and_audio(delivering, receiver, s3):
    handler = delivering[0]
    _serves(handler, "ltx-2.3-i2v", "fast", "audio")
    wav = tone_wav(2.5, rate=48_000, speech_like=True)
    out = _run(delivering, receiver, s3, {
        "model": "ltx-2.3-i2v", "aspect_ratio": "1:1", "image_urls": [_png(RED)],
        "audio_url": data_uri(wav, "audio/wav"), "_variant": "audio"}, "ia2v")
    settings = out["settings"]
    assert settings["inputs"]["audio"]["duration_s"] == 2.5 and settings["inputs"]["audio"]["sample_rate"] == 48_000
    assert settings["frames"] == 8 * 8 + 1, "2.5 s at 24 fps -> 65 frames: the length follows the audio"
    assert out["video"]["has_audio"]
    with av.open(_download(s3, out)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        samples = np.concatenate([f.to_ndarray().mean(axis=0) for f in container.decode(stream)])
    got_s = len(samples) / rate
    assert abs(got_s - 2.5) <= 1 / 24, f"the MP4's audio lasts {got_s:.3f} s, the input 2.5 s"
    with av.open(io.BytesIO(wav)) as container:
        source = np.concatenate([f.to_ndarray().astype(np.float32).mean(axis=0) / 32768
                                 for f in container.decode(audio=0)])
    if rate != 48_000:
        source = np.interp(np.arange(len(samples)) * 48_000 / rate, np.arange(len(source)), source)
    n = min(len(source), len(samples))
    corr = float(np.corrcoef(source[:n], samples[:n])[0, 1])
    assert corr > 0.5, f"the MP4's audio correlates {corr:.2f} with the input"


def test_audio_to_video_without_an_image(delivering, receiver, s3):
    """``audio_url`` on ``ltx-2.3-t2v`` (issue 19): the official ia2v graph's text-to-video path
    (ltx23_a2v_fast). The length follows the audio (2.0 s at 24 fps: 49 frames, where the default
    10 s is 241), ComfyUI ran no
    image node and kept the audio latent (noise mask 0), and the MP4's sound is the input's: its
    length and its samples."""
    handler, _, histories = delivering
    _serves(handler, "ltx-2.3-t2v", "fast", "audio")
    wav = tone_wav(2.0, rate=48_000, speech_like=True)
    out = _run(delivering, receiver, s3, {
        "model": "ltx-2.3-t2v", "aspect_ratio": "1:1", "audio_url": data_uri(wav, "audio/wav"),
        "_variant": "audio"}, "a2v")
    settings = out["settings"]
    assert settings["template"] == "ltx23_a2v_fast" and settings["mode"] == "t2v"
    assert "image" not in settings["inputs"] and settings["inputs"]["audio"]["duration_s"] == 2.0
    assert settings["frames"] == 49 and out["video"]["frames"] == 49, "2.0 s at 24 fps: the length follows the audio"
    graph = histories[out["prompt_id"]]["prompt"][2]
    classes = {n["class_type"] for n in graph.values()}
    assert not {"LoadImage", "LTXVImgToVideoInplace", "LTXVEmptyLatentAudio"} & classes
    [mask] = [n for n in graph.values() if n["class_type"] == "SolidMask"]
    assert mask["inputs"]["value"] == 0.0
    [load] = [n for n in graph.values() if n["class_type"] == "LoadAudio"]
    assert load["inputs"]["audio"] == "ltxw-a2v-audio.wav"
    assert out["video"]["has_audio"]
    with av.open(_download(s3, out)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        samples = np.concatenate([f.to_ndarray().mean(axis=0) for f in container.decode(stream)])
    assert abs(len(samples) / rate - 2.0) <= 1 / 24, f"the MP4's audio lasts {len(samples) / rate:.3f} s, the input 2 s"
    with av.open(io.BytesIO(wav)) as container:
        source = np.concatenate([f.to_ndarray().astype(np.float32).mean(axis=0) / 32768
                                 for f in container.decode(audio=0)])
    source = np.interp(np.arange(len(samples)) * 48_000 / rate, np.arange(len(source)), source)
    n = min(len(source), len(samples))
    corr = float(np.corrcoef(source[:n], samples[:n])[0, 1])
    assert corr > 0.5, f"the MP4's audio correlates {corr:.2f} with the input"


def test_transition(delivering, receiver, s3):
    """``transition: true`` is template_ltx2_3_style_transition: the first+last-frame graph ComfyUI
    ran has the ltx23-transition LoRA at 1.0 on the checkpoint's model, both guides at 0.7, and the
    prompt its trigger word."""
    handler, _, histories = delivering
    _serves(handler, "ltx-2.3-i2v", "fast", "keyframes")
    out = _run(delivering, receiver, s3, {
        "model": "ltx-2.3-i2v", "duration": 2, "aspect_ratio": "1:1", "image_urls": [_png(RED)],
        "last_image_url": _png(BLUE), "transition": True, "_variant": "keyframes"}, "transition")
    graph = histories[out["prompt_id"]]["prompt"][2]
    [(lora_id, lora)] = [(k, n) for k, n in graph.items() if n["class_type"] == "LoraLoaderModelOnly"]
    assert (lora["inputs"]["lora_name"], lora["inputs"]["strength_model"]) == ("ltx2.3-transition.safetensors", 1.0)
    assert graph[str(lora["inputs"]["model"][0])]["class_type"] == "CheckpointLoaderSimple"
    assert [(f, s) for f, s, _ in _guides_run(histories, out)] == [(0, 0.7), (48, 0.7)]
    settings = out["settings"]
    assert settings["transition"] is True and settings["prompt"] == f"zhuanchang, {PROMPT}"
    assert settings["loras"][0]["name"] == "ltx23-transition"


def test_id_lora(delivering, receiver, s3):
    """ID-LoRA (video_ltx2_3_id_lora): ComfyUI ran the ID-LoRA and LTXVReferenceAudio on stage 1
    only, with the reference voice the worker checked and uploaded; the video's length is the
    job's, not the voice clip's, and its sound is generated."""
    handler, _, histories = delivering
    _serves(handler, "ltx-2.3-i2v", "fast", "id-lora")
    wav = tone_wav(5.0, rate=16_000, speech_like=True)
    out = _run(delivering, receiver, s3, {
        "model": "ltx-2.3-i2v", "duration": 2, "aspect_ratio": "1:1", "image_urls": [_png(RED)],
        "reference_audio_url": data_uri(wav, "audio/wav"), "_variant": "id-lora"}, "id-lora")
    assert out["settings"]["frames"] == 49 and out["video"]["has_audio"]
    assert out["settings"]["inputs"]["reference_audio"]["duration_s"] == 5.0
    graph = histories[out["prompt_id"]]["prompt"][2]

    def source(node: dict, name: str) -> dict:
        return graph[str(node["inputs"][name][0])]

    [reference] = [n for n in graph.values() if n["class_type"] == "LTXVReferenceAudio"]
    assert source(reference, "reference_audio")["inputs"]["audio"] == "ltxw-id-lora-reference.wav"
    assert reference["inputs"]["identity_guidance_scale"] == 3.0
    id_lora = source(reference, "model")
    assert id_lora["inputs"]["lora_name"] == "ltx-2.3-id-lora-talkvid-3k.safetensors"
    guiders = {n["_meta"]["title"]: n for n in graph.values() if n["class_type"] == "CFGGuider"}
    assert source(guiders["Stage 1 Guider"], "model") is reference
    assert source(guiders["Stage 2 Guider"], "model") is source(id_lora, "model"), "stage 2: no ID-LoRA"


#: canny through the handler on both families (t2v and i2v, fast and pro); depth's Lotus/MoGe
#: graphs run at 128 px in tests/test_control_ltx2_templates.py / test_control_ltx23_templates.py
#: (a 704 px Lotus pass per frame costs minutes on a CPU)
@pytest.mark.parametrize(("model", "quality", "control"), [
    ("ltx-2-t2v", "fast", "canny"),
    ("ltx-2-i2v", "pro", "canny"),
    ("ltx-2.3-t2v", "fast", "canny"),
    ("ltx-2.3-i2v", "fast", "canny"),
])
def test_control_video(delivering, receiver, s3, model, quality, control):
    handler, _, histories = delivering
    _serves(handler, model, quality, f"control-{control}")
    spec = {"model": model, "quality": quality, "aspect_ratio": "1:1",
            "control_video_url": data_uri(moving_video(60, 30, (160, 120)), "video/mp4"), "control": control,
            "_variant": f"control-{control}"}
    if model.endswith("i2v"):
        spec["image_urls"] = [_png(RED)]
    job_id = f"control-{model.replace('.', '')}-{quality}-{control}"
    out = _run(delivering, receiver, s3, spec, job_id)
    facts = out["settings"]["inputs"]["control_video"]
    assert facts["control"] == control and facts["frames_decoded"] == 60 and facts["fps"] == 30.0
    assert out["settings"]["frames"] == 49, "2 s at 30 fps resampled to 24 fps: 49 frames"
    assert out["video"]["frames"] == 49
    assert facts["control_images"] >= 1, "the preprocessor's control images are in the history"
    entry = histories[out["prompt_id"]]
    shown = [o for o in entry["outputs"].values() if o.get("images")]
    assert shown and all(img["filename"] for o in shown for img in o["images"])
