"""`LTXClient`: send jobs to an ltx-worker RunPod endpoint and get typed results.

Every job is validated and checked against the worker's per-model rules (`rules.check_job`)
before any request: an impossible job raises `errors.InvalidInputError` with the worker's
message and costs nothing. Requests carry ``Authorization: Bearer <api key>``; a job's
``deadline_s`` sets RunPod's execution timeout and TTL (`policies.SubmitPolicy`). RunPod's own
``webhook`` field is never sent (it is unsigned): give the job a ``webhook_url`` and check the
worker's signed event with `webhooks.verify_webhook`.

HTTP 429 is retried after its ``Retry-After`` (seconds or an HTTP date); network errors and
502/503/504 are retried for the idempotent reads and cancels, never for a submission (it could
run twice). A failed job raises the `errors.JobFailed` subclass of its code; with a
`RetryPolicy` a retryable failure is sent again as a new RunPod job with the same input,
``external_id`` included (one is made when the job has none).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .contract import JobInput
from .errors import APIError, JobFailed, RateLimitedError, WaitTimeoutError, failure_from_status
from .outputs import JobOutput, Progress, parse_output
from .policies import PollPolicy, RetryPolicy, SubmitPolicy, backoff, retry_after
from .rules import Rules, default_rules
from .runpod import COMPLETED, Health, JobStatus

DEFAULT_BASE_URL = "https://api.runpod.ai/v2"
ProgressCallback = Callable[[Progress], None]


@dataclass
class JobHandle:
    """A submitted job: its RunPod `job_id` (the latest one after retries; `job_ids` lists all)
    and the `input` it was sent with (kept so a retry can send it again)."""

    job_id: str
    input: dict[str, Any]
    client: LTXClient = field(repr=False)
    policy: dict[str, Any] | None = None
    job_ids: list[str] = field(default_factory=list)

    def status(self) -> JobStatus:
        """`LTXClient.status` of this job."""
        return self.client.status(self.job_id)

    def wait(self, on_progress: ProgressCallback | None = None, timeout_s: float | None = None) -> JobOutput:
        """`LTXClient.wait` for this job (with the client's retry policy)."""
        return self.client.wait(self, on_progress=on_progress, timeout_s=timeout_s)

    def cancel(self) -> JobStatus:
        """`LTXClient.cancel` of this job."""
        return self.client.cancel(self.job_id)


class LTXClient:
    """A client of one RunPod endpoint running ltx-worker.

    Args:
        endpoint_id: the RunPod endpoint id.
        api_key: a RunPod API key (sent as a bearer token).
        base_url: RunPod's endpoint API (``https://api.runpod.ai/v2``; a stand-in in tests).
        timeout: seconds for one HTTP request (httpx's connect/read/write/pool timeout).
        retry: the opt-in `RetryPolicy` for retryable failures (None: a failure is raised at once).
        poll: how `wait` polls (default `PollPolicy()`).
        submit_policy: how ``deadline_s`` becomes RunPod's ``policy`` (default `policies.SubmitPolicy()`).
        rules: the worker's models data (default: the ``rules.json`` shipped with this package).
        http_retries: attempts per request for 429 (and, on reads, network errors and 502/503/504).
        sleep: the function that waits (tests pass one that records).
    """

    def __init__(self, endpoint_id: str, api_key: str, *, base_url: str = DEFAULT_BASE_URL, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, poll: PollPolicy | None = None,
                 submit_policy: SubmitPolicy | None = None, rules: Rules | None = None, http_retries: int = 5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not endpoint_id or "/" in endpoint_id:
            raise ValueError(f"endpoint_id: not a RunPod endpoint id: {endpoint_id!r}")
        if not api_key:
            raise ValueError("api_key: empty (a RunPod API key, e.g. $RUNPOD_API_KEY)")
        self.endpoint_id, self.retry = endpoint_id, retry
        self.poll, self.submit_policy = poll or PollPolicy(), submit_policy or SubmitPolicy()
        self.rules = rules or default_rules()
        self.http_retries, self._sleep, self._rng = max(1, http_retries), sleep, random.Random()
        self._http = httpx.Client(base_url=f"{base_url.rstrip('/')}/{endpoint_id}", timeout=timeout,
                                  headers={"Authorization": f"Bearer {api_key}",
                                           "User-Agent": "ltx-video-client/0.1"})

    def __enter__(self) -> LTXClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _prepare(self, job: dict | JobInput) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The checked job as RunPod's ``input`` and its ``policy`` (raises InvalidInputError)."""
        spec = self.rules.check(job)
        body = spec.to_input()
        if self.retry is not None and spec.external_id is None:
            body["external_id"] = f"ltxc_{uuid.uuid4().hex}"  # retries are the same job to the backend
        return body, self.submit_policy.for_job(spec)

    def submit(self, job: dict | JobInput) -> JobHandle:
        """Check `job` and queue it (``POST /run``).

        Raises:
            InvalidInputError: the job is refused locally (no request was made).
            APIError: RunPod refused the request (401: the key; 429 past the retries: RateLimitedError).
        """
        body, policy = self._prepare(job)
        status = self._run(body, policy)
        return JobHandle(status.id, body, self, policy, [status.id])

    def _run(self, body: dict[str, Any], policy: dict[str, Any] | None) -> JobStatus:
        payload = {"input": body, **({"policy": policy} if policy else {})}
        return JobStatus.model_validate(self._request("POST", "/run", json=payload))

    def run(self, job: dict | JobInput, *, on_progress: ProgressCallback | None = None,
            timeout_s: float | None = None) -> JobOutput:
        """`submit` then `wait`: the typed output, or the failure raised."""
        return self.wait(self.submit(job), on_progress=on_progress, timeout_s=timeout_s)

    def status(self, job_id: str) -> JobStatus:
        """RunPod's status of a job (``GET /status/{id}``)."""
        return JobStatus.model_validate(self._request("GET", f"/status/{job_id}", idempotent=True))

    def cancel(self, job_id: str) -> JobStatus:
        """Cancel a job (``POST /cancel/{id}``); a running job is interrupted in ComfyUI by the worker."""
        return JobStatus.model_validate(self._request("POST", f"/cancel/{job_id}", idempotent=True))

    def health(self) -> Health:
        """The endpoint's jobs and workers (``GET /health``); `Health.queue_depth` = jobs waiting."""
        return Health.model_validate(self._request("GET", "/health", idempotent=True))

    def purge_queue(self) -> dict[str, Any]:
        """Remove every job still waiting in the endpoint's queue (``POST /purge-queue``)."""
        return self._request("POST", "/purge-queue")

    def run_sync(self, job: dict | JobInput, *, wait_s: float = 90.0, on_progress: ProgressCallback | None = None,
                 timeout_s: float | None = None) -> JobOutput:
        """Send a short job with ``POST /runsync`` (RunPod holds the request up to `wait_s`, 1..300 s);
        a job not done by then is followed with `wait`. RunPod keeps a /runsync result only 1 min.

        Raises:
            the same as `submit` and `wait`.
        """
        body, policy = self._prepare(job)
        wait_ms = int(min(300.0, max(1.0, wait_s)) * 1000)
        payload = {"input": body, **({"policy": policy} if policy else {})}
        raw = self._request("POST", "/runsync", json=payload, params={"wait": wait_ms},
                            timeout=(self._http.timeout.read or 30.0) + wait_ms / 1000)
        first = JobStatus.model_validate(raw)
        handle = JobHandle(first.id, body, self, policy, [first.id])
        return self._follow(handle, first, on_progress, _deadline(timeout_s))

    def wait(self, job: JobHandle | str, *, on_progress: ProgressCallback | None = None,
             timeout_s: float | None = None) -> JobOutput:
        """Poll until the job ends (`PollPolicy`: exponential backoff with jitter).

        Args:
            job: a `JobHandle` (retries need its input) or a RunPod job id.
            on_progress: called with the worker's `Progress` each time it changes (a retried job
                starts again from 0 %).
            timeout_s: give up after this many seconds in all (the job is not cancelled).

        Returns:
            The typed `JobOutput`.

        Raises:
            JobFailed: the subclass of the worker's error code, or RunPodTimedOutError /
                RunPodCancelledError; after the retry policy's attempts when one is set.
            WaitTimeoutError: `timeout_s` passed first.
            APIError: RunPod's API kept failing.
        """
        handle = job if isinstance(job, JobHandle) else JobHandle(job, {}, self, None, [job])
        return self._follow(handle, None, on_progress, _deadline(timeout_s))

    def _follow(self, handle: JobHandle, first: JobStatus | None, on_progress: ProgressCallback | None,
                deadline: float | None) -> JobOutput:
        attempt = 1
        while True:
            try:
                return self._poll(handle.job_id, first, on_progress, deadline)
            except JobFailed as err:
                if not handle.input or self.retry is None or not self.retry.should_retry(err, attempt):
                    raise
                self._sleep(self.retry.delay(attempt))
                attempt += 1
                handle.job_id = self._run(handle.input, handle.policy).id
                handle.job_ids.append(handle.job_id)
                first = None

    def _poll(self, job_id: str, first: JobStatus | None, on_progress: ProgressCallback | None,
              deadline: float | None) -> JobOutput:
        delays, last = self.poll.delays(self._rng), None
        status = first
        while True:
            status = status or self.status(job_id)
            if status.status == COMPLETED and not (isinstance(status.output, dict) and "error_code" in status.output):
                if not isinstance(status.output, dict):
                    raise APIError(f"job {job_id} COMPLETED without an output object", status_code=200)
                return parse_output(status.output)
            if status.finished:
                raise failure_from_status(status.raw())
            progress = status.progress
            if progress is not None and progress != last:
                last = progress
                if on_progress is not None:
                    on_progress(progress)
            delay = next(delays)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeoutError(f"job {job_id} is still {status.status} after the wait's timeout",
                                           job_id=job_id, last_status=status.status)
                delay = min(delay, left)
            self._sleep(delay)
            status = None

    def _request(self, method: str, path: str, *, idempotent: bool = False, **kwargs: Any) -> dict[str, Any]:
        """One API call with the retries of the module docstring; the JSON object it answers."""
        for attempt in range(1, self.http_retries + 1):
            last = attempt == self.http_retries
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as err:
                if idempotent and not last:
                    self._sleep(backoff(attempt, self._rng))
                    continue
                raise APIError(f"RunPod's API could not be reached ({method} {path}): {type(err).__name__}: "
                               f"{err}") from None
            if response.status_code == 429:
                after = retry_after(response.headers.get("Retry-After"))
                if last:
                    raise RateLimitedError(f"RunPod rate-limited {method} {path} {self.http_retries} times (HTTP 429)",
                                           retry_after_s=after, body=response.text)
                self._sleep(after if after is not None else backoff(attempt, self._rng))
                continue
            if idempotent and response.status_code in (502, 503, 504) and not last:
                self._sleep(backoff(attempt, self._rng))
                continue
            if response.status_code in (401, 403):
                raise APIError(f"RunPod refused the API key (HTTP {response.status_code}): check RUNPOD_API_KEY "
                               "and that the key may use this endpoint", status_code=response.status_code,
                               body=response.text)
            if response.status_code >= 400:
                raise APIError(f"RunPod answered HTTP {response.status_code} to {method} {path}: "
                               f"{response.text[:200]}", status_code=response.status_code, body=response.text)
            try:
                data = response.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise APIError(f"RunPod's answer to {method} {path} is not a JSON object",
                               status_code=response.status_code, body=response.text)
            return data
        raise AssertionError("unreachable")  # pragma: no cover


def _deadline(timeout_s: float | None) -> float | None:
    return None if timeout_s is None else time.monotonic() + timeout_s
