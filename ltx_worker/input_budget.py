"""How long a job's inputs stage may still run, and whether RunPod cancelled the job.

`InputBudget` carries the job's deadline (a ``time.monotonic()`` value) and its cancel event
(`comfy.types.PromptRun.cancel`, set by the handler when RunPod cancels the job) down to every
download and decode loop of the inputs stage (`inputs`, `media`, `job_inputs`), which check it
between reads and between frames. `FileClock` adds the per-file download budget
(IMAGE_FETCH_TIMEOUT_S: wall-clock seconds one file's download may take, however slowly the
server sends it). The codes (SPEC.md, "Job output"):

* cancelled: CANCELLED, not retryable;
* the job's deadline passed: TIMEOUT, retryable (a quieter worker may make it);
* one file's download ran out of its own budget: INPUT_FETCH_FAILED naming the field, retryable
  (the server may be faster next time).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from .errors import ErrorCode, WorkerError


@dataclass(frozen=True)
class InputBudget:
    """The job-wide limits of the inputs stage.

    Attributes:
        deadline: when the job must end (``time.monotonic()`` seconds), or None for no limit.
        cancel: set when the job is cancelled, or None when it cannot be.
    """

    deadline: float | None = None
    cancel: threading.Event | None = None

    def left(self) -> float:
        """Seconds until the job's deadline (negative once past; ``inf`` without one)."""
        return math.inf if self.deadline is None else self.deadline - time.monotonic()

    def check(self, field: str, doing: str = "checking it") -> None:
        """Raise when the job must stop; `field` and `doing` (``downloading it``) go into the message.

        Raises:
            WorkerError: CANCELLED when the cancel event is set; TIMEOUT when the deadline passed.
        """
        if self.cancel is not None and self.cancel.is_set():
            raise WorkerError(ErrorCode.CANCELLED, f"{field}: the job was cancelled while {doing}")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise WorkerError(ErrorCode.TIMEOUT, f"{field}: the job's deadline passed while {doing} "
                                                 f"(deadline_s / JOB_DEADLINE_S)")

    def file_clock(self, field: str, budget_s: float, setting: str = "IMAGE_FETCH_TIMEOUT_S") -> FileClock:
        """A clock for one file's download of at most `budget_s` wall-clock seconds, from now;
        `setting` names the variable that set `budget_s` (for the message when it runs out)."""
        return FileClock(self, field, budget_s, time.monotonic() + budget_s, setting)


#: No deadline, no cancel: what a caller outside a job (the CLI, tests) gets by default.
NO_BUDGET = InputBudget()


@dataclass(frozen=True)
class FileClock:
    """One file's download: the job's `InputBudget` plus its own end (``time.monotonic()`` s)."""

    job: InputBudget
    field: str
    budget_s: float
    ends: float
    setting: str = "IMAGE_FETCH_TIMEOUT_S"

    def left(self) -> float:
        """Seconds until the first of the job's deadline and this file's budget end (may be < 0)."""
        return min(self.job.left(), self.ends - time.monotonic())

    def check(self) -> None:
        """Raise when the download must stop.

        Raises:
            WorkerError: CANCELLED or TIMEOUT (`InputBudget.check`); INPUT_FETCH_FAILED naming the
                field when the file's own budget ran out.
        """
        self.job.check(self.field, "downloading it")
        if time.monotonic() >= self.ends:
            raise WorkerError(ErrorCode.INPUT_FETCH_FAILED,
                              f"{self.field}: the download took longer than the {self.budget_s:g} s a file "
                              f"may take ({self.setting})")
