"""The example studio backend (examples/studio_backend) end to end, through the real worker.

Every part is real and talks HTTP on loopback: the app under uvicorn (SQLite in tmp), the client in
clients/python inside it, RunPod's endpoint API (`standins.RunPodWorkerStandIn`) handing each job
to the RunPod SDK's own worker loop (``python handler.py`` against `standins.RunPodJobApi`, as
tests/test_worker_loop.py runs it) on the session's ComfyUI with tiny weights, the MP4 and poster
on moto (server mode), and the worker's signed webhook back into the app's ``POST /webhooks/ltx``.
An ASGI tap around the app records the submission and the webhook request as they pass (what it
got, what it answered, when), so the test can replay the worker's own webhook and time the round
trip (submission arrived to webhook answered "recorded"), which it prints.

One tiny job serves the whole file (a CPU job is most of its time): the smallest LTX-2 t2v fast
job, 2 s at 720p. With headless Chromium (Debian's ``chromium`` and ``chromium-driver`` through
selenium, as tests/test_browser_authoring.py drives it; scripts/install_chromium.sh) it is
submitted through the page's form, which shows the progress and then plays the video; its
screenshot goes to ``build/studio-backend/studio-backend.png`` (git-ignored;
``LTXW_STUDIO_SCREENSHOT=PATH`` also copies it to PATH, e.g. docs/img/studio-backend.png). Without
Chromium the job is submitted by HTTP and the page's test is skipped, saying why. The file adds
about 40 s to the suite on 2 CPU cores at load ~4 (the job, the worker's start, Chromium), more on
a busier machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import requests
from sqlalchemy import func, select

from ltx_worker.config import PROJECT_ROOT

from standins import RUNPOD_ENDPOINT, RUNPOD_KEY, RunPodJobApi, RunPodWorkerStandIn
from support import browser_parts, free_port

sys.path.insert(0, str(PROJECT_ROOT / "clients" / "python" / "src"))
sys.path.insert(0, str(PROJECT_ROOT))

from examples.studio_backend import Settings, create_app  # noqa: E402
from examples.studio_backend.db import COMPLETED, Generation, SeenWebhook  # noqa: E402

SECRET = "whsec_" + "ZTJlLXNlY3JldC1lMmUtc2VjcmV0LWUyZS1zZWNyZXQ="
SUBMIT, WEBHOOK = "/api/generations/studio/ai-video", "/webhooks/ltx"
ARTIFACTS = PROJECT_ROOT / "build" / "studio-backend"
JOB_TIMEOUT_S = 300

CHROMIUM, CHROMEDRIVER, _MISSING = browser_parts()
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - the test extras install it
    webdriver = None
NO_BROWSER = (f"the page's test needs {', '.join(_MISSING)} (Debian: apt-get install chromium chromium-driver; "
              "CI: scripts/install_chromium.sh)")


@dataclass
class Exchange:
    """One request the tap saw: what came in, what the app answered, and when (monotonic)."""

    path: str
    headers: dict
    body: bytes = b""
    status: int | None = None
    answer: bytes = b""
    arrived_at: float = field(default_factory=time.monotonic)
    answered_at: float | None = None


class Tap:
    """An ASGI wrapper that records each submission and webhook request (`Exchange`) and passes
    every message through unchanged; anything else goes straight to the app."""

    def __init__(self, app) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []

    def of(self, path: str) -> list[Exchange]:
        """The answered exchanges on `path`, oldest first."""
        return [x for x in self.exchanges if x.path == path and x.answered_at is not None]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in (SUBMIT, WEBHOOK):
            return await self.app(scope, receive, send)
        seen = Exchange(scope["path"], {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]})
        self.exchanges.append(seen)

        async def tapped_receive():
            message = await receive()
            if message["type"] == "http.request":
                seen.body += message.get("body", b"")
            return message

        async def tapped_send(message) -> None:
            if message["type"] == "http.response.start":
                seen.status = message["status"]
            elif message["type"] == "http.response.body":
                seen.answer += message.get("body", b"")
                if not message.get("more_body"):
                    seen.answered_at = time.monotonic()
            await send(message)

        await self.app(scope, tapped_receive, tapped_send)


@dataclass
class Studio:
    """The app served on loopback, its tap, its HTTP client and the endpoint stand-in it calls."""

    url: str
    app: object
    tap: Tap
    http: httpx.Client
    standin: RunPodWorkerStandIn
    job_api: RunPodJobApi
    worker_log: Path
    started_at: float


@pytest.fixture(scope="module")
def model(comfy) -> str:
    """The smallest t2v model of the newest family this ComfyUI runs (as tests/test_worker_loop.py)."""
    return "ltx-2-t2v" if comfy.has_ltx2 else "ltxv-t2v"


@pytest.fixture(scope="module")
def studio(comfy, s3, tmp_path_factory):
    """The worker loop on the session's ComfyUI and moto, the endpoint stand-in, and the app under uvicorn."""
    import uvicorn

    started_at = time.monotonic()
    base = tmp_path_factory.mktemp("studio-e2e")
    job_api = RunPodJobApi().start()
    port = free_port()
    env = dict(os.environ, **job_api.env(), COMFY_PORT=str(comfy.port), OUTPUT_DIR=str(base / "output"),
               PROGRESS_INTERVAL_S="0.1", BUCKET_ENDPOINT_URL=s3.url, BUCKET_NAME="videos",
               BUCKET_ACCESS_KEY_ID="test", BUCKET_SECRET_ACCESS_KEY="test", BUCKET_REGION="us-east-1",
               BUCKET_PATH_STYLE="true", BUCKET_KEY_PREFIX="studio/", WEBHOOK_SECRET=SECRET,
               WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
               RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS="true")  # the app's webhook route is on loopback
    log_path = base / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([sys.executable, "handler.py"], cwd=PROJECT_ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    standin = RunPodWorkerStandIn(job_api)
    settings = Settings(database_url=f"sqlite:///{base / 'studio.db'}", ltx_endpoint_id=RUNPOD_ENDPOINT,
                        runpod_api_key=RUNPOD_KEY, runpod_base_url=standin.url, webhook_secret=SECRET,
                        public_url=f"http://127.0.0.1:{port}")
    app = create_app(settings)
    tap = Tap(app)
    server = uvicorn.Server(uvicorn.Config(tap, host="127.0.0.1", port=port, log_level="warning"))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline and serving.is_alive():
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=30) as http:
            yield Studio(url, app, tap, http, standin, job_api, log_path, started_at)
    finally:
        server.should_exit = True
        serving.join(10)
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
        standin.close()
        job_api.stop()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through selenium (a fresh profile), or None without it."""
    if _MISSING:
        yield None
        return
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=900,1180", "--force-device-scale-factor=1", "--no-first-run",
                "--no-default-browser-check", "--autoplay-policy=no-user-gesture-required"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


@dataclass
class Run:
    """The file's one generation: its id, the submission and webhook exchanges, the progress seen
    through the API (while running) and, when the page submitted it, on the page."""

    id: str
    via: str
    api_progress: list[dict]
    page_states: list[tuple[str, float, bool]]
    submit: Exchange
    webhook: Exchange

    @property
    def round_trip_s(self) -> float:
        """Submission arrived at the app to the worker's webhook answered (recorded)."""
        return self.webhook.answered_at - self.submit.arrived_at


