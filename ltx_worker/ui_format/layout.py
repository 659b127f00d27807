"""Where the generated UI workflow puts its nodes: one group per stage (models, prompt, image and
inputs, stage 1, upscale, stage 2, decode and save), laid out left to right, each node sized as
LiteGraph draws it.
"""

from __future__ import annotations

import re

from ..graph import Graph, is_link, title_of
from .widgets import Slot, _opts, _slot_spec

#: Body height (below the title bar) of a socket row and of a widget row, as LiteGraph draws them.
_SLOT_H, _WIDGET_H, _BODY_PAD, _TITLE_H = 20, 24, 14, 30
_MULTILINE_H = 150
_NODE_W, _WIDE_W = 300, 420
_GAP_Y, _GAP_X, _GROUP_PAD, _GROUP_TITLE = 36, 50, 24, 46
_MAX_COLUMN_H = 1250

#: (key, group title, group colour) in the left-to-right order of the layout.
STAGES = (
    ("models", "Models", "#3f789e"),
    ("prompt", "Prompt", "#8A8"),
    ("inputs", "Image and inputs", "#b58b2a"),
    ("stage1", "Stage 1", "#a1309b"),
    ("upscale", "Upscale", "#88A"),
    ("stage2", "Stage 2", "#b06634"),
    ("output", "Decode and save", "#444"),
)
_STAGE_INDEX = {key: i for i, (key, _title, _colour) in enumerate(STAGES)}

_BY_CLASS = {
    "models": {"CheckpointLoaderSimple", "UNETLoader", "VAELoader", "CLIPLoader", "DualCLIPLoader",
               "LTXAVTextEncoderLoader", "LTXVAudioVAELoader", "LatentUpscaleModelLoader",
               "LoraLoaderModelOnly", "LoraLoader", "LTXWCameraLoRAPreset", "LoadMoGeModel",
               "UpscaleModelLoader", "CLIPVisionLoader", "ControlNetLoader"},
    "prompt": {"CLIPTextEncode", "LTXVConditioning", "TextGenerateLTX2Prompt", "PreviewAny",
               "ConditioningZeroOut"},
    "inputs": {"LoadImage", "LoadVideo", "LoadAudio", "ResizeImageMaskNode", "LTXVPreprocess",
               "ImageScaleBy", "ImageScale", "GetImageSize", "GetVideoComponents", "Canny",
               "ImageFromBatch", "TrimAudioDuration", "SolidMask", "MoGeInference", "MoGeRender",
               "ComfyMathExpression", "ComfySwitchNode", "EmptyImage", "LTXVAudioVAEEncode",
               "SetLatentNoiseMask", "PreviewImage"},
    "stage1": {"SamplerCustomAdvanced", "SamplerCustom", "KSampler", "RandomNoise", "KSamplerSelect",
               "CFGGuider", "LTXVDualCFGGuider", "ManualSigmas", "LTXVScheduler", "BasicScheduler",
               "LTXVConcatAVLatent", "LTXVSeparateAVLatent", "LTXVImgToVideoInplace", "LTXVImgToVideo",
               "LTXVAddGuide", "EmptyLTXVLatentVideo", "LTXVEmptyLatentAudio", "LTXVModalityGuidance",
               "LTXVSpatioTemporalGuidance", "SamplerEulerAncestral", "GetICLoRAParameters"},
    "upscale": {"LTXVLatentUpsampler", "LTXVCropGuides", "LatentUpscale", "LatentUpscaleBy"},
    "output": {"VAEDecode", "VAEDecodeTiled", "LTXVAudioVAEDecode", "CreateVideo", "SaveVideo",
               "SaveImage", "SaveAudio", "SaveAnimatedWEBP"},
}


def stage_of(node: dict) -> str | None:
    """The stage a node belongs to by its title (``Stage 1 ...``/``Stage 2 ...``) or class;
    None when neither says (`layout_stages` then places it next to its neighbours)."""
    title = title_of(node) or ""
    match = re.match(r"stage\s*([12])\b", title, re.IGNORECASE)
    if match:
        return f"stage{match.group(1)}"
    if re.search(r"upscal", title, re.IGNORECASE):
        return "upscale"
    cls = node.get("class_type", "")
    for stage, classes in _BY_CLASS.items():
        if cls in classes:
            return stage
    if cls.endswith("Loader"):
        return "models"
    return None


