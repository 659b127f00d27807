"""Progress stages and throttling (pure logic; the worker-loop test sees them end to end)."""

from __future__ import annotations

import json

from ltx_worker.comfy.types import Progress
from ltx_worker.config import PROJECT_ROOT
from ltx_worker.progress import ProgressTracker, stage_of

GRAPH = json.loads((PROJECT_ROOT / "workflows" / "ltx2" / "ltx2_t2v_pro.json").read_text())


def node(title: str) -> str:
    return next(k for k, v in GRAPH.items() if v["_meta"]["title"] == title)


def test_stage_of_uses_class_types_and_the_stage_titles():
    assert stage_of(GRAPH, node("Stage 1 Sampling")) == "stage_1"
    assert stage_of(GRAPH, node("Stage 2 Sampling")) == "stage_2"
    assert stage_of(GRAPH, node("Spatial Upscale x2")) == "upscale"
    assert stage_of(GRAPH, node("Decode Video")) == "decode"
    assert stage_of(GRAPH, node("Save Video")) == "decode"
    assert stage_of(GRAPH, node("Load Checkpoint")) == "prepare"
    assert stage_of(GRAPH, "no-such-node") is None


def test_percent_rises_through_the_stages_and_never_falls():
    sent: list[dict] = []
    tracker = ProgressTracker(sent.append, interval_s=0, graph=GRAPH)
    tracker.stage_started("queued")
    tracker.on_comfy(Progress(node("Load Checkpoint"), 0, 0))
    for step in range(1, 21):
        tracker.on_comfy(Progress(node("Stage 1 Sampling"), step, 20))
    tracker.on_comfy(Progress(node("Stage 1 Separate AV"), 0, 0))  # a helper node after sampling
    tracker.on_comfy(Progress(node("Spatial Upscale x2"), 0, 0))
    for step in range(1, 4):
        tracker.on_comfy(Progress(node("Stage 2 Sampling"), step, 3))
    tracker.on_comfy(Progress(node("Decode Video"), 0, 0))
    tracker.stage_started("upload")
    tracker.stage_started("done")
    percents = [p["percent"] for p in sent]
    assert percents == sorted(percents) and percents[-1] == 100.0
    stages = [p["stage"] for p in sent]
    assert stages == sorted(stages, key=["queued", "prepare", "stage_1", "upscale", "stage_2",
                                         "decode", "upload", "done"].index)
    assert {"stage": "stage_1", "step": 20, "steps": 20, "percent": 55.0,
            "message": "stage 1: step 20/20"} in sent


def test_updates_of_one_stage_are_throttled_but_stage_changes_are_not():
    sent: list[dict] = []
    tracker = ProgressTracker(sent.append, interval_s=60, graph=GRAPH)
    for step in range(1, 21):
        tracker.on_comfy(Progress(node("Stage 1 Sampling"), step, 20))
    tracker.on_comfy(Progress(node("Spatial Upscale x2"), 0, 0))
    assert [p["stage"] for p in sent] == ["stage_1", "upscale"]
    assert tracker.percent == 55.0