def _submit_on_page(driver, url: str, model: str) -> None:
    """Fill the page's form for the smallest job and press Generate. The page offers the studio's
    durations (10, 15, 20 s); the test adds the contract's shortest, 2 s, which the app takes, so
    that the CPU job stays small."""
    driver.get(url + "/")
    form = driver.find_element(By.ID, "task")
    for name, value in (("model", model), ("prompt", "waves roll onto a rocky shore at dusk"),
                        ("image_url", ""), ("seed", "5")):
        box = form.find_element(By.NAME, name)
        box.clear()
        if value:
            box.send_keys(value)
    driver.execute_script("const s = arguments[0]; s.add(new Option('2', '2')); s.value = '2';",
                          form.find_element(By.NAME, "duration"))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def _page_state(driver) -> tuple[str, float, bool]:
    return tuple(driver.execute_script(
        "const $ = (id) => document.getElementById(id);"
        "return [$('state').textContent + ($('error').textContent ? ' | error: ' + $('error').textContent : ''),"
        " $('progress').hidden ? -1 : Number($('progress').value), !$('video').hidden];"))


@pytest.fixture(scope="module")
def run(studio, browser, model) -> Run:
    """Submit the one job (through the page when Chromium is here, else by HTTP) once the worker
    loop is up, and follow it to the end: ``GET /api/generations/{id}`` every 0.5 s (each asks the
    stand-in's ``/status``) and, on the page, its state and progress bar."""
    deadline = time.monotonic() + 60
    while studio.job_api.pings < 1:  # the SDK's loop pings once it runs: the handler is ready
        assert time.monotonic() < deadline, "the worker loop did not start:\n" + studio.worker_log.read_text()[-3000:]
        time.sleep(0.1)
    ready_s = time.monotonic() - studio.started_at
    if browser is not None:
        _submit_on_page(browser, studio.url, model)
    else:
        task = {"model": model, "prompt": "waves roll onto a rocky shore at dusk", "quality": "fast",
                "resolution": "720p", "duration": 2, "seed": 5}
        assert studio.http.post(SUBMIT, json=task).status_code == 201
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while not studio.tap.of(SUBMIT):
        assert time.monotonic() < deadline, "no submission reached the app" + (
            f": the page shows {_page_state(browser)}" if browser else "")
        time.sleep(0.05)
    (submit,) = studio.tap.of(SUBMIT)
    assert submit.status == 201, submit.answer
    gen_id = json.loads(submit.answer)["id"]
    api_progress, page_states = [], []
    while True:
        gen = studio.http.get(f"/api/generations/{gen_id}").json()
        if gen["status"] == "running" and gen["progress"]:
            api_progress.append(gen["progress"])
        if browser is not None:
            page_states.append(_page_state(browser))
        if gen["status"] in ("completed", "failed") and (browser is None or page_states[-1][2]
                                                         or "error" in page_states[-1][0]):
            break
        assert time.monotonic() < deadline, f"no end in {JOB_TIMEOUT_S} s: {gen}\n" + \
            studio.worker_log.read_text()[-3000:]
        time.sleep(0.5)
    assert gen["status"] == "completed", f"{gen}\n" + studio.worker_log.read_text()[-3000:]
    deadline = time.monotonic() + 5
    while not (hooks := studio.tap.of(WEBHOOK)) and time.monotonic() < deadline:
        time.sleep(0.05)  # the app commits the webhook's record before its answer has gone
    assert len(hooks) == 1, (hooks, studio.tap.exchanges)
    result = Run(gen_id, "page" if browser else "http", api_progress, page_states, submit, hooks[0])
    job_s = _db(studio, lambda s: s.get(Generation, gen_id).output["timings"]["total_s"])
    print(f"\nstudio e2e: worker loop up {ready_s:.1f} s after its start; round trip ({result.via}, {model} 2 s "
          f"720p on tiny weights): submission to webhook recorded {result.round_trip_s:.1f} s, of which the "
          f"worker's handler {job_s:.1f} s")
    return result


