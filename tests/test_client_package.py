"""The client distribution (clients/python) against a loopback stand-in of RunPod's endpoint API.

`standins.RunPodStandIn` serves /v2/{endpoint_id}/run, /runsync, /status/{id}, /cancel/{id}, /health and
/purge-queue on 127.0.0.1, checks the bearer key, and plays each job a script of status objects
(IN_QUEUE, IN_PROGRESS with the worker's progress payloads, then COMPLETED, FAILED with the
worker's error shape, CANCELLED or TIMED_OUT), answering 429 with Retry-After on demand. The
real worker does not run here (tests/test_client_contract.py holds the contract to it). One
test installs the distribution with pip into a fresh venv and runs a job from there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parents[1]
CLIENT_DIR = ROOT / "clients" / "python"
sys.path.insert(0, str(CLIENT_DIR / "src"))

import ltx_video_client as lvc  # noqa: E402
from ltx_video_client import cli as lvc_cli  # noqa: E402
from ltx_video_client.errors import RETRYABLE, ErrorCode  # noqa: E402

from standins import RunPodStandIn, job_output  # noqa: E402

KEY, ENDPOINT = "rp-test-key", "ep-standin"
JOB = {"model": "ltx-2.3-i2v", "prompt": "a lighthouse at dusk", "image_urls": ["https://example.com/a.jpg"]}
SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


@pytest.fixture
def standin():
    server = RunPodStandIn(ENDPOINT, KEY)
    yield server
    server.close()


class Sleeps(list):
    """A `sleep` that records what the client asked for and waits only a moment."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds, 0.005))


@pytest.fixture
def client(standin):
    sleeps = Sleeps()
    with lvc.LTXClient(ENDPOINT, KEY, base_url=standin.url, poll=lvc.PollPolicy(initial_s=0.01, max_s=0.02),
                       sleep=sleeps) as c:
        c.sleeps = sleeps
        yield c


def test_submit_and_wait_with_progress(standin, client):
    seen: list[lvc.Progress] = []
    handle = client.submit({**JOB, "deadline_s": 600, "webhook_url": "https://studio.example/hook"})
    output = handle.wait(on_progress=seen.append)
    assert isinstance(output, lvc.JobOutput) and output.video_url.endswith(f"{handle.job_id}.mp4")
    assert output.video.frames == 241 and output.settings.family == "ltx23"
    assert [(p.stage, p.percent) for p in seen] == [("inputs", 1.0), ("stage_1", 34.4), ("stage_2", 74.0)]
    (run,) = standin.posts("run")
    assert run["headers"]["Authorization"] == f"Bearer {KEY}"
    assert set(run["body"]) == {"input", "policy"}  # never RunPod's unsigned "webhook"
    assert run["body"]["input"]["webhook_url"] == "https://studio.example/hook"
    assert run["body"]["policy"] == {"executionTimeout": 720_000, "ttl": (3600 + 720 + 1800) * 1000}
    assert client.status(handle.job_id).status == "COMPLETED"


def test_no_deadline_no_policy_and_bad_key(standin, client):
    client.submit(JOB)
    assert "policy" not in standin.posts("run")[0]["body"]
    with lvc.LTXClient(ENDPOINT, "wrong", base_url=standin.url) as bad, pytest.raises(lvc.APIError) as err:
        bad.submit(JOB)
    assert err.value.status_code == 401 and "RUNPOD_API_KEY" in str(err.value)


def test_an_impossible_job_is_refused_before_any_request(standin, client):
    with pytest.raises(lvc.InvalidInputError) as err:
        client.submit({**JOB, "model": "ltx-2.5-i2v", "resolution": "2160p", "duration": 15})
    assert err.value.message.startswith("duration: 15 s at 2160p is over LTX-2.5 (22B)'s limit of 10 s")
    assert err.value.source == "client" and not err.value.retryable
    with pytest.raises(lvc.InvalidInputError, match=r"audio: must be JSON true or false, not \"yes\""):
        client.run_sync({**JOB, "audio": "yes"})
    assert standin.requests == []


