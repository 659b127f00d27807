"""The studio backend's tables (SQLAlchemy 2): generations and the webhook ids already handled.

`Generation` is one video asked for: its input as sent, the quote, RunPod's job id, the last
progress, then the output (video URL, poster, cost) or the error. `SeenWebhook` holds each
verified ``webhook-id`` under a primary key, so a replayed or retried event is recognised in any
process sharing the database (`DbSeenStore`, the client's `SeenStore` protocol).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, Float, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

#: A generation's states: sent and waiting, running on a worker, done with a video, failed.
QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
FINISHED = frozenset({COMPLETED, FAILED})


def _now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh generation id, ``gen_<32 hex>`` (also the job's ``external_id``)."""
    return f"gen_{uuid.uuid4().hex}"


class Base(DeclarativeBase):
    """The declarative base of the studio backend's tables."""


class Generation(Base):
    """One video asked for. `external_id` is its own `id` (the job's ``external_id``, echoed in the
    worker's webhook); `error` is ``{"code", "message", "retryable"}``; `cost` is
    ``{"gpu_seconds", "usd", "source"}`` once the job ends."""

    __tablename__ = "generations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=new_id)
    external_id: Mapped[str] = mapped_column(String(256), unique=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    quote: Mapped[dict[str, Any]] = mapped_column(JSON)
    runpod_job_id: Mapped[str | None] = mapped_column(String(128), index=True, default=None)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    video_url: Mapped[str | None] = mapped_column(String(4096), default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    cost: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    cost_usd: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    def to_dict(self) -> dict[str, Any]:
        """The generation as ``GET /api/generations/{id}`` answers it."""
        return {"id": self.id, "external_id": self.external_id, "status": self.status,
                "runpod_job_id": self.runpod_job_id, "progress": self.progress, "quote": self.quote,
                "cost": self.cost, "video_url": self.video_url,
                "poster_url": (self.output or {}).get("poster_url"), "error": self.error,
                "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat()}


class SeenWebhook(Base):
    """A verified ``webhook-id`` (Standard Webhooks), kept so the same event is acted on once."""

    __tablename__ = "seen_webhooks"

    webhook_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class DbSeenStore:
    """`ltx_video_client.SeenStore` in the database, inside the request's `session`: the id is
    committed with what the event records, so a request that fails records neither and the
    worker's retry is handled. Two requests racing on one id: the second's commit fails on the
    primary key (the app answers it as a replay)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_if_new(self, webhook_id: str) -> bool:
        """Record `webhook_id` in the session; False when the table already holds it."""
        if self.session.scalar(select(SeenWebhook.webhook_id).where(SeenWebhook.webhook_id == webhook_id)):
            return False
        self.session.add(SeenWebhook(webhook_id=webhook_id))
        self.session.flush()
        return True


def make_engine(url: str) -> Engine:
    """An engine for `url`, its tables created when missing (SQLite: usable from any thread)."""
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}} if url.startswith("sqlite") else {}
    engine = create_engine(url, **kwargs)
    Base.metadata.create_all(engine)
    return engine


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """The session factory of the app (objects stay readable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)
