"""RunPod's endpoint API as a backend sees it: status objects (`JobStatus`) and ``/health`` (`Health`).

Source: RunPod's serverless docs (operation reference: ``/run``, ``/runsync``, ``/status``,
``/cancel``, ``/health``, ``/purge-queue``), as ../shared/reference/FACTS.md summarises them
("RunPod endpoint API, the studio's side"). A request's ``policy`` is `policies.SubmitPolicy`'s.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .outputs import Progress

IN_QUEUE, IN_PROGRESS, COMPLETED, FAILED, CANCELLED, TIMED_OUT = (
    "IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")
#: Statuses after which a job changes no more.
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, TIMED_OUT})


class JobStatus(BaseModel):
    """RunPod's status object (``/status/{id}``, ``/run``, ``/runsync``, ``/cancel/{id}``).

    `delay_time_ms` is the time queued, `execution_time_ms` the time running (RunPod's
    ``delayTime`` and ``executionTime``, milliseconds). While IN_PROGRESS, `output` is the
    worker's last progress payload (`progress`); once COMPLETED the job output; once FAILED the
    worker's error fields (`errors.failure_from_status` reads them).
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    id: str
    status: str
    delay_time_ms: int | None = Field(None, alias="delayTime")
    execution_time_ms: int | None = Field(None, alias="executionTime")
    output: Any = None
    error: Any = None

    @property
    def finished(self) -> bool:
        """Whether the status is terminal (COMPLETED, FAILED, CANCELLED, TIMED_OUT)."""
        return self.status in TERMINAL

    @property
    def progress(self) -> Progress | None:
        """The worker's progress payload while IN_PROGRESS (None before the first, or in another state)."""
        if self.status != IN_PROGRESS or not isinstance(self.output, dict) or "stage" not in self.output:
            return None
        try:
            return Progress.model_validate(self.output)
        except ValidationError:
            return None

    def raw(self) -> dict[str, Any]:
        """The status object as RunPod sent it (its own field names)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class HealthJobs(BaseModel):
    """Job counts of an endpoint (RunPod's ``/health`` ``jobs``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    completed: int = 0
    failed: int = 0
    in_progress: int = Field(0, alias="inProgress")
    in_queue: int = Field(0, alias="inQueue")
    retried: int = 0


class HealthWorkers(BaseModel):
    """Worker counts of an endpoint (RunPod's ``/health`` ``workers``; other states kept as extras)."""

    model_config = ConfigDict(extra="allow")
    idle: int = 0
    running: int = 0


class Health(BaseModel):
    """An endpoint's ``/health``: its jobs (`queue_depth` = jobs in queue) and workers."""

    model_config = ConfigDict(extra="allow")
    jobs: HealthJobs = HealthJobs()
    workers: HealthWorkers = HealthWorkers()

    @property
    def queue_depth(self) -> int:
        """Jobs waiting for a worker."""
        return self.jobs.in_queue
