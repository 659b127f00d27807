"""The studio backend's HTTP API (FastAPI): submit a generation, receive the worker's webhook, read a generation.

- ``POST /api/generations/studio/ai-video``: the studio's task as it is today (``model, prompt,
  quality, resolution, duration, camera_lora, seed, image_urls``) or any other field of the job
  contract (versions 2/3: keyframes, audio, control, loras, ...). It is checked with the client's
  contract and the worker's per-model rules (`ltx_video_client.check_job`) and refused with 422,
  the contract's message and its field list, before anything is stored or sent; then quoted
  (`ltx_video_client.quote` on QUOTE_GPU), stored as a `db.Generation` and submitted with
  ``webhook_url`` = ``<PUBLIC_URL>/webhooks/ltx`` and ``external_id`` = the generation's id.
  Answers 201 ``{id, status, quote}``; 502 when RunPod refuses the submission (recorded as failed).
- ``POST /webhooks/ltx``: `ltx_video_client.verify_webhook` with `db.DbSeenStore`. Unsigned,
  tampered or stale: 400 and nothing recorded. A replayed ``webhook-id``: 200, nothing changes.
  Otherwise the event's output (video URL, cost) or error (code, message, retryable) is recorded
  on the generation its ``external_id`` names, once: a finished generation is not changed again.
  An event for an unknown generation, or for another RunPod job than the one submitted, is
  answered 200 and ignored (it is signed: sending it again would not help).
- ``GET /api/generations/{id}``: the stored generation (`db.Generation.to_dict`); while it is
  queued or running, RunPod's ``/status`` is asked first and its progress stored (a terminal
  status is recorded as the webhook would, so a lost webhook does not leave it running). 404 when unknown.
- ``GET /``: static/index.html, one page that submits, polls and plays the video.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from ltx_video_client import (
    APIError,
    InvalidInputError,
    JobFailed,
    JobStatus,
    LTXClient,
    WebhookReplayError,
    WebhookVerificationError,
    check_job,
    quote,
    verify_webhook,
)
from ltx_video_client.errors import failure_from_status
from ltx_video_client.outputs import parse_output
from ltx_video_client.quote import quote_dict
from ltx_video_client.runpod import COMPLETED as RUNPOD_COMPLETED
from ltx_video_client.runpod import IN_PROGRESS
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .db import (
    COMPLETED,
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    DbSeenStore,
    Generation,
    make_engine,
    make_sessions,
    new_id,
)
from .settings import Settings

log = logging.getLogger("studio_backend")
INDEX_HTML = Path(__file__).parent / "static" / "index.html"
#: Job fields this app sets on every job; a task naming them is refused (the webhook must come back here).
APP_FIELDS = ("webhook_url", "external_id")


def _error(status_code: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """The app's error answer: ``{"error": {"code", "message", ...}}``."""
    return JSONResponse(status_code=status_code, content={"error": {"code": code, "message": message, **extra}})


def _invalid(err: InvalidInputError) -> JSONResponse:
    """422 with the contract's message and its ``field: problem`` list (``details["fields"]``)."""
    fields = list(err.details.get("fields") or [err.message])
    return _error(422, "INVALID_INPUT", err.message, fields=fields)


def record_success(gen: Generation, output: dict[str, Any]) -> None:
    """Store a job output (README "Job output") on `gen`: video URL, output, cost, status completed.

    The cost is the worker's ``cost.usd`` when it knows its GPU's price, else its ``gpu_seconds``
    at the quote's price per second. Raises pydantic's ValidationError for an output not of the shape.
    """
    parsed = parse_output(output)
    usd, source = parsed.cost.usd, "worker"
    if usd is None:
        usd, source = round(parsed.cost.gpu_seconds * gen.quote["price"]["usd_per_s"], 6), "quote price"
    gen.output, gen.video_url, gen.error = output, parsed.video_url, None
    gen.cost, gen.cost_usd = {"gpu_seconds": parsed.cost.gpu_seconds, "usd": usd, "source": source}, usd
    gen.progress = {**(gen.progress or {}), "percent": 100.0, "message": "done"}
    gen.status = COMPLETED


def record_failure(gen: Generation, err: JobFailed) -> None:
    """Store a failure on `gen`: ``{"code", "message", "retryable"}`` and status failed."""
    gen.error = {"code": err.code.value, "message": err.message, "retryable": err.retryable}
    gen.status = FAILED


