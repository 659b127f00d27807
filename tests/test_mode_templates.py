"""The mode templates: keyframes (first/last and in-between frames) of LTX-2.3 and LTX-2.5,
LTX-2.3 image + audio to video (lip sync), and audio to video without a start image (fast: the
official ia2v template's "Switch to Text to Video?" path; pro: ltx-pipelines' A2VidPipelineTwoStage).

(a) Each template is valid against the ComfyUI 0.33.0 ``/object_info`` snapshot: as is, with the
    prompt enhancer linked and removed, and filled with 0, 1 and 3 guides (the ``repeat`` group
    cloned by `fill` below).
(b) Each holds the settings of the official ComfyUI template it follows
    (``video_ltx2_3_flf2v``, ``video_ltx2_5_flf2v``, ``video_ltx2_3_ia2v``, the latter also with its
    text-to-video switch set): the family settings of tests/official_templates.py, plus the guide
    chain (resize, preprocess, frame index, strength), the sampler node, where the decoded video
    and the conditioning come from, and the audio path. The a2v pro template takes the fast one's
    audio path (its sampling is held to the pipeline by tests/test_family_templates.py).
(c) LTXVAddGuide of the session's ComfyUI places a single image at exactly its pixel frame, and
    ``frames - 1`` lands where the official ``-1`` does (a fake VAE; no model).
(d) End to end on the session ComfyUI (tiny weights, CPU, 128 x 128): keyframes with 3 guides
    and with 1, for both families, and another guide picture gives another video; image + audio
    with a 1 s 440 Hz WAV: the MP4's sound track is
    the input audio (duration and samples), and the audio latent the model saw is the input's,
    kept through both stages (decoded, it is the input's audio-VAE round trip whatever the seed);
    audio to video pro (2 of its 30 stage-1 steps): the MP4's sound track is the input audio.

`fill` is a local stand-in for the template filler (ltx_worker.templates) with the bindings
features these templates use (params, repeat, when_true/when_false, unlink_when_false); where
the package's filler already reads ``repeat``, `test_package_filler_agrees` holds the two equal.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from ltx_worker.comfy.client import ComfyClient

from official_templates import settings, ui_to_api
from support import make_test_image
from template_files import OFFICIAL, WORKFLOWS, ids_by_title, load_json

#: mode template -> (family folder, the official ComfyUI template it follows)
MODES = {
    "ltx23_keyframes_fast": ("ltx23", "video_ltx2_3_flf2v"),
    "ltx25_keyframes_fast": ("ltx25", "video_ltx2_5_flf2v"),
    "ltx23_ia2v_fast": ("ltx23", "video_ltx2_3_ia2v"),
    "ltx23_a2v_fast": ("ltx23", "video_ltx2_3_ia2v"),  # its "Switch to Text to Video?" path (`_official`)
}
KEYFRAMES = ("ltx23_keyframes_fast", "ltx25_keyframes_fast")
#: (template, key) -> why the template deliberately differs from its official template there
KNOWN_DEVIATIONS = {
    ("ltx23_keyframes_fast", "enhancer"): "the official flf2v has no enhancer; the family's is added",
    ("ltx25_keyframes_fast", "enhancer"): "the enhancer gets no image (the guides are a repeated group)",
    ("ltx23_ia2v_fast", "audio_decode_from"): "the MP4 carries the trimmed input audio, not its VAE round trip",
    ("ltx23_a2v_fast", "audio_decode_from"): "the MP4 carries the trimmed input audio, not its VAE round trip",
}
#: the official ia2v's PrimitiveBoolean that bypasses both LTXVImgToVideoInplace nodes (t2v)
T2V_SWITCH = "Switch to Text to Video?"
#: mode template -> the official template's switch value it follows
SWITCHED = {"ltx23_a2v_fast": True}
#: model files a template adds to its official template's (the enhancer above)
EXTRA_FILES = {
    "ltx23_keyframes_fast": {("LoraLoader", "lora_name",
                              "gemma-3-12b-it-abliterated_lora_rank64_bf16.safetensors")},
}
#: the frame count the settings are compared at (the official -1 is frames - 1 there)
FRAMES = 121


def _paths(name: str) -> tuple[Path, Path]:
    folder = WORKFLOWS / MODES[name][0]
    return folder / f"{name}.json", folder / f"{name}.bindings.json"


def _template(name: str) -> tuple[dict, dict]:
    graph_path, bindings_path = _paths(name)
    return load_json(graph_path), load_json(bindings_path)


def _is_link(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


# ---------------------------------------------------------------------------------------------
# a local template filler (docs/architecture.md "Templates and bindings" + the repeat group)
# ---------------------------------------------------------------------------------------------

def _expand(graph: dict, spec: dict, items: list[dict]) -> None:
    """Clone the `spec` group once per item (in place), threading the chain node's outputs."""
    ids = ids_by_title(graph)
    group = [ids[title] for title in spec["nodes"]]
    chain = ids[spec["chain"]["node"]]
    outputs = {int(slot): name for slot, name in spec["chain"]["outputs"].items()}
    outside = [(node_id, key, value[1]) for node_id, node in graph.items() if node_id not in group
               for key, value in node["inputs"].items() if _is_link(value) and value[0] in group]
    assert all(source_slot in outputs for _, _, source_slot in outside)
    assert all(graph[n]["inputs"][k][0] == chain for n, k, _ in outside), \
        "only the chain node may feed nodes outside the group"
    if not items:
        for node_id in group:
            if node_id != chain:
                del graph[node_id]
        for node_id, key, slot in outside:
            graph[node_id]["inputs"][key] = list(graph[chain]["inputs"][outputs[slot]])
        del graph[chain]
        return
    prototype = {node_id: graph.pop(node_id) for node_id in group}
    next_id = max(int(k) for k in [*graph, *prototype]) + 1
    previous = None
    for index, item in enumerate(items, start=1):
        new_ids = {old: str(next_id + n) for n, old in enumerate(prototype)}
        next_id += len(prototype)
        for old, node in prototype.items():
            clone = copy.deepcopy(node)
            for key, value in clone["inputs"].items():
                if _is_link(value) and value[0] in new_ids:
                    clone["inputs"][key] = [new_ids[value[0]], value[1]]
            clone["_meta"]["title"] = f"{node['_meta']['title']} {index}"
            graph[new_ids[old]] = clone
        for key, targets in spec["params"].items():
            for title, input_name in targets:
                node = graph[new_ids[ids[title]]]
                assert not _is_link(node["inputs"][input_name])
                node["inputs"][input_name] = item[key]
        if previous is not None:
            for slot, input_name in outputs.items():
                graph[new_ids[chain]]["inputs"][input_name] = [previous, slot]
        previous = new_ids[chain]
    for node_id, key, slot in outside:
        graph[node_id]["inputs"][key] = [previous, slot]


