"""The edit templates (issue 19) held to their sources, and the masks the worker fills them with.

* fast: the official first+last-frame template's graph as ltx23_keyframes_fast follows it
  (video_ltx2_3_flf2v: distilled checkpoint, ManualSigmas = ltx-pipelines' DISTILLED_SIGMA_VALUES,
  Euler, CFG 1, LTXVCropGuides, VAEDecodeTiled 768/64/4096/64);
* pro: stage 1 of ltx23_t2v_pro (ltx-pipelines' LTX-2.3 two-stage pipeline: 30 LTX2Scheduler
  steps without a latent, the dual CFG, STG, modality guidance and the 0.7 rescale), one stage;
* both: the source window encoded by the video and audio VAEs, one LTXWTimeMask per modality
  feeding the AV latent, the context guide chain on the masked video latent.
"""

from __future__ import annotations

import pytest

from ltx_worker.config import load_settings
from ltx_worker.contract.job import parse_job_input
from ltx_worker.edit_job import graph_side, prepare_edit
from ltx_worker.input_budget import InputBudget
from ltx_worker.paths import WORKFLOWS_DIR
from ltx_worker.templates import TemplateRegistry

from media_samples import edit_clip
from support import data_uri

REGISTRY = TemplateRegistry.load(WORKFLOWS_DIR)


def _node(template, title: str) -> dict:
    return template.graph[template.node_id(template.graph, title)]


def _link(template, title: str, name: str) -> str:
    """The title of the node feeding input `name` of node `title`."""
    source = _node(template, title)["inputs"][name]
    return template.graph[source[0]]["_meta"]["title"]


def _same(a, b, title_a: str, title_b: str | None = None) -> None:
    na, nb = _node(a, title_a), _node(b, title_b or title_a)
    assert na["class_type"] == nb["class_type"], title_a
    widgets = {k: v for k, v in nb["inputs"].items() if not isinstance(v, list)}
    assert {k: na["inputs"][k] for k in widgets} == widgets, title_a


def test_fast_samples_as_the_official_first_last_frame_template():
    edit = REGISTRY.get("ltx-2.3-edit", "fast", "edit")
    keyframes = REGISTRY.get("ltx-2.3-t2v", "fast", "keyframes")
    for title in ("Load Checkpoint", "Load Audio VAE", "Load Text Encoder", "Sigmas", "Sampler", "Guider",
                  "Decode Video", "Add Guide"):
        if title != "Add Guide":
            _same(edit, keyframes, title)
    assert _node(edit, "Load Checkpoint")["inputs"]["ckpt_name"] == "ltx-2.3-22b-distilled-fp8.safetensors"
    sigmas = [float(s) for s in _node(edit, "Sigmas")["inputs"]["sigmas"].split(",")]
    assert sigmas == [1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875, 0.0]  # DISTILLED_SIGMA_VALUES
    assert _node(edit, "Guider")["inputs"]["cfg"] == 1.0 and _node(edit, "Add Guide")["inputs"]["strength"] == 1.0


def test_pro_samples_as_stage_1_of_the_pro_pipeline():
    edit = REGISTRY.get("ltx-2.3-edit", "pro", "edit")
    pro = REGISTRY.get("ltx-2.3-t2v", "pro", None)
    for ours, theirs in (("Load Checkpoint", None), ("Spatio-Temporal Guidance", None), ("Modality Guidance", None),
                         ("Guidance Rescale", None), ("Scheduler", "Stage 1 Scheduler"),
                         ("Sampler", "Stage 1 Sampler"), ("Guider", "Stage 1 Guider"), ("Decode Video", None)):
        _same(edit, pro, ours, theirs)
    assert _node(edit, "Scheduler")["inputs"]["steps"] == 30  # utils/constants.py LTX_2_3_PARAMS, not retake.py's 40
    assert "latent" not in _node(edit, "Scheduler")["inputs"]  # retake.py: no latent for the scheduler
    assert _link(edit, "Guider", "model") == "Guidance Rescale"
    assert not [n for n in edit.graph.values() if n["class_type"] in ("LTXVLatentUpsampler", "LoraLoaderModelOnly")]