def _db(studio, query):
    with studio.app.state.sessions() as session:
        return query(session)


def test_a_generation_goes_through_the_real_worker_and_its_webhook(studio, run, model, s3):
    hook = run.webhook
    assert hook.status == 200 and json.loads(hook.answer) == {"status": "recorded"}
    gen = _db(studio, lambda s: s.get(Generation, run.id))
    assert gen.status == COMPLETED and gen.error is None and gen.runpod_job_id in studio.standin.jobs
    # the quote, as the submission answered it, is stored
    created = json.loads(run.submit.answer)
    assert gen.quote == created["quote"] and gen.quote["usd"] > 0 and gen.quote["gpu_seconds"] > 0
    assert gen.input["webhook_url"] == f"{studio.url}/webhooks/ltx" and gen.input["external_id"] == run.id
    # the worker's own output, delivered by its signed webhook
    output = gen.output
    assert output["external_id"] == run.id and output["settings"]["model"] == model
    assert output["video_key"] == f"studio/{gen.runpod_job_id}.mp4" and gen.video_url == output["video_url"]
    assert gen.cost["gpu_seconds"] > 0 and gen.cost["source"] == "quote price"
    # progress was seen through the app while the worker ran, and never went back
    percents = [p["percent"] for p in run.api_progress]
    assert any(0 < p < 100 for p in percents) and percents == sorted(percents), run.api_progress
    assert {p["stage"] for p in run.api_progress} & {"stage_1", "stage_2", "decode"}, run.api_progress
    # the video URL downloads a real MP4 (moto's presigned URL)
    assert gen.video_url.startswith(s3.url)
    mp4 = requests.get(gen.video_url, timeout=30)
    assert mp4.status_code == 200 and mp4.content[4:8] == b"ftyp"
    assert hashlib.sha256(mp4.content).hexdigest() == output["video"]["sha256"]
    import av

    with av.open(io.BytesIO(mp4.content)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == output["video"]["frames"] == 49
    # RunPod's status, through the client, agrees; the worker's result says the webhook went once
    status = studio.app.state.client.status(gen.runpod_job_id)
    assert status.status == "COMPLETED" and status.output["video_url"] == gen.video_url
    report = status.output["webhook"]
    assert report["delivered"] and report["attempts"] == 1 and report["webhook_id"] == hook.headers["webhook-id"]

    # the worker's webhook, replayed as it was sent, changes nothing
    before = studio.http.get(f"/api/generations/{run.id}").json()
    seen = _db(studio, lambda s: s.scalar(select(func.count()).select_from(SeenWebhook)))
    headers = {k: v for k, v in hook.headers.items() if k.startswith("webhook-") or k == "content-type"}
    replay = studio.http.post(WEBHOOK, content=hook.body, headers=headers)
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
    assert studio.http.get(f"/api/generations/{run.id}").json() == before
    assert _db(studio, lambda s: s.scalar(select(func.count()).select_from(SeenWebhook))) == seen == 1
    assert run.round_trip_s > 0


def test_the_page_submits_shows_progress_and_plays_the_video(studio, run, browser):
    if browser is None:
        pytest.skip(NO_BROWSER)
    assert run.via == "page"
    shown = [(text, value) for text, value, _ in run.page_states if text.startswith("running — ") and value > 0]
    assert shown, run.page_states  # e.g. ("running — stage 1: step 3/8", 24.1)
    assert all("error" not in text for text, _, _ in run.page_states), run.page_states
    quote = browser.find_element(By.ID, "quote").text
    assert quote.startswith("quote: $") and "cost: $" in quote
    src = browser.execute_script("return document.getElementById('video').src")
    assert src == studio.http.get(f"/api/generations/{run.id}").json()["video_url"]
    deadline = time.monotonic() + 30
    while not (facts := browser.execute_script(
            "const v = document.getElementById('video');"
            "return v.readyState >= 1 && isFinite(v.duration) && v.duration > 0"
            " ? {duration: v.duration, width: v.videoWidth, height: v.videoHeight} : null;")):
        error = browser.execute_script("const e = document.getElementById('video').error; return e && e.message;")
        assert error is None and time.monotonic() < deadline, f"the video did not load: {error}"
        time.sleep(0.1)
    assert 1.5 < facts["duration"] < 2.5 and (facts["width"], facts["height"]) == (1280, 704), facts
    played = browser.execute_async_script(
        "const [v, done] = arguments; v.muted = true;"
        "v.play().then(() => setTimeout(() => {"
        "  v.pause(); done({t: v.currentTime, error: v.error && v.error.message}); }, 700),"
        " (e) => done({t: -1, error: String(e)}));", browser.find_element(By.ID, "video"))
    assert played["error"] is None and played["t"] > 0, played
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "studio-backend.png"
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(shot))
    if os.environ.get("LTXW_STUDIO_SCREENSHOT"):
        target = Path(os.environ["LTXW_STUDIO_SCREENSHOT"])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
