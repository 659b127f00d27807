"""How the client behaves: polling (`PollPolicy`), retries of failed jobs (`RetryPolicy`), HTTP
backoff and ``Retry-After``, and the ``policy`` RunPod gets with a job (`SubmitPolicy`).

RunPod's limits (its serverless docs, ``send-requests`` "Execution policies" and
``endpoint-configurations``, as ../shared/reference/FACTS.md summarises them): a request's
``policy`` holds ``executionTimeout`` (5 s .. 7 days) and ``ttl`` (10 s .. 7 days) in
milliseconds and ``lowPriority``; the TTL runs from submission, covers queueing and running, and
past it the job and its result are gone; RunPod keeps a /run result 30 min.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .contract import JobInput
from .errors import JobFailed

_MIN_EXECUTION_MS, _MIN_TTL_MS, _MAX_MS = 5_000, 10_000, 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class PollPolicy:
    """How `LTXClient.wait` polls ``/status``: `initial_s`, times `factor` per poll up to `max_s`,
    each delay spread by +-`jitter` (a fraction) so that many waiters do not poll in step."""

    initial_s: float = 1.0
    max_s: float = 10.0
    factor: float = 1.5
    jitter: float = 0.2

    def delays(self, rng: random.Random) -> Iterator[float]:
        """Seconds to sleep before each next poll."""
        delay = self.initial_s
        while True:
            yield delay * (1 + rng.uniform(-self.jitter, self.jitter))
            delay = min(self.max_s, delay * self.factor)


@dataclass(frozen=True)
class RetryPolicy:
    """Opt-in: send a failed job again when its failure is ``retryable`` (the worker's word).

    At most `max_attempts` submissions in all, `backoff_s` * 2**(n-1) (at most `max_backoff_s`)
    between them; `codes`, when given, limits retries to those error codes.
    """

    max_attempts: int = 3
    backoff_s: float = 5.0
    max_backoff_s: float = 60.0
    codes: frozenset[str] | None = None

    def should_retry(self, error: JobFailed, attempt: int) -> bool:
        """Whether to send again after `error` ended submission number `attempt` (1-based)."""
        return (error.retryable and attempt < self.max_attempts
                and (self.codes is None or error.code.value in self.codes))

    def delay(self, attempt: int) -> float:
        """Seconds to wait before submission `attempt` + 1."""
        return min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))


@dataclass(frozen=True)
class SubmitPolicy:
    """How a job's ``deadline_s`` becomes RunPod's per-request ``policy`` (`for_job`).

    * ``executionTimeout`` = deadline + `execution_margin_s` (the worker stops at its deadline,
      then uploads and sends its webhook, bounded by WEBHOOK_MAX_TOTAL_S, 30 s by default;
      docs/deploy.md asks for the execution timeout "a few minutes above" the deadline, so that
      the worker's own TIMEOUT, with its message and webhook, comes first).
    * ``ttl`` = `queue_s` (the longest a job may wait for a worker) + the execution timeout +
      `result_s` (time left to read the result; RunPod keeps it 30 min after a /run job ends).
    * ``lowPriority``: sent when set (True: the job does not make RunPod start workers).

    A job without ``deadline_s`` gets `default_deadline_s` when set, else no timeout or TTL
    (the endpoint's own settings apply). Values are clamped to RunPod's ranges.
    """

    execution_margin_s: float = 120.0
    queue_s: float = 3600.0
    result_s: float = 1800.0
    default_deadline_s: float | None = None
    low_priority: bool | None = None

    def for_job(self, job: JobInput) -> dict[str, Any] | None:
        """The ``policy`` object for `job` (milliseconds), or None when there is nothing to set."""
        policy: dict[str, Any] = {}
        deadline = job.deadline_s if job.deadline_s is not None else self.default_deadline_s
        if deadline is not None:
            execution = deadline + self.execution_margin_s
            policy["executionTimeout"] = _clamp(execution, _MIN_EXECUTION_MS)
            policy["ttl"] = _clamp(self.queue_s + execution + self.result_s, _MIN_TTL_MS)
        if self.low_priority is not None:
            policy["lowPriority"] = self.low_priority
        return policy or None


def _clamp(seconds: float, low_ms: int) -> int:
    return max(low_ms, min(_MAX_MS, math.ceil(seconds * 1000)))


def backoff(attempt: int, rng: random.Random) -> float:
    """0.5 s, 1 s, 2 s ... (at most 30 s), with full jitter."""
    return rng.uniform(0, min(30.0, 0.5 * 2 ** (attempt - 1)))


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta seconds or an HTTP date), capped at 300 s."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, min(300.0, seconds))