def fill(graph: dict, bindings: dict, values: dict) -> dict:
    """`graph` filled with `values` as the worker's filler does (a copy)."""
    graph = copy.deepcopy(graph)
    removed = set()
    for param, rule in (bindings.get("when_false") or {}).items():
        if values.get(param) is not True:
            ids = ids_by_title(graph)
            for title in rule["remove"]:
                del graph[ids[title]]
                removed.add(title)
    for param, targets in (bindings.get("unlink_when_false") or {}).items():
        if values.get(param, True) is False:
            ids = ids_by_title(graph)
            for title, input_name in targets:
                assert _is_link(graph[ids[title]]["inputs"][input_name])
                del graph[ids[title]]["inputs"][input_name]
    ids = ids_by_title(graph)
    for param, targets in bindings["params"].items():
        for title, input_name in targets:
            if title in removed:
                continue
            node = graph[ids[title]]
            assert input_name in node["inputs"] and not _is_link(node["inputs"][input_name]), (title, input_name)
            node["inputs"][input_name] = values[param]
    for param, rule in (bindings.get("when_true") or {}).items():
        if values.get(param) is True:
            for title, input_name, source, slot in rule["link"]:
                graph[ids[title]]["inputs"][input_name] = [ids[source], slot]
    for param, spec in (bindings.get("repeat") or {}).items():
        _expand(graph, spec, values.get(param) or [])
    return graph


def _values(name: str, graph: dict, **overrides) -> dict:
    """Parameter values for `name`: the template's own prompt/negative, a tiny size."""
    ids = ids_by_title(graph)
    values = {
        "prompt": graph[ids["Positive Prompt"]]["inputs"]["text"],
        "negative_prompt": graph[ids["Negative Prompt"]]["inputs"]["text"],
        "width": 128, "height": 128, "half_width": 64, "half_height": 64,
        "frames": 25, "fps": 24, "seed": 7, "filename_prefix": f"ltxw-modes/{name}",
        "audio": True, "enhance_prompt": False,
        "image": "ltxw_mode_0.png", "image_strength": 0.7,
        "audio_file": "ltxw_tone.wav", "audio_start_s": 0.0, "audio_duration_s": 1.0,
        "guides": [{"image": "ltxw_mode_0.png", "frame": 0, "strength": 0.7},
                   {"image": "ltxw_mode_1.png", "frame": 24, "strength": 0.7}],
    }
    values.update(overrides)
    return values


# ---------------------------------------------------------------------------------------------
# (a) schema
# ---------------------------------------------------------------------------------------------

def _check_graph():
    from ltx_worker.workflow_check import check_graph

    return check_graph