@pytest.mark.parametrize("code", [c.value for c in ErrorCode])
def test_each_error_code_is_its_own_exception(client, code):
    with pytest.raises(lvc.JobFailed) as err:
        client.run({**JOB, "prompt": f"fail {code}"})
    assert type(err.value) is lvc.ERROR_CLASSES[ErrorCode(code)]
    assert err.value.code.value == code and err.value.message == f"the worker says {code}"
    assert err.value.retryable is RETRYABLE[ErrorCode(code)] and err.value.source == "worker"


def test_runpod_end_states_and_sdk_crashes(client):
    with pytest.raises(lvc.RunPodTimedOutError) as timed_out:
        client.run({**JOB, "prompt": "timed out"})
    assert isinstance(timed_out.value, lvc.JobTimeoutError) and timed_out.value.source == "runpod"
    handle = client.submit({**JOB, "prompt": "forever running"})
    assert client.cancel(handle.job_id).status == "CANCELLED"
    with pytest.raises(lvc.RunPodCancelledError):
        handle.wait()
    with pytest.raises(lvc.InternalWorkerError) as crash:
        client.run({**JOB, "prompt": "crash now"})
    assert "RuntimeError" in crash.value.message and "Traceback" not in crash.value.message


def test_wait_timeout(client):
    handle = client.submit({**JOB, "prompt": "forever running"})
    with pytest.raises(lvc.WaitTimeoutError) as err:
        client.wait(handle.job_id, timeout_s=0.2)
    assert err.value.job_id == handle.job_id and err.value.last_status == "IN_PROGRESS"


def test_retry_policy_resubmits_with_the_same_external_id(standin, client):
    client.retry = lvc.RetryPolicy(max_attempts=3, backoff_s=0.5)
    handle = client.submit({**JOB, "prompt": "flaky worker"})
    output = handle.wait()
    bodies = [r["body"]["input"] for r in standin.posts("run")]
    assert len(bodies) == 2 and len(handle.job_ids) == 2 and output.external_id == bodies[0]["external_id"]
    assert bodies[0] == bodies[1] and bodies[0]["external_id"].startswith("ltxc_")
    assert 0.5 in client.sleeps
    with pytest.raises(lvc.OutOfMemoryError):  # retryable, but attempts run out
        client.run({**JOB, "prompt": "fail OUT_OF_MEMORY", "external_id": "order-9"})
    assert standin.submissions["order-9"] == 3
    with pytest.raises(lvc.GenerationFailedError):  # not retryable: sent once
        client.run({**JOB, "prompt": "fail GENERATION_FAILED", "external_id": "order-10"})
    assert standin.submissions["order-10"] == 1


def test_429_retry_after_is_honoured(standin, client):
    standin.throttle, standin.retry_after = 2, "3"
    handle = client.submit(JOB)
    assert client.sleeps[:2] == [3.0, 3.0] and len(standin.posts("run")) == 3
    standin.throttle = 99
    with pytest.raises(lvc.RateLimitedError) as err:
        client.status(handle.job_id)
    assert err.value.retry_after_s == 3.0
    standin.throttle, standin.retry_after = 1, "1"  # the real clock, once
    with lvc.LTXClient(ENDPOINT, KEY, base_url=standin.url) as real:
        started = time.monotonic()
        assert real.health().workers.idle == 1
        assert time.monotonic() - started >= 1.0


def test_run_sync_health_and_purge(standin, client):
    assert client.run_sync(JOB, wait_s=5).video.has_audio
    assert standin.posts("runsync")[0]["path"].endswith("/runsync?wait=5000")
    standin.runsync_frames = 1  # RunPod's wait ran out while the job was queued: the client goes on polling
    assert client.run_sync(JOB).seed == 42
    queued = [client.submit(JOB) for _ in range(3)]
    health = client.health()
    assert health.queue_depth == 3 and health.jobs.completed == 2
    assert client.purge_queue()["removed"] == 3
    with pytest.raises(lvc.RunPodCancelledError):
        queued[0].wait()


