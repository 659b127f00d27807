"""Stopping the worker (issue 13): SIGTERM to entrypoint.sh with a job in flight ends the handler,
the supervisor and ComfyUI within seconds and reports the job; the supervisor stops its child with
SIGTERM (no 10 s wait ending in SIGKILL); a killed supervisor takes its child down; and a RunPod
worker without a GPU refuses to start.

Real processes throughout: entrypoint.sh with a real ComfyUI on tiny weights and RunPod's worker
loop against the job API stand-in; a sleeping Python child for the supervisor's own tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from ltx_worker.comfy.client import ComfyClient
from ltx_worker.comfy.process import write_extra_model_paths
from ltx_worker.comfy.supervisor import Supervisor
from ltx_worker.config import PROJECT_ROOT

from standins import RunPodJobApi
from support import free_port, proc_cmdline

ENTRYPOINT = PROJECT_ROOT / "entrypoint.sh"
TEST_NODES = PROJECT_ROOT / "tests" / "comfy_nodes"
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


# -- processes, by pid ------------------------------------------------------------------------

def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def cmdline(pid: int) -> str:
    """The command line as one string (arguments joined by spaces), "" when gone."""
    return " ".join(proc_cmdline(pid))


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = parent_of(int(entry.name))
            if ppid is not None:
                parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if alive(child):
                found.append(child)
                todo.append(child)
    return found


def wait_until(check, timeout_s: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def wait_gone(pids: list[int], timeout_s: float) -> float | None:
    """Seconds until none of `pids` runs, or None when one still does after `timeout_s`."""
    t0 = time.monotonic()
    if wait_until(lambda: not any(alive(p) for p in pids), timeout_s):
        return time.monotonic() - t0
    return None


def kill_tree(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_supervisor(tmp_path: Path, child: list[str]) -> tuple[subprocess.Popen, int]:
    """``python -m ltx_worker.comfy.supervisor`` running `child`; returns it and the child's pid."""
    pidfile = tmp_path / "child.pid"
    sup = subprocess.Popen([sys.executable, "-m", "ltx_worker.comfy.supervisor", "--pidfile", str(pidfile),
                            "--", *child], cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True)
    assert wait_until(lambda: pidfile.exists() and pidfile.read_text(), 20), "the supervisor started no child"
    return sup, int(pidfile.read_text())


# -- the supervisor ---------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_the_supervisor_stops_its_child_with_sigterm_at_once(tmp_path):
    sup, child = start_supervisor(tmp_path, SLEEPER)
    try:
        t0 = time.monotonic()
        sup.send_signal(signal.SIGTERM)
        code = sup.wait(10)
        took = time.monotonic() - t0
        err = sup.stderr.read()
        print(f"\nsupervisor stopped its child in {took:.2f} s")
        assert code == 0, err
        assert took < 2, f"the supervisor took {took:.1f} s to stop (10 s means it fell back to SIGKILL)"
        assert not alive(child)
        assert "exit -15" in err and "SIGKILL" not in err, err  # the child died of SIGTERM
    finally:
        kill_tree([sup.pid, child])


@pytest.mark.timeout(60)
def test_a_killed_supervisor_takes_its_child_down(tmp_path):
    sup, child = start_supervisor(tmp_path, SLEEPER)
    try:
        sup.kill()
        sup.wait(10)
        took = wait_gone([child], 5)
        assert took is not None, "the child outlived its SIGKILLed supervisor"
        print(f"\nchild gone {took:.2f} s after its supervisor was SIGKILLed")
    finally:
        kill_tree([child])


@pytest.mark.timeout(60)
def test_a_child_that_ignores_sigterm_gets_sigkill_after_the_grace(tmp_path):
    """Supervisor.stop from another thread (not a signal handler) also works, and escalates."""
    ready = tmp_path / "ready"
    child = [sys.executable, "-c", "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
             " pathlib.Path(sys.argv[1]).touch(); time.sleep(60)", str(ready)]
    sup = Supervisor(child, kill_after_s=0.5)
    box: dict = {}
    runner = threading.Thread(target=lambda: box.setdefault("code", sup.run()), daemon=True)
    runner.start()
    try:
        assert wait_until(ready.exists, 20), "the child did not start"
        t0 = time.monotonic()
        sup.stop()
        runner.join(10)
        assert box.get("code") == 0 and sup.child.returncode == -signal.SIGKILL
        assert 0.5 <= time.monotonic() - t0 < 3
    finally:
        if sup.child and sup.child.poll() is None:
            sup.child.kill()


# -- entrypoint.sh ----------------------------------------------------------------------------