def layout_stages(graph: Graph) -> dict[str, str]:
    """node id -> stage key for every node: `stage_of`, else the earliest stage of its consumers
    (else the latest of its sources, else ``stage1``)."""
    stages = {nid: stage_of(node) for nid, node in graph.items()}
    sources = {nid: [str(v[0]) for v in node.get("inputs", {}).values() if is_link(v) and str(v[0]) in graph]
               for nid, node in graph.items()}
    users: dict[str, list[str]] = {nid: [] for nid in graph}
    for nid, srcs in sources.items():
        for src in srcs:
            users[src].append(nid)
    for _ in range(len(graph)):
        changed = False
        for nid in graph:
            if stages[nid] is not None:
                continue
            near = [stages[u] for u in users[nid] if stages[u]] or [stages[s] for s in sources[nid] if stages[s]]
            if near:
                pick = min if any(stages[u] for u in users[nid]) else max
                stages[nid] = pick(near, key=_STAGE_INDEX.__getitem__)
                changed = True
        if not changed:
            break
    return {nid: stage or "stage1" for nid, stage in stages.items()}


def _depths(graph: Graph) -> dict[str, int]:
    """Longest path from a source node, for ordering nodes top to bottom within a stage."""
    memo: dict[str, int] = {}

    def depth(nid: str, seen: frozenset) -> int:
        if nid in memo:
            return memo[nid]
        srcs = [str(v[0]) for v in graph[nid].get("inputs", {}).values()
                if is_link(v) and str(v[0]) in graph and str(v[0]) not in seen]
        memo[nid] = 1 + max((depth(s, seen | {nid}) for s in srcs), default=-1)
        return memo[nid]

    for nid in graph:
        depth(nid, frozenset())
    return memo


def _node_size(schema: dict | None, slots: list[Slot], outputs: int, layout: list[tuple[str, str]]) -> list[float]:
    sockets = sum(1 for s in slots if not s.widget)
    widgets = [name for name, kind in layout
               if not (kind == "value" and _opts(_slot_spec(slots, name)).get("hidden"))]
    multiline = sum(1 for s in slots if s.widget and s.spec is not None and _opts(s.spec).get("multiline"))
    height = max(sockets, outputs) * _SLOT_H + len(widgets) * _WIDGET_H + _BODY_PAD
    height += multiline * (_MULTILINE_H - _WIDGET_H)
    if any(kind in ("upload", "ui") for _name, kind in layout):
        height += 240  # the image/video preview under an upload widget
    width = _WIDE_W if multiline else _NODE_W
    return [float(width), float(height)]


def _place(nodes: list[dict], stages: dict[str, str], depths: dict[str, int]) -> list[dict]:
    """Set each node's ``pos``, stage by stage from left to right; returns the groups."""
    by_stage: dict[str, list[dict]] = {}
    for node in nodes:
        by_stage.setdefault(stages[node["_nid"]], []).append(node)
    has_stage2 = "stage2" in by_stage
    groups: list[dict] = []
    x = 0.0
    for key, title, colour in STAGES:
        members = by_stage.get(key)
        if not members:
            continue
        members.sort(key=lambda n: (depths[n["_nid"]], n["id"]))
        columns: list[list[dict]] = [[]]
        height = 0.0
        for node in members:
            h = node["size"][1] + _TITLE_H
            if columns[-1] and height + h > _MAX_COLUMN_H:
                columns.append([])
                height = 0.0
            columns[-1].append(node)
            height += h + _GAP_Y
        left = x + _GROUP_PAD
        bottom = 0.0
        for column in columns:
            y = _GROUP_TITLE + _TITLE_H
            width = max(n["size"][0] for n in column)
            for node in column:
                node["pos"] = [left, y]
                y += node["size"][1] + _TITLE_H + _GAP_Y
            bottom = max(bottom, y)
            left += width + _GAP_X
        right = left - _GAP_X + _GROUP_PAD
        label = "Sampling" if key == "stage1" and not has_stage2 else title
        groups.append({"id": len(groups) + 1, "title": label,
                       "bounding": [x, 0.0, right - x, bottom - _GAP_Y + _GROUP_PAD],
                       "color": colour, "font_size": 24, "flags": {}})
        x = right + _GAP_X * 2
    return groups
