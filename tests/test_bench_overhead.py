"""The overhead benchmark cannot rot unseen (issue 22): its seam still fits the worker, and
``python -m bench.overhead --pairs 1`` runs the smallest job against the session's ComfyUI.

The smoke run attaches to the `comfy` fixture's server (``--comfy-url``, its log and folders)
instead of starting its own, and runs two jobs: one through the worker, one through the
reference client (``--no-cold --no-proposed``; the worker's job may load the models, which the
table then shows). It checks that the table prints, that the worker / reference wall-time ratio
is a finite number, that every part the seam measures was seen, and that nothing of the
benchmark's stays in ComfyUI's output folder. Exit status 1 (a target missed on this loaded CPU)
is a measurement, not a failure.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest

from bench.overhead.proposed import ProposedComfyClient
from bench.overhead.seam import JobTrace, SeamError, timed_client
from ltx_worker.comfy.client import ComfyClient
from ltx_worker.config import PROJECT_ROOT

#: The smallest job, on every ComfyUI the suite runs (0.3.75 and 0.33.0): LTX-Video 0.9 is one
#: sampling stage and no sound track; the benchmark's job is 1:1 720p (704x704), 2 s.
SMOKE_MODEL = "ltxv-t2v"
NOWHERE = "http://127.0.0.1:9"


def test_the_seam_fits_the_worker_client() -> None:
    """Every client call the benchmark times exists, and the proposed client still matches the
    private ``_handle`` it overrides."""
    client = timed_client(ComfyClient, NOWHERE, trace=JobTrace())
    assert isinstance(client, ComfyClient)
    ProposedComfyClient(NOWHERE)


def test_a_client_without_a_timed_call_is_refused() -> None:
    """A renamed client call stops the benchmark instead of being measured as zero."""

    class Renamed(ComfyClient):
        download = None

    with pytest.raises(SeamError, match="download"):
        timed_client(Renamed, NOWHERE, trace=JobTrace())


def test_a_job_without_a_stage_is_refused() -> None:
    """A job whose handler reported no ``upload`` stage (or made no download, no clean-up) is
    not measured."""
    trace = JobTrace()
    for name in ("run_prompt", "submit"):
        with trace.timing(name):
            pass
    trace.on_progress({}, {"stage": "queued"})
    trace.on_progress({}, {"stage": "done"})
    trace.entry = {"status": {"messages": [["execution_start", {}], ["execution_success", {}]]}}
    with pytest.raises(SeamError, match="call download, call forget, stage upload"):
        trace.require("worker run 1")


def test_smoke_run_prints_the_table_and_a_finite_ratio(comfy, tmp_path) -> None:
    """``--pairs 1`` on the smallest job, against the session's ComfyUI (module doc)."""
    raw = tmp_path / "run.json"
    command = [
        sys.executable, "-m", "bench.overhead", "--pairs", "1", "--no-cold", "--no-proposed",
        "--model", SMOKE_MODEL,
        "--comfy-url", comfy.url, "--comfy-log", str(comfy.log_path),
        "--comfy-input-dir", str(comfy.input_dir), "--comfy-output-dir", str(comfy.output_dir),
        "--json", str(raw), "--quiet",
    ]
    out = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=540)
    assert out.returncode in (0, 1), out.stdout[-3000:] + out.stderr[-5000:]

    assert f"{SMOKE_MODEL} fast 720p 1:1 2 s on ComfyUI {comfy.version}" in out.stdout
    for row in ("wall time, median / p90", "added = wall - ComfyUI execution", "ratio wall / reference wall"):
        assert row in out.stdout, out.stdout
    found = re.search(r"ratio worker / reference wall time \(median of 1 rounds\): (\S+)", out.stdout)
    assert found, out.stdout
    ratio = float(found.group(1))
    assert math.isfinite(ratio) and ratio > 0

    report = json.loads(raw.read_text())
    worker = report["rounds"][0]["worker"]
    for part in ("comfy_s", "submit_s", "download_s", "deliver_s", "cleanup_s"):
        assert worker[part] > 0, (part, worker)
    assert worker["timings"]["total_s"] > 0
    assert report["rounds"][0]["reference"]["wall_s"] > 0
    assert not [p for p in comfy.output_dir.rglob("*") if p.is_file() and "bench" in p.name], "files left"