def _signed(body: bytes, secret: str = SECRET, *, age_s: float = 0, msg_id: str | None = None) -> dict:
    when = datetime.now(tz=UTC) - timedelta(seconds=age_s)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, when, body), "Content-Type": "application/json"}


def test_verify_webhook():
    ok = json.dumps({"type": "video.succeeded", "timestamp": "2026-12-01T00:00:00+00:00",
                     "data": {"job_id": "job-1", "external_id": "order-1",
                              "output": job_output("job-1", "order-1")}}).encode()
    event = lvc.verify_webhook(ok, _signed(ok), SECRET)
    assert event.succeeded and event.output().video_url.endswith("job-1.mp4") and event.data.external_id == "order-1"
    with pytest.raises(lvc.WebhookSignatureError):
        lvc.verify_webhook(ok.replace(b"order-1", b"order-2"), _signed(ok), SECRET)
    with pytest.raises(lvc.WebhookSignatureError):
        lvc.verify_webhook(ok, _signed(ok, "whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA=="), SECRET)
    with pytest.raises(lvc.WebhookUnsignedError):
        lvc.verify_webhook(ok, {"Content-Type": "application/json"}, SECRET)
    with pytest.raises(lvc.WebhookStaleError):
        lvc.verify_webhook(ok, _signed(ok, age_s=600), SECRET)
    seen = lvc.MemorySeenStore()
    headers = _signed(ok)
    lvc.verify_webhook(ok, headers, SECRET, seen=seen)
    with pytest.raises(lvc.WebhookReplayError):
        lvc.verify_webhook(ok, headers, SECRET, seen=seen)
    bad = json.dumps({"type": "video.failed", "timestamp": "t", "data": {"job_id": "job-2", "external_id": None,
                      "error": {"code": "UPLOAD_FAILED", "message": "the bucket said 403", "retryable": True}}})
    event = lvc.verify_webhook(bad, _signed(bad.encode()), SECRET)
    with pytest.raises(lvc.UploadFailedError) as err:
        event.output()
    assert err.value.retryable and err.value.job_id == "job-2"


def test_newer_worker_output_fields_are_ignored_with_a_warning():
    from ltx_video_client.outputs import parse_output

    with pytest.warns(UserWarning, match="unknown to this client, ignored: next_year"):
        assert parse_output({**job_output("j", None), "next_year": 1}).seed == 42
    with pytest.raises(ValueError):  # pydantic's ValidationError: a missing field is not forgiven
        parse_output({k: v for k, v in job_output("j", None).items() if k != "seed"})


def _bench_run(gpu_name: str = "NVIDIA H100 80GB HBM3", scale: str = "real") -> dict:
    """A run of bench/gpu_cost's own shape (its `_item` rows, stages as `pipeline.run_point` reports them)."""
    from bench.gpu_cost import configs
    from bench.gpu_cost.__main__ import _item

    items = []
    for p in configs.POINTS:
        item = _item("point", p, p.key, configs.MAIN_WEIGHT_DTYPE, None, configs)
        item.update(status="ok", stages={"stage1": {"seconds": 20.0}, "upscale": {"seconds": 1.0},
                                         "stage2": {"seconds": 12.0}, "decode_video": {"seconds": 6.0},
                                         "decode_audio": {"seconds": 1.0}})
        items.append(item)
    return {"meta": {"scale": scale, "gpu_name": gpu_name, "started": "2027-01-05 10:00", "price_per_hour": 4.18},
            "items": items}