@pytest.mark.timeout(150)
@pytest.mark.parametrize("mode", ["worker loop", "local API"])
def test_sigterm_to_the_entrypoint_mid_job_stops_everything_and_reports_the_job(mode, comfyui_dir, tiny_models,
                                                                              tmp_path):
    """A job runs through ./entrypoint.sh, in RunPod's worker loop (against the job API stand-in)
    or in the SDK's local API (/runsync); SIGTERM to the entrypoint while ComfyUI runs the prompt:
    the handler, the supervisor and ComfyUI (and every other process below the entrypoint) are
    gone within 10 s, ComfyUI died of SIGTERM, and the job is reported as a retryable CANCELLED
    failure (to RunPod's job API, or as the /runsync answer)."""
    port = free_port()
    extra = write_extra_model_paths(tmp_path / "models.yaml", tiny_models, [TEST_NODES])
    env = dict(
        os.environ, PYTHON=sys.executable, COMFYUI_DIR=str(comfyui_dir), COMFY_PORT=str(port),
        EXTRA_MODEL_PATHS=str(extra), COMFY_LOG=str(tmp_path / "comfyui.log"),
        COMFY_EXTRA_ARGS=f"--input-directory {tmp_path / 'in'} --output-directory {tmp_path / 'out'}",
        COMFY_INPUT_DIR=str(tmp_path / "in"), COMFY_OUTPUT_DIR=str(tmp_path / "out"),
        OUTPUT_DIR=str(tmp_path / "results"),
        HF_TOKEN="hf_never_in_comfyui", WEBHOOK_SECRET="whsec_bmV2ZXItaW4tY29tZnl1aS0wMTIz",  # issue 23, finding 11
    )
    api, args, answer = None, [], {}
    if mode == "worker loop":
        api = RunPodJobApi().start()
        # RUNPOD_* variables are set: without COMFY_CPU=1 a machine with no GPU refuses to start
        env.update(api.env(), COMFY_CPU="1")
    else:
        api_port = free_port()
        args = ["--rp_serve_api", "--rp_api_port", str(api_port)]
    log_path = tmp_path / "entrypoint.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(ENTRYPOINT), *args], cwd=PROJECT_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    tree: list[int] = []
    try:
        client = ComfyClient(f"http://127.0.0.1:{port}")
        client.wait_ready(120)
        model = "ltx-2-t2v" if "LTXAVTextEncoderLoader" in client.object_info() else "ltxv-t2v"
        job = {"model": model, "prompt": "a slow river under a bridge", "duration": 10, "seed": 7}
        if api is not None:
            api.add_job("scale-down", job)
        else:
            def runsync() -> None:
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline and "body" not in answer:
                    try:
                        answer["body"] = requests.post(f"http://127.0.0.1:{api_port}/runsync", json={"input": job},
                                                       timeout=120).json()
                    except requests.ConnectionError:  # the local API is not listening yet
                        time.sleep(0.2)

            threading.Thread(target=runsync, daemon=True).start()

        def running() -> bool:
            return bool(requests.get(client.base_url + "/queue", timeout=5).json()["queue_running"])

        assert wait_until(running, 90, 0.1), "the job never ran in ComfyUI:\n" + log_path.read_text()[-3000:]
        tree = descendants(proc.pid)
        kids = [p for p in tree if parent_of(p) == proc.pid]
        handler = [p for p in kids if "handler.py" in cmdline(p)]
        supervisor = [p for p in kids if "ltx_worker.comfy.supervisor" in cmdline(p)]
        comfy = [p for p in tree if supervisor and parent_of(p) == supervisor[0]]
        assert handler and supervisor and comfy, f"missing processes in {[cmdline(p) for p in tree]}"
        comfy_env = Path(f"/proc/{comfy[0]}/environ").read_bytes()
        assert b"bmV2ZXItaW4tY29tZnl1aS0wMTIz" not in comfy_env and b"hf_never_in_comfyui" not in comfy_env

        proc.send_signal(signal.SIGTERM)
        took = wait_gone([proc.pid, *tree], 10)
        log_text = log_path.read_text()
        print(f"\n{mode}: SIGTERM to entrypoint.sh mid-job; handler {handler}, supervisor {supervisor}, "
              f"ComfyUI {comfy} and {len(tree) - 3} other process(es) gone in "
              f"{'more than 10' if took is None else f'{took:.2f}'} s")
        assert took is not None, "still running 10 s after SIGTERM: " + ", ".join(
            f"{p} {cmdline(p)[:80]}" for p in [proc.pid, *tree] if alive(p)) + "\n" + log_text[-3000:]
        assert proc.wait(5) == 143, log_text[-3000:]
        assert "cancelled; stopping its prompt in ComfyUI" in log_text, log_text[-3000:]
        comfy_log = (tmp_path / "comfyui.log").read_text()
        assert "ComfyUI stopped (exit -15)" in comfy_log, comfy_log[-2000:]  # SIGTERM, not SIGKILL
        if api is not None:
            report = api.final("scale-down")
        else:
            assert wait_until(lambda: "body" in answer, 5), "no /runsync answer"
            report = answer["body"]
        assert report is not None, "the interrupted job was not reported"
        error = json.loads(report["error"])  # what RunPod shows as the FAILED job's error
        assert error["code"] == "CANCELLED" and error["retryable"] is True, report
        results = tmp_path / "results"
        assert not (results.exists() and list(results.iterdir())), list(results.iterdir())  # finding 8
    finally:
        kill_tree([proc.pid, *tree])
        if api is not None:
            api.stop()


@pytest.mark.timeout(60)
def test_a_runpod_worker_without_a_gpu_refuses_to_start(comfyui_dir, tmp_path):
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                           capture_output=True, text=True, check=True)
    if probe.stdout.strip() == "True":
        pytest.skip("this machine has a GPU")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "COMFY_CPU"}
    env.update(RUNPOD_POD_ID="test-pod", PYTHON=sys.executable, COMFYUI_DIR=str(comfyui_dir), COMFY_PORT=str(port))
    t0 = time.monotonic()
    out = subprocess.run([str(ENTRYPOINT)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=50)
    took = time.monotonic() - t0
    print(f"\nrefused in {took:.1f} s")
    assert out.returncode == 3, out.stderr
    assert "this RunPod worker has no usable GPU" in out.stderr and "COMFY_CPU=1" in out.stderr, out.stderr
    assert "[supervisor]" not in out.stderr and "Starting server" not in out.stderr  # ComfyUI never started
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/system_stats", timeout=2)