def apply_status(gen: Generation, status: JobStatus) -> None:
    """Bring `gen` up to RunPod's `status` of its job (progress while running, the end once finished)."""
    if status.status == RUNPOD_COMPLETED and isinstance(status.output, dict) and "error_code" not in status.output:
        record_success(gen, status.output)
    elif status.finished:
        record_failure(gen, failure_from_status(status.raw()))
    elif status.status == IN_PROGRESS:
        gen.status = RUNNING
        if status.progress is not None:
            gen.progress = status.progress.model_dump()


def create_app(settings: Settings) -> FastAPI:
    """The studio backend for `settings`: its engine (tables created), its `LTXClient`, its routes
    (module docstring). The client is closed and the engine disposed when the app shuts down."""
    engine = make_engine(settings.database_url)
    sessions = make_sessions(engine)
    client = LTXClient(settings.ltx_endpoint_id, settings.runpod_api_key, base_url=settings.runpod_base_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        client.close()
        engine.dispose()

    app = FastAPI(title="ltx-worker studio backend (example)", lifespan=lifespan)
    app.state.settings, app.state.client, app.state.sessions, app.state.engine = settings, client, sessions, engine

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(INDEX_HTML, media_type="text/html")

    @app.post("/api/generations/studio/ai-video", status_code=201)
    def submit(task: dict[str, Any] = Body(...)) -> Any:  # noqa: B008 - FastAPI's way to take a JSON object
        for name in APP_FIELDS:
            if name in task:
                problem = f"{name}: set by the studio backend, not by the task"
                return _error(422, "INVALID_INPUT", problem, fields=[problem])
        gen_id = new_id()
        gen = Generation(id=gen_id, external_id=gen_id, status=QUEUED)
        job = {**task, "webhook_url": settings.webhook_url, "external_id": gen.id}
        try:
            check_job(job, rules=client.rules)
            gen.quote = quote_dict(quote(job, settings.quote_gpu, rules=client.rules))
        except InvalidInputError as err:
            return _invalid(err)
        gen.input = job
        with sessions() as session:
            session.add(gen)
            session.commit()
        try:
            handle = client.submit(job)
        except APIError as err:
            with sessions() as session:
                stored = session.get(Generation, gen.id)
                stored.error = {"code": "SUBMIT_FAILED", "message": str(err), "retryable": True}
                stored.status = FAILED
                session.commit()
            return _error(502, "SUBMIT_FAILED", str(err), id=gen.id)
        with sessions() as session:
            stored = session.get(Generation, gen.id)
            stored.runpod_job_id = stored.runpod_job_id or handle.job_id
            session.commit()
        return {"id": gen.id, "status": QUEUED, "quote": gen.quote}

    @app.get("/api/generations/{generation_id}")
    def read(generation_id: str) -> Any:
        with sessions() as session:
            gen = session.get(Generation, generation_id)
            if gen is None:
                return _error(404, "NOT_FOUND", f"no generation {generation_id!r}")
            if gen.status not in FINISHED and gen.runpod_job_id:
                try:
                    apply_status(gen, client.status(gen.runpod_job_id))
                    session.commit()
                except APIError as err:  # RunPod unreachable: answer what is stored
                    log.warning("status of %s: %s", gen.runpod_job_id, err)
                    session.rollback()
            return gen.to_dict()

    def on_webhook(body: bytes, headers: dict[str, str]) -> JSONResponse:
        with sessions() as session:
            try:
                event = verify_webhook(body, headers, settings.webhook_secret, seen=DbSeenStore(session))
            except WebhookReplayError:
                session.rollback()
                return JSONResponse({"status": "duplicate"})
            except WebhookVerificationError as err:
                session.rollback()
                return _error(400, "WEBHOOK_REFUSED", str(err))
            gen = session.scalar(select(Generation).where(Generation.external_id == str(event.data.external_id)))
            outcome = "ignored"
            if gen is not None and gen.runpod_job_id in (None, event.data.job_id) and gen.status not in FINISHED:
                gen.runpod_job_id = event.data.job_id
                if event.succeeded and event.data.output is not None:
                    record_success(gen, event.data.output)
                else:
                    record_failure(gen, event.failure())
                outcome = "recorded"
            elif gen is not None and gen.status in FINISHED:
                outcome = "already finished"
            try:
                session.commit()
            except IntegrityError:  # the same webhook-id committed by a concurrent request
                session.rollback()
                return JSONResponse({"status": "duplicate"})
            return JSONResponse({"status": outcome})

    @app.post("/webhooks/ltx")
    async def webhook(request: Request) -> JSONResponse:
        return await run_in_threadpool(on_webhook, await request.body(), dict(request.headers))

    return app
