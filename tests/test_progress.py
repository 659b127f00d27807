"""Progress stages and throttling (pure logic; the worker-loop test sees them end to end)."""

from __future__ import annotations

import json
import time

from ltx_worker.comfy.types import Progress
from ltx_worker.config import PROJECT_ROOT
from ltx_worker.progress import ProgressTracker, stage_of
from ltx_worker.progress_sender import OrderedProgressSender

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


def test_progress_updates_are_sent_in_order_and_drained():
    """RunPod's own progress_update starts a thread per update; ours sends from one thread.

    The send below is a stand-in whose first calls are the slowest (a real network cannot be
    made to answer slower for earlier requests on demand): with a thread per update, the
    later ones would arrive first.
    """
    arrived = []
    delays = iter([0.05, 0.03, 0.01, 0.0, 0.0])

    def send(job, payload):
        time.sleep(next(delays))
        arrived.append((job["id"], payload["percent"]))

    sender = OrderedProgressSender(send)
    for percent in (2.0, 3.0, 12.0, 17.4, 38.9):
        sender({"id": "j1"}, {"percent": percent})
    assert sender.drain(5.0)
    assert arrived == [("j1", p) for p in (2.0, 3.0, 12.0, 17.4, 38.9)]


def test_a_failing_progress_send_does_not_stop_later_ones():
    arrived = []

    def send(job, payload):
        if payload["percent"] == 1.0:
            raise RuntimeError("connection reset")  # stands in for a send that fails
        arrived.append(payload["percent"])

    sender = OrderedProgressSender(send)
    sender({"id": "j"}, {"percent": 1.0})
    sender({"id": "j"}, {"percent": 2.0})
    assert sender.drain(5.0) and arrived == [2.0]
    slow = OrderedProgressSender(lambda job, payload: time.sleep(0.5))
    slow({"id": "j"}, {"percent": 1.0})
    assert not slow.drain(0.05)  # time ran out; the update is still sent later
    assert slow.drain(5.0)