@pytest.mark.parametrize("quality", ["fast", "pro"])
def test_each_modality_has_its_mask_on_the_encoded_window(quality):
    t = REGISTRY.get("ltx-2.3-edit", quality, "edit")
    assert _link(t, "Encode Video", "pixels") == "Source Frames"
    assert _link(t, "Source Frames", "video") == "Source Video"
    assert _link(t, "Video Mask", "latent") == "Encode Video"
    assert _link(t, "Encode Audio", "audio") == "Source Audio" and _link(t, "Audio Mask", "latent") == "Encode Audio"
    assert _link(t, "Audio Mask", "audio_vae") == "Load Audio VAE"
    assert _link(t, "Add Guide", "latent") == "Video Mask" and _link(t, "Add Guide", "image") == "Guide Frames"
    assert _link(t, "AV Latent", "video_latent") == "Add Guide"
    assert _link(t, "AV Latent", "audio_latent") == "Audio Mask"
    assert _link(t, "Crop Guides", "positive") == "Add Guide"
    assert _link(t, "Decode Video", "samples") == "Crop Guides"


def _inputs(clip: bytes, **fields):
    job = parse_job_input({"model": "ltx-2.3-edit", "prompt": "the sea turns stormy",
                           "video_url": data_uri(clip, "video/mp4"), **fields})
    return prepare_edit(job, job.plan, load_settings(), InputBudget(None, None))


def test_the_masks_follow_replace_and_the_guide_only_an_extend_at_the_start():
    clip = edit_clip(120, 24, (70, 44))
    retake = _inputs(clip, retake={"start_s": 2.0, "duration_s": 2.0})
    values = retake.template_values()
    start = retake.window.context_before / 24
    assert values == {"video_mask_start_s": start, "video_mask_duration_s": 2.0,
                      "audio_mask_start_s": start, "audio_mask_duration_s": 2.0}
    assert retake.graph_size == (graph_side(70), graph_side(44)) == (64, 32) and retake.guide_mp4 is None
    video_only = _inputs(clip, retake={"start_s": 2.0, "duration_s": 2.0, "replace": "video"}).template_values()
    assert video_only["video_mask_duration_s"] == 2.0 and video_only["audio_mask_duration_s"] == 0.0
    sound_only = _inputs(clip, retake={"start_s": 2.0, "duration_s": 2.0, "replace": "audio"}).template_values()
    assert sound_only["video_mask_duration_s"] == 0.0 and sound_only["audio_mask_duration_s"] == 2.0
    start_ext = _inputs(clip, extend={"duration_s": 2.0, "at": "start", "context_s": 2.0})
    w = start_ext.window
    assert start_ext.template_values()["video_mask_duration_s"] == w.window_frames / 24  # the whole window
    assert start_ext.guide_frames == 8 * ((w.context_after - 1) // 8) + 1 and start_ext.guide_mp4
    template = REGISTRY.get("ltx-2.3-edit", "fast", "edit")
    base = {"prompt": "p", "negative_prompt": "n", "fps": 24.0, "seed": 1, "filename_prefix": "ltxw/x",
            "source_video": "w.mp4", "audio_file": "w.wav", **start_ext.template_values()}
    guided = template.fill({**base, "context_guides": [{"video": "g.mp4", "frame": w.new_frames, "strength": 1.0}]})
    guides = [n for n in guided.values() if n["class_type"] == "LTXVAddGuide"]
    assert len(guides) == 1 and guides[0]["inputs"]["frame_idx"] == w.new_frames and (w.new_frames - 1) % 8 == 0
    plain = template.fill({**base, "context_guides": []})
    assert not [n for n in plain.values() if n["class_type"] in ("LTXVAddGuide", "LoadVideo") and
                n["_meta"]["title"].startswith("Guide")]