def _guides(count: int, frames: int = 25) -> list[dict]:
    frames_at = {0: [], 1: [frames // 2], 3: [0, frames // 2, frames - 1]}[count]
    return [{"image": f"ltxw_mode_{i}.png", "frame": f, "strength": 0.7 if i else 1.0}
            for i, f in enumerate(frames_at)]


@pytest.mark.parametrize("name", sorted(MODES))
def test_template_is_valid_against_comfyui_033(name, object_info):
    graph, bindings = _template(name)
    check_graph = _check_graph()
    assert check_graph(graph, object_info) == [], f"{name} (as is)"
    for enhance in (False, True):
        for count in ((0, 1, 3) if name in KEYFRAMES else (0,)):
            for audio in (True, False):
                filled = fill(graph, bindings, _values(name, graph, enhance_prompt=enhance,
                                                       guides=_guides(count), audio=audio))
                assert check_graph(filled, object_info) == [], f"{name} enhance={enhance} guides={count}"


def test_bindings_fit_their_graphs():
    from ltx_worker.bindings_check import check_bindings

    for name in MODES:
        graph, bindings = _template(name)
        assert check_bindings(graph, bindings) == [], name
        assert bindings["template"] == _paths(name)[0].name and bindings["family"] == MODES[name][0]
        titles = [n["_meta"]["title"] for n in graph.values()]
        assert len(titles) == len(set(titles)), f"{name}: titles are not unique"


def test_serves_the_mode_variants():
    served = {(s["model"], s["quality"], s.get("variant")) for name in MODES
              for s in _template(name)[1]["serves"]}
    assert served == {
        ("ltx-2.3-t2v", "fast", "keyframes"), ("ltx-2.3-i2v", "fast", "keyframes"),
        ("ltx-2.5-t2v", "fast", "keyframes"), ("ltx-2.5-i2v", "fast", "keyframes"),
        ("ltx-2.3-i2v", "fast", "audio"), ("ltx-2.3-t2v", "fast", "audio"),
    }


@pytest.mark.parametrize("name", KEYFRAMES)
def test_guides_repeat_and_thread(name):
    """Three guides: three copies of the group, each Add Guide fed by the one before; the
    guider and Crop Guides read the last; no guides: the conditioning goes straight through."""
    graph, bindings = _template(name)
    filled = fill(graph, bindings, _values(name, graph, guides=_guides(3)))
    ids = ids_by_title(filled)
    adds = [ids[f"Add Guide {i}"] for i in (1, 2, 3)]
    assert [filled[a]["inputs"]["frame_idx"] for a in adds] == [0, 12, 24]
    assert [filled[ids[f"Guide Image {i}"]]["inputs"]["image"] for i in (1, 2, 3)] == \
        ["ltxw_mode_0.png", "ltxw_mode_1.png", "ltxw_mode_2.png"]
    assert filled[adds[0]]["inputs"]["positive"] == [ids["Conditioning"], 0]
    assert filled[adds[0]]["inputs"]["latent"] == [ids["Latent"], 0]
    for before, after in zip(adds, adds[1:], strict=False):
        assert [filled[after]["inputs"][k] for k in ("positive", "negative", "latent")] == \
            [[before, 0], [before, 1], [before, 2]]
    assert filled[ids["Guide Resize 2"]]["inputs"]["resize_type.width"] == 128
    for title in ("Guider", "Crop Guides"):
        assert filled[ids[title]]["inputs"]["positive"] == [adds[-1], 0]
    assert filled[ids["AV Latent"]]["inputs"]["video_latent"] == [adds[-1], 2]
    none = fill(graph, bindings, _values(name, graph, guides=[]))
    ids = ids_by_title(none)
    assert "Add Guide" not in ids and "Guide Image" not in ids
    assert none[ids["Guider"]]["inputs"]["positive"] == [ids["Conditioning"], 0]
    assert none[ids["AV Latent"]]["inputs"]["video_latent"] == [ids["Latent"], 0]


def _canonical(graph: dict) -> dict:
    """The graph keyed by title, links as (source title, slot): equal for equal graphs whatever
    the node ids."""
    titles = {k: n["_meta"]["title"] for k, n in graph.items()}
    return {titles[k]: (n["class_type"], {key: (titles[v[0]], v[1]) if _is_link(v) else v
                                          for key, v in n["inputs"].items()})
            for k, n in graph.items()}


@pytest.mark.parametrize("name", sorted(MODES))
def test_package_filler_agrees(name):
    """Where ltx_worker.templates reads the new bindings keys, it fills as `fill` does."""
    from ltx_worker import templates

    template = templates.load_template(_paths(name)[0])
    graph, bindings = _template(name)
    for count in ((0, 1, 3) if name in KEYFRAMES else (0,)):
        for enhance in (False, True):
            values = _values(name, graph, guides=_guides(count), enhance_prompt=enhance)
            assert _canonical(template.fill(values)) == _canonical(fill(graph, bindings, values))


# ---------------------------------------------------------------------------------------------
# (b) official settings
# ---------------------------------------------------------------------------------------------

def _src(graph: dict, node: dict, name: str):
    value = node["inputs"].get(name)
    if isinstance(value, list) and len(value) == 2 and str(value[0]) in graph:
        return graph[str(value[0])], value[1]
    return None, None


#: inputs bound to job parameters (or sizes), which the comparison leaves out
_BOUND = {"width", "height", "resize_type.width", "resize_type.height", "frames_number",
          "frame_rate", "start_index", "duration", "audio", "image", "length"}
#: link inputs followed upstream when describing a path
_FOLLOW = {"LTXVAudioVAEEncode": ("audio",), "TrimAudioDuration": ("audio",),
           "SetLatentNoiseMask": ("samples", "mask"), "LTXVPreprocess": ("image",),
           "ResizeImageMaskNode": ("input",), "LTXVSeparateAVLatent": ("av_latent",)}


def _describe(graph: dict, node: dict | None, slot: int | None = None) -> list | None:
    """A node and what feeds it along `_FOLLOW`: class, output slot, unbound widget values."""
    if node is None:
        return None
    widgets = sorted((k, v) for k, v in node["inputs"].items() if not _is_link(v) and k not in _BOUND)
    upstream = {}
    for name in _FOLLOW.get(node["class_type"], ()):
        upstream[name] = _describe(graph, *_src(graph, node, name))
    if node["class_type"] == "SamplerCustomAdvanced":
        sigmas = _src(graph, node, "sigmas")[0]
        widgets = ([("sigmas", [float(s) for s in sigmas["inputs"]["sigmas"].split(",")])]
                   if sigmas["class_type"] == "ManualSigmas" else
                   [(sigmas["class_type"], sorted(sigmas["inputs"].items()))])  # a scheduler (pro)
    return [node["class_type"], slot, widgets, upstream]


def _of(graph: dict, cls: str) -> list[dict]:
    return [n for n in graph.values() if n["class_type"] == cls]


def mode_settings(graph: dict, frames: int) -> dict:
    """What the mode tests hold beyond `settings`: guides, sampler nodes, guide cropping and the
    audio path (official ``-1`` frame indices read as ``frames - 1``)."""
    samplers = []
    guides = []
    for sca in _of(graph, "SamplerCustomAdvanced"):
        sampler = _src(graph, sca, "sampler")[0]
        samplers.append([sampler["class_type"], sorted(sampler["inputs"].items())])
        guider = _src(graph, sca, "guider")[0]
        add = _src(graph, guider, "positive")[0]
        chain = []
        while add is not None and add["class_type"] == "LTXVAddGuide":
            ins = add["inputs"]
            frame = ins["frame_idx"] if ins["frame_idx"] >= 0 else frames + ins["frame_idx"]
            chain.append([frame, float(ins["strength"]), _describe(graph, *_src(graph, add, "image"))])
            add = _src(graph, add, "positive")[0]
        guides.extend(reversed(chain))
    created = _of(graph, "CreateVideo")[0]
    decode = _src(graph, created, "images")[0]
    crop = _src(graph, decode, "samples")[0]
    audio_decode = _src(graph, created, "audio")[0]
    concat_audio = []
    for concat in _of(graph, "LTXVConcatAVLatent"):
        consumer = [n for n in graph.values() if n["class_type"] == "SamplerCustomAdvanced"
                    and _src(graph, n, "latent_image")[0] is concat][0]
        sigmas = len(_src(graph, consumer, "sigmas")[0]["inputs"]["sigmas"].split(","))
        concat_audio.append([sigmas, _describe(graph, *_src(graph, concat, "audio_latent"))])
    return {
        "samplers": sorted(samplers),
        "guides": guides,
        "decode_from": [crop["class_type"]] + ([_describe(graph, *_src(graph, crop, "latent"))]
                                               if crop["class_type"] == "LTXVCropGuides" else []),
        "audio_decode_from": (_describe(graph, *_src(graph, audio_decode, "samples"))
                              if audio_decode["class_type"] == "LTXVAudioVAEDecode" else None),
        "audio_latents": sorted(concat_audio, key=lambda x: -x[0]),
    }


def _official(name: str, object_info: dict) -> dict:
    """The official template of `name` as an API graph, its text-to-video switch set as `SWITCHED`
    says (the official file has it false)."""
    ui = load_json(OFFICIAL / f"{MODES[name][1]}.json")
    if name in SWITCHED:
        nodes = [n for g in [ui, *ui["definitions"]["subgraphs"]] for n in g["nodes"] if n.get("title") == T2V_SWITCH]
        assert len(nodes) == 1 and nodes[0]["widgets_values"] == [False], "the official switch moved"
        nodes[0]["widgets_values"] = [SWITCHED[name]]
    return ui_to_api(ui, object_info)


def _as_official(name: str, graph: dict, bindings: dict, **overrides) -> dict:
    """The template filled as the official template's defaults are (first frame at 0, last at
    -1, both 0.7), the frame count `FRAMES`."""
    guides = [{"image": "first.png", "frame": 0, "strength": 0.7},
              {"image": "last.png", "frame": FRAMES - 1, "strength": 0.7}]
    return fill(graph, bindings, _values(name, graph, frames=FRAMES, guides=guides, **overrides))


def _plain(data):
    return json.loads(json.dumps(data))


@pytest.mark.parametrize("name", sorted(MODES))
def test_settings_follow_the_official_template(name, object_info):
    graph, bindings = _template(name)
    official = _official(name, object_info)
    theirs = _plain(settings(official))
    plain = _plain(settings(_as_official(name, graph, bindings, enhance_prompt=False)))
    enhanced = _plain(settings(_as_official(name, graph, bindings, enhance_prompt=True)))
    for key in sorted(set(theirs) | set(plain)):
        if key == "files":
            ours = {tuple(f) for f in enhanced["files"]}
            expected = {tuple(f) for f in theirs["files"]}
            assert expected <= ours and ours - expected == EXTRA_FILES.get(name, set()), name
        elif key == "enhancer":
            if (name, key) not in KNOWN_DEVIATIONS:
                assert enhanced[key] == theirs[key], f"{name}: enhancer differs"
        else:
            assert plain[key] == theirs[key], f"{name}: {key} differs from {MODES[name][1]}"
    ours_modes = _plain(mode_settings(_as_official(name, graph, bindings), FRAMES))
    theirs_modes = _plain(mode_settings(official, FRAMES))
    for key in sorted(set(ours_modes) | set(theirs_modes)):
        if (name, key) not in KNOWN_DEVIATIONS:
            assert ours_modes[key] == theirs_modes[key], f"{name}: {key} differs from {MODES[name][1]}"
    if name in ("ltx23_ia2v_fast", "ltx23_a2v_fast"):  # the deviation: the input audio as trimmed, not decoded
        assert ours_modes["audio_decode_from"] is None
        ids = ids_by_title(graph)
        assert graph[ids["Create Video"]]["inputs"]["audio"] == [ids["Trim Audio"], 0]
        assert theirs_modes["audio_decode_from"][:2] == ["LTXVSeparateAVLatent", 1]


def test_enhancer_deviations_are_the_named_ones(object_info):
    """2.3 keyframes: the family's enhancer as in LTX-2.3 i2v/t2v (no image); 2.5 keyframes: the
    official enhancer without its image."""
    i2v = _plain(settings(ui_to_api(load_json(OFFICIAL / "video_ltx2_3_t2v.json"), object_info)))
    graph, bindings = _template("ltx23_keyframes_fast")
    ours = _plain(settings(_as_official("ltx23_keyframes_fast", graph, bindings, enhance_prompt=True)))
    assert ours["enhancer"]["widgets"] == i2v["enhancer"]["widgets"]
    assert ours["enhancer"]["image_from"] is None
    assert ours["enhancer"]["clip"][0] == i2v["enhancer"]["clip"][0]  # the abliterated LoRA (1, 1)
    official = _plain(settings(_official("ltx25_keyframes_fast", object_info)))["enhancer"]
    graph, bindings = _template("ltx25_keyframes_fast")
    ours = _plain(settings(_as_official("ltx25_keyframes_fast", graph, bindings, enhance_prompt=True)))
    assert official["image_from"] == "LTXVPreprocess" and ours["enhancer"]["image_from"] is None
    assert {**ours["enhancer"], "image_from": None} == {**official, "image_from": None}


def test_mode_settings_read_the_official_values(object_info):
    """Spot checks of `mode_settings` on the official templates against FACTS-ltx2-families.md."""
    flf23 = mode_settings(_official("ltx23_keyframes_fast", object_info), FRAMES)
    assert [g[:2] for g in flf23["guides"]] == [[0, 0.7], [FRAMES - 1, 0.7]]
    assert flf23["guides"][0][2][2] == [("img_compression", 25)]
    resize = flf23["guides"][0][2][3]["image"]
    assert resize[2] == [("resize_type", "scale dimensions"), ("resize_type.crop", "center"),
                         ("scale_method", "nearest-exact")]
    assert flf23["samplers"] == [["SamplerEulerAncestral", [("eta", 0), ("s_noise", 1)]]]
    assert flf23["decode_from"][0] == "LTXVCropGuides"
    flf25 = mode_settings(_official("ltx25_keyframes_fast", object_info), FRAMES)
    assert flf25["guides"][1][2][2] == [("img_compression", 18)]
    ia2v = mode_settings(_official("ltx23_ia2v_fast", object_info), FRAMES)
    stage1 = ia2v["audio_latents"][0][1]
    assert stage1[0] == "SetLatentNoiseMask"
    assert stage1[3]["mask"][:3] == ["SolidMask", 0, [("value", 0)]]
    assert stage1[3]["samples"][3]["audio"][0] == "TrimAudioDuration"
    stage2 = ia2v["audio_latents"][1][1]
    assert stage2[:2] == ["LTXVSeparateAVLatent", 1]  # the stage-1 audio, mask and all


#: audio to video without a start image, pro (issue 19): ltx-pipelines' A2VidPipelineTwoStage on the
#: ltx23_t2v_pro graph; its sampling settings are held in tests/test_family_templates.py
#: (PIPELINE_23_A2V), its audio path here: the fast template's (the official ia2v's)
A2V_PRO = "ltx23_a2v_pro"


def _a2v_pro() -> tuple[dict, dict]:
    folder = WORKFLOWS / "ltx23"
    return load_json(folder / f"{A2V_PRO}.json"), load_json(folder / f"{A2V_PRO}.bindings.json")


def _audio_path(graph: dict) -> dict:
    """Where each stage's audio latent and the MP4's sound come from, and what the graph lacks."""
    concats = {n["_meta"]["title"]: n for n in _of(graph, "LTXVConcatAVLatent")}
    created = _of(graph, "CreateVideo")[0]
    return {
        "stages": {t: _describe(graph, *_src(graph, n, "audio_latent")) for t, n in sorted(concats.items())},
        "sound": _describe(graph, *_src(graph, created, "audio")),
        "absent": sorted({"LTXVAudioVAEDecode", "LTXVEmptyLatentAudio", "LTXVImgToVideoInplace", "LoadImage"}
                         - {n["class_type"] for n in graph.values()}),
    }


def test_a2v_pro_keeps_the_audio_as_the_fast_graph_does(object_info):
    """The pro graph, filled every way a job fills it, is valid against 0.33.0, fills as the
    package's filler does, and takes its audio as ltx23_a2v_fast: the trimmed input encoded and
    kept (noise mask 0) in stage 1, stage 1's audio (mask and all) in stage 2 (a2vid_two_stage.py
    :167-178, :223-236), the trimmed input as the MP4's sound (:246-248); no image, no empty or
    decoded audio latent."""
    from ltx_worker import templates

    graph, bindings = _a2v_pro()
    fast_graph, fast_bindings = _template("ltx23_a2v_fast")
    assert bindings["params"] == fast_bindings["params"], "the same job parameters reach both"
    package = templates.load_template(WORKFLOWS / "ltx23" / f"{A2V_PRO}.json")
    for enhance in (False, True):
        for audio in (True, False):
            values = _values(A2V_PRO, graph, enhance_prompt=enhance, audio=audio)
            filled = fill(graph, bindings, values)
            assert _check_graph()(filled, object_info) == [], f"enhance={enhance} audio={audio}"
            assert _canonical(package.fill(values)) == _canonical(filled)
    values = _values(A2V_PRO, graph)
    ours = _audio_path(fill(graph, bindings, values))
    fast = _audio_path(fill(fast_graph, fast_bindings, values))
    assert (ours["sound"], ours["absent"]) == (fast["sound"], fast["absent"])
    assert ours["stages"]["Stage 1 AV Latent"] == fast["stages"]["Stage 1 AV Latent"]
    assert ours["stages"]["Stage 2 AV Latent"][:2] == fast["stages"]["Stage 2 AV Latent"][:2]
    assert ours["absent"] == ["LTXVAudioVAEDecode", "LTXVEmptyLatentAudio", "LTXVImgToVideoInplace", "LoadImage"]
    assert ours["sound"][0] == "TrimAudioDuration"
    stage1 = ours["stages"]["Stage 1 AV Latent"]
    assert stage1[0] == "SetLatentNoiseMask" and stage1[3]["mask"][:3] == ["SolidMask", 0, [("value", 0.0)]]
    assert ours["stages"]["Stage 2 AV Latent"][:2] == ["LTXVSeparateAVLatent", 1]


# ---------------------------------------------------------------------------------------------
# (c) where LTXVAddGuide puts a single image
# ---------------------------------------------------------------------------------------------

_PROBE = r"""
import json, sys, torch
sys.argv = sys.argv[:1] + ["--cpu"]
import comfy.options
comfy.options.enable_args_parsing()  # ComfyUI in CPU mode, as main.py --cpu
from comfy_extras.nodes_lt import LTXVAddGuide

class FakeVAE:  # LTX-2 video VAE geometry: 8 frames and 32 px per latent cell
    downscale_index_formula = (8, 32, 32)
    def encode(self, pixels):
        return torch.zeros(1, 128, (pixels.shape[0] - 1) // 8 + 1, pixels.shape[1] // 32, pixels.shape[2] // 32)

out = []
for frames, indices in json.loads(sys.stdin.read()):
    latent = {"samples": torch.zeros(1, 128, (frames - 1) // 8 + 1, 2, 2)}
    positive, negative = [[torch.zeros(1, 1, 8), {}]], [[torch.zeros(1, 1, 8), {}]]
    for index in indices:
        image = torch.rand(1, 64, 64, 3)
        positive, negative, latent = LTXVAddGuide.execute(positive, negative, FakeVAE(), latent, image, index, 0.7).args
    keyframe_idxs = positive[0][1]["keyframe_idxs"]  # (batch, [t, h, w], token, [start, end])
    per_guide = keyframe_idxs[0, 0].reshape(len(indices), -1, 2)[:, 0].tolist()
    out.append({"latent_frames": latent["samples"].shape[2], "time": per_guide,
                "mask": latent["noise_mask"][0, 0, :, 0, 0].tolist()})
print(json.dumps(out))
"""


def test_single_image_guides_sit_at_their_pixel_frame(comfyui_dir):
    """ComfyUI's LTXVAddGuide (get_latent_index / append_keyframe): a one-image guide becomes
    extra latent tokens whose time position is exactly the requested pixel frame (no rounding to
    the 8-frame latent grid; the rounding applies to multi-frame guides only), strength s gives
    them noise mask 1 - s, and -1 resolves to frames - 1 for an 8k+1 frame count."""
    from ltx_worker.tinymodels import tree_has_ltx2

    if not tree_has_ltx2(comfyui_dir):
        pytest.skip("this ComfyUI tree has no LTX-2 model code (needs >= 0.8; 0.33.0 is the pin)")
    cases = [[121, [0, -1]], [121, [0, 120]], [121, [0, 40, 120]], [121, [41]], [25, [0, 12, 24]],
             [25, [24]], [25, [-1]]]
    run = subprocess.run([sys.executable, "-c", _PROBE], input=json.dumps(cases), cwd=comfyui_dir,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(comfyui_dir)})
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    by_case = {json.dumps(c): r for c, r in zip(cases, results, strict=True)}
    first_last = by_case[json.dumps([121, [0, -1]])]
    assert first_last == by_case[json.dumps([121, [0, 120]])]  # frames - 1 is the official -1
    assert first_last["time"] == [[0, 1], [120, 121]]
    assert first_last["latent_frames"] == 16 + 2  # 121 frames = 16 latent frames, + 1 token each
    assert by_case[json.dumps([121, [0, 40, 120]])]["time"] == [[0, 1], [40, 41], [120, 121]]
    assert by_case[json.dumps([121, [41]])]["time"] == [[41, 42]]
    assert by_case[json.dumps([25, [0, 12, 24]])]["time"] == [[0, 1], [12, 13], [24, 25]]
    assert by_case[json.dumps([25, [24]])] == by_case[json.dumps([25, [-1]])]
    mask = by_case[json.dumps([25, [0, 12, 24]])]["mask"]
    assert mask[:4] == [1.0] * 4 and all(abs(m - 0.3) < 1e-6 for m in mask[4:])


# ---------------------------------------------------------------------------------------------
# (d) end to end on the session's ComfyUI (tiny weights)
# ---------------------------------------------------------------------------------------------

TONE_HZ, TONE_RATE, TONE_S = 440.0, 44100, 1.0


def _needs_033(comfy) -> None:
    needed = {"LTXVAddGuide", "LTXVAudioVAEEncode", "TrimAudioDuration", "UNETLoader",
              "TextGenerateLTX2Prompt", "LTXVDualCFGGuider"}
    missing = needed - set(comfy.object_info)
    if missing or not (comfy.models_dir / "checkpoints" / "ltx-2.3-22b-distilled-fp8.safetensors").is_file():
        pytest.skip(f"ComfyUI {comfy.version} lacks {sorted(missing) or 'the LTX-2.3 tiny weights'} "
                    "(set COMFYUI_DIR or COMFYUI_ARCHIVE to ComfyUI 0.33.0)")


@pytest.fixture(scope="module")
def mode_inputs(comfy) -> dict:
    """Three guide pictures and a 1 s 440 Hz mono WAV (44.1 kHz, fading in) in the session
    ComfyUI's input folder."""
    comfy.input_dir.mkdir(parents=True, exist_ok=True)
    for seed in range(3):
        (comfy.input_dir / f"ltxw_mode_{seed}.png").write_bytes(make_test_image(160, 120, seed=seed))
    t = np.arange(int(TONE_RATE * TONE_S)) / TONE_RATE
    envelope = 0.1 + 0.5 * t / TONE_S  # a fade-in, so that only the aligned track matches
    tone = (envelope * np.sin(2 * math.pi * TONE_HZ * t) * 32767).astype("<i2")
    with wave.open(str(comfy.input_dir / "ltxw_tone.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(TONE_RATE)
        wav.writeframes(tone.tobytes())
    return {"tone": tone.astype(np.float64) / 32767}


def _run(comfy, graph: dict, dest: Path) -> tuple[Path, float]:
    """Run `graph`; the MP4 its "Save Video" wrote and the seconds the prompt took."""
    client = ComfyClient(comfy.url)
    start = time.monotonic()
    _, entry = client.run_prompt(graph, timeout_s=600)
    took = time.monotonic() - start
    [node_id] = [k for k, n in graph.items() if n["_meta"]["title"] == "Save Video"]
    files = [f for f in client.output_files(entry, node_id) if f.filename.endswith(".mp4")]
    assert files, entry
    return client.download(files[0], dest), took


def _video_facts(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24").astype(np.float32) for f in container.decode(video=0)]
        facts = {"width": video.width, "height": video.height, "fps": float(video.average_rate),
                 "frames": len(frames), "has_audio": bool(container.streams.audio), "pixels": np.stack(frames)}
    return facts


def _audio(path: Path) -> tuple[np.ndarray, int, float]:
    """The MP4's sound track: mono float samples, sample rate, and the stream's duration (s)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        declared = float(stream.duration * stream.time_base) if stream.duration else float("nan")
        mono = av.AudioResampler(format="fltp", layout="mono", rate=rate)
        chunks = [out.to_ndarray()[0] for frame in container.decode(stream) for out in mono.resample(frame)]
        chunks += [out.to_ndarray()[0] for out in mono.resample(None)]
    return np.concatenate(chunks).astype(np.float64), rate, declared


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    return float((a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum() + 1e-30))


@pytest.mark.parametrize("name", KEYFRAMES)
@pytest.mark.parametrize("count", [3, 1])
def test_keyframes_job_runs(comfy, mode_inputs, tmp_path, name, count):
    _needs_033(comfy)
    graph, bindings = _template(name)
    values = _values(name, graph, guides=_guides(count), filename_prefix=f"ltxw-modes/{name}-{count}")
    path, took = _run(comfy, fill(graph, bindings, values), tmp_path / "out.mp4")
    print(f"\n{name} with {count} guide(s): {took:.1f} s")
    facts = _video_facts(path)
    assert (facts["width"], facts["height"], facts["frames"], facts["fps"]) == (128, 128, 25, 24.0)
    assert facts["has_audio"]


def test_keyframes_guide_image_reaches_the_video(comfy, mode_inputs, tmp_path):
    """The same job with another guide picture gives another video (the guides are encoded and
    conditioned on; on random weights that is what can be seen of them)."""
    _needs_033(comfy)
    graph, bindings = _template("ltx23_keyframes_fast")
    videos = []
    for image in ("ltxw_mode_0.png", "ltxw_mode_2.png"):
        values = _values("ltx23_keyframes_fast", graph, filename_prefix=f"ltxw-modes/guide-{image}",
                         guides=[{"image": image, "frame": 12, "strength": 1.0}])
        path, _ = _run(comfy, fill(graph, bindings, values), tmp_path / f"{image}.mp4")
        videos.append(_video_facts(path)["pixels"])
    assert mean_abs(videos[0] - videos[1]) > 0


def _ia2v_graph(seed: int = 7, mask_value: float | None = None, decoded: bool = False) -> dict:
    """The image+audio template filled for the tone. `decoded`: the MP4 carries the decoded
    stage-2 audio latent instead (what the model kept; the official template's sound track);
    `mask_value`: the audio noise mask (1: the audio is generated, a control)."""
    graph, bindings = _template("ltx23_ia2v_fast")
    prefix = f"ltxw-modes/ia2v-{seed}-{mask_value}-{decoded}"
    filled = fill(graph, bindings, _values("ltx23_ia2v_fast", graph, seed=seed, filename_prefix=prefix))
    ids = ids_by_title(filled)
    if mask_value is not None:
        filled[ids["Audio Mask"]]["inputs"]["value"] = mask_value
    if decoded:
        filled["900"] = {"class_type": "LTXVAudioVAEDecode", "_meta": {"title": "Decode Audio"},
                         "inputs": {"samples": [ids["Stage 2 Separate AV"], 1],
                                    "audio_vae": [ids["Load Audio VAE"], 0]}}
        filled[ids["Create Video"]]["inputs"]["audio"] = ["900", 0]
    return filled


def _round_trip_graph() -> dict:
    """The input audio through the same trim and the 2.3 audio VAE (encode, decode) into an MP4
    made like the template's (CreateVideo + SaveVideo)."""
    graph, _ = _template("ltx23_ia2v_fast")
    ids = ids_by_title(graph)
    keep = {ids[t]: copy.deepcopy(graph[ids[t]]) for t in
            ("Load Audio VAE", "Load Audio", "Trim Audio", "Encode Audio", "Create Video", "Save Video")}
    keep[ids["Load Audio"]]["inputs"]["audio"] = "ltxw_tone.wav"
    keep[ids["Trim Audio"]]["inputs"].update(start_index=0.0, duration=1.0)
    keep["900"] = {"class_type": "LTXVAudioVAEDecode", "_meta": {"title": "Decode Audio"},
                   "inputs": {"samples": [ids["Encode Audio"], 0], "audio_vae": [ids["Load Audio VAE"], 0]}}
    keep["901"] = {"class_type": "EmptyImage", "_meta": {"title": "Frames"},
                   "inputs": {"width": 128, "height": 128, "batch_size": 25, "color": 0}}
    keep[ids["Create Video"]]["inputs"].update(images=["901", 0], audio=["900", 0], fps=24)
    keep[ids["Save Video"]]["inputs"]["filename_prefix"] = "ltxw-modes/ia2v-roundtrip"
    return keep


def test_image_audio_job_carries_the_input_audio(comfy, mode_inputs, tmp_path):
    """The MP4's sound track is the input audio: its duration (1.0 s) and its samples."""
    _needs_033(comfy)
    out, took = _run(comfy, _ia2v_graph(seed=7), tmp_path / "ia2v.mp4")
    facts = _video_facts(out)
    assert (facts["width"], facts["height"], facts["frames"], facts["fps"]) == (128, 128, 25, 24.0)
    samples, rate, declared = _audio(out)
    tone_at_rate = _tone_at(mode_inputs["tone"], rate)
    lag = _best_lag(samples, tone_at_rate)
    numbers = {"prompt_s": round(took, 1), "rate": rate, "input_s": TONE_S, "input_rate": TONE_RATE,
               "declared_s": round(declared, 4), "decoded_s": round(len(samples) / rate, 4),
               "aac_lag_samples": lag, "corr_input": round(_corr(samples[lag:], tone_at_rate), 6)}
    print("\nia2v sound track:", json.dumps(numbers))
    assert abs(declared - TONE_S) <= 1 / 24, numbers
    assert abs(len(samples) / rate - TONE_S) <= 1 / 24, numbers
    assert numbers["corr_input"] > 0.99, numbers


def test_image_audio_job_keeps_the_audio_latent(comfy, mode_inputs, tmp_path):
    """The audio latent the model denoises the video against is the input's, kept through both
    stages (noise mask 0, carried into stage 2 as official): decoded, it is the input's audio-VAE
    round trip exactly, whatever the seed; with mask 1 (generated audio) it is not. (On random
    weights the round trip does not resemble the tone: the tiny VAE and vocoder reconstruct
    nothing; it is also 0.93 s long for 1 s: ComfyUI's causal audio VAE decodes n latents to
    4n - 3 mel frames.)"""
    _needs_033(comfy)
    kept, _ = _run(comfy, _ia2v_graph(seed=7, decoded=True), tmp_path / "kept.mp4")
    other, _ = _run(comfy, _ia2v_graph(seed=8, decoded=True), tmp_path / "kept-seed8.mp4")
    generated, _ = _run(comfy, _ia2v_graph(seed=7, mask_value=1.0, decoded=True), tmp_path / "generated.mp4")
    reference, _ = _run(comfy, _round_trip_graph(), tmp_path / "roundtrip.mp4")
    samples, rate, declared = _audio(kept)
    ref_samples, ref_rate, ref_declared = _audio(reference)
    tone_at_rate = _tone_at(mode_inputs["tone"], rate)
    numbers = {
        "declared_s": round(declared, 4), "roundtrip_declared_s": round(ref_declared, 4),
        "corr_roundtrip": round(_corr(samples, ref_samples), 6),
        "corr_other_seed": round(_corr(samples, _audio(other)[0]), 6),
        "corr_generated_vs_roundtrip": round(_corr(_audio(generated)[0], ref_samples), 6),
        "corr_roundtrip_vs_input": round(_corr(ref_samples, tone_at_rate), 6),
    }
    print("\nia2v audio latent:", json.dumps(numbers))
    assert rate == ref_rate and declared == ref_declared and len(samples) == len(ref_samples), numbers
    assert numbers["corr_roundtrip"] > 0.999, numbers  # the input's latent ...
    assert numbers["corr_other_seed"] > 0.999, numbers  # ... whatever the seed
    assert numbers["corr_generated_vs_roundtrip"] < 0.9, numbers  # a generated track is not it
    assert mean_abs(_video_facts(kept)["pixels"] - _video_facts(other)["pixels"]) > 0, "the seed changes the video"


def test_a2v_pro_job_carries_the_input_audio(comfy, mode_inputs, tmp_path):
    """The pro graph (guided stage 1: LTXVDualCFGGuider, STG, modality guidance, the pack's
    rescale; then the distilled stage 2) runs on the session's ComfyUI, and the MP4's sound track
    is the input audio: its duration and its samples (128 x 128, 25 frames). Stage 1 runs 2 of its
    30 steps here: each guided step is 4 transformer passes, and the 30 cost about 40 s of CPU on
    the tiny weights; the 30 are held in tests/test_family_templates.py."""
    _needs_033(comfy)
    graph, bindings = _a2v_pro()
    filled = fill(graph, bindings, _values(A2V_PRO, graph, filename_prefix="ltxw-modes/a2v-pro"))
    scheduler = filled[ids_by_title(filled)["Stage 1 Scheduler"]]["inputs"]
    assert scheduler["steps"] == 30
    scheduler["steps"] = 2
    out, took = _run(comfy, filled, tmp_path / "a2v-pro.mp4")
    facts = _video_facts(out)
    assert (facts["width"], facts["height"], facts["frames"], facts["fps"]) == (128, 128, 25, 24.0)
    samples, rate, declared = _audio(out)
    tone_at_rate = _tone_at(mode_inputs["tone"], rate)
    lag = _best_lag(samples, tone_at_rate)
    numbers = {"prompt_s": round(took, 1), "declared_s": round(declared, 4),
               "corr_input": round(_corr(samples[lag:], tone_at_rate), 6)}
    print("\na2v pro sound track:", json.dumps(numbers))
    assert abs(declared - TONE_S) <= 1 / 24, numbers
    assert numbers["corr_input"] > 0.99, numbers


def _tone_at(tone: np.ndarray, rate: int) -> np.ndarray:
    """The input tone (TONE_S seconds at TONE_RATE) resampled to `rate`, to compare an MP4's sound with."""
    return np.interp(np.arange(int(TONE_S * rate)) / rate, np.arange(len(tone)) / TONE_RATE, tone)


def _best_lag(samples: np.ndarray, reference: np.ndarray, max_lag: int = 4096) -> int:
    """The shift (in samples, >= 0) that best lines `samples` up with `reference` (AAC priming)."""
    n = min(len(reference), len(samples) - max_lag)
    scores = [abs(_corr(samples[lag:lag + n], reference[:n])) for lag in range(0, max_lag, 1)]
    return int(np.argmax(scores))


def mean_abs(a: np.ndarray) -> float:
    return float(np.abs(a).mean())