def test_quote(tmp_path, monkeypatch):
    from bench.gpu_cost import report

    q = lvc.quote({"model": "ltx-2-t2v", "prompt": "a quote"})
    assert q.basis.kind == "estimate" and q.gpu_seconds == 62.0 and q.usd == round(62 * 0.00116, 6)
    assert q.price.date == "2026-06-08" and "FACTS.md" in q.price.source
    id_lora = lvc.quote({**JOB, "reference_audio_url": "https://example.com/v.wav"})
    plain = lvc.quote(JOB)
    assert id_lora.gpu_seconds - 2 == pytest.approx((plain.gpu_seconds - 2) * 19 / 11, abs=0.2)
    assert lvc.quote(JOB, "A100").usd < plain.usd and lvc.quote(JOB, usd_per_s=0.001).usd == round(
        plain.gpu_seconds * 0.001, 6)
    run = _bench_run()
    path = tmp_path / "benchmarks-gpu.json"
    path.write_text(json.dumps(run))
    monkeypatch.setenv("LTX_GPU_COST_JSON", str(path))
    measured = lvc.quote({"model": "ltx-2.3-t2v", "prompt": "measured", "fps": 25})  # the ltx23 point: 25 fps
    row = next(r for r in report.rows(run) if r["point"] == "ltx23-fast-720p-10s")
    assert measured.basis.kind == "measured" and measured.basis.gpu == "NVIDIA H100 80GB HBM3"
    assert measured.gpu_seconds == pytest.approx(float(row["total GPU s"]) + 2.0)
    assert "2027-01-05" in str(measured.basis)
    longer = lvc.quote({"model": "ltx-2.3-t2v", "prompt": "measured", "fps": 25, "duration": 20})
    assert longer.basis.kind == "measured" and longer.gpu_seconds > measured.gpu_seconds
    assert lvc.quote(JOB, "H200").basis.kind == "estimate"  # measured on an H100, not an H200
    assert lvc.quote(JOB, table=_bench_run(scale="tiny")).basis.kind == "estimate"
    with pytest.raises(ValueError, match="gpu: no price for 'TPU'"):
        lvc.quote(JOB, "TPU")
    with pytest.raises(lvc.InvalidInputError):
        lvc.quote({**JOB, "quality": "ultra"})


EDIT = {"model": "ltx-2.3-edit", "prompt": "a retake", "video_url": "https://example.com/a.mp4",
        "retake": {"start_s": 10, "duration_s": 3}}


def test_quote_of_an_edit(capsys):
    """An edit is priced as one stage at full size over its window (quote.py's docstring)."""
    q = lvc.quote(EDIT)  # 3 s + 2 s context each side, at the 1080p cap, 24 fps
    assert q.basis.kind == "estimate" and "edit window: 7.00 s = 169 frames at 24 fps and 1920x1088" in q.notes[0]
    t2v = lvc.quote({"model": "ltx-2.3-t2v", "prompt": "same size", "resolution": "1080p", "duration": 7})
    assert q.gpu_seconds - 2 == pytest.approx((t2v.gpu_seconds - 2) * 1.6, abs=0.2)
    pro, t2v_pro = lvc.quote({**EDIT, "quality": "pro"}), lvc.quote({"model": "ltx-2.3-t2v", "prompt": "same size",
                                                                      "resolution": "1080p", "duration": 7,
                                                                      "quality": "pro"})
    assert pro.gpu_seconds - 2 == pytest.approx((t2v_pro.gpu_seconds - 2) * 4, abs=0.2)
    assert lvc.quote({**EDIT, "resolution": "720p"}).gpu_seconds < q.gpu_seconds
    assert "5.50 s" in lvc.quote(EDIT, source_s=13.5).notes[0]  # 0.5 s of context left after the section
    with pytest.raises(lvc.InvalidInputError, match="retake: the section keeps 1.00 s of the 11.00 s source"):
        lvc.quote(EDIT, source_s=11)
    extend = {**{k: v for k, v in EDIT.items() if k != "retake"}, "extend": {"duration_s": 5}}
    assert "20.04 s = 481 frames at 24 fps" in lvc.quote(extend).notes[0]  # as much context as fits the cap
    assert "9.00 s" in lvc.quote(extend, source_s=4).notes[0]
    assert "8.00 s = 241 frames at 30 fps" in lvc.quote({**extend, "extend": {"duration_s": 5, "context_s": 3}},
                                                        source_fps=30).notes[0]
    run = _bench_run()
    measured = lvc.quote(EDIT, table=run)
    point = next(i for i in run["items"] if i["key"] == "ltx23-fast-1080p-10s")
    scale = 1920 * 1088 * 169 / (point["width"] * point["height"] * point["frames"])
    assert measured.basis.kind == "measured" and measured.gpu_seconds == pytest.approx((12 / 3 * 8 + 7) * scale + 2,
                                                                                       abs=0.1)
    measured_pro = lvc.quote({**EDIT, "quality": "pro"}, table=run)
    point = next(i for i in run["items"] if i["key"] == "ltx23-pro-720p-10s")
    scale = 1920 * 1088 * 169 / (point["width"] * point["height"] * point["frames"])
    assert measured_pro.gpu_seconds == pytest.approx((20 * 4 + 7) * scale + 2, abs=0.1)
    assert lvc_cli.main(["quote", json.dumps(EDIT), "--source-s", "11"]) == 2
    assert "at least 2 s must be left" in capsys.readouterr().err
    assert lvc_cli.main(["quote", json.dumps(EDIT), "--source-s", "30", "--source-fps", "25", "--json"]) == 0
    assert "at 25 fps" in json.loads(capsys.readouterr().out)["notes"][0]


def test_cli(standin, monkeypatch, capsys):
    monkeypatch.setenv("LTX_ENDPOINT_ID", ENDPOINT)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.setenv("LTX_RUNPOD_BASE_URL", standin.url)
    monkeypatch.setattr(lvc.LTXClient.__init__, "__kwdefaults__",
                        {**lvc.LTXClient.__init__.__kwdefaults__, "poll": lvc.PollPolicy(0.01, 0.02)})
    assert lvc_cli.main(["submit", json.dumps(JOB), "--wait"]) == 0
    out = capsys.readouterr()
    job_id = out.out.splitlines()[0]
    assert json.loads(out.out.split("\n", 1)[1])["video_url"].endswith(f"{job_id}.mp4")
    assert "stage 2: step 2/3" in out.err and "74.0%" in out.err
    assert lvc_cli.main(["status", job_id]) == 0 and json.loads(capsys.readouterr().out)["status"] == "COMPLETED"
    assert lvc_cli.main(["wait", job_id]) == 0
    capsys.readouterr()
    assert lvc_cli.main(["submit", json.dumps({**JOB, "prompt": "fail MODEL_MISSING"}), "--wait"]) == 1
    assert "MODEL_MISSING: the worker says MODEL_MISSING (retryable: false)" in capsys.readouterr().err
    assert lvc_cli.main(["submit", json.dumps({**JOB, "model": "ltx-2.5-i2v", "quality": "pro"})]) == 2
    assert "quality: LTX-2.5 (22B) has no 'pro' quality" in capsys.readouterr().err
    assert lvc_cli.main(["quote", json.dumps(JOB), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["basis"]["kind"] == "estimate"


def test_pip_install_in_a_fresh_venv(tmp_path, standin):
    """`pip install ./clients/python` (its three dependencies from the package index) in a new venv
    without torch or the worker, then a job submitted and followed from there."""
    source = tmp_path / "src"
    shutil.copytree(CLIENT_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    pip = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", str(source)],
                         env=env, capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    script = f"""
import importlib.util, json, sys
assert importlib.util.find_spec("torch") is None and importlib.util.find_spec("ltx_worker") is None
import ltx_video_client as lvc
seen = []
with lvc.LTXClient({ENDPOINT!r}, {KEY!r}, base_url=sys.argv[1], poll=lvc.PollPolicy(0.01, 0.02)) as client:
    out = client.submit({JOB!r}).wait(on_progress=seen.append)
print(json.dumps({{"video_url": out.video_url, "stages": [p.stage for p in seen], "file": lvc.__file__}}))
"""
    done = subprocess.run([str(python), "-c", script, standin.url], env=env, capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["video_url"].endswith(".mp4") and result["stages"] == ["inputs", "stage_1", "stage_2"]
    assert str(venv) in result["file"]
    quoted = subprocess.run([str(venv / "bin" / "ltx-video"), "quote", json.dumps(JOB)], env=env,
                            capture_output=True, text=True, timeout=60)
    assert quoted.returncode == 0 and "estimate" in quoted.stdout, quoted.stderr
