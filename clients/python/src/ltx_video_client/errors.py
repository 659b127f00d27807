"""Typed errors: one exception class per worker error code, RunPod's own end states, HTTP and webhook errors.

Every exception the client raises is an `LTXError`. A failed job is a `JobFailed` subclass
chosen by its code (`ERROR_CLASSES`), with ``.code``, ``.message``, ``.retryable`` (whether the
same job may succeed when sent again: the worker's word, else `RETRYABLE`), ``.details``,
``.job_id`` and ``.source`` ("worker": the worker reported it; "runpod": RunPod ended the job,
TIMED_OUT or CANCELLED; "client": refused here before any request).

`failure_from_status` reads the two shapes a failed job has in RunPod's ``/status`` (README
"Errors"): the ``error`` field, a JSON string ``{"code", "message", "retryable"}``, and the
``output`` fields ``error_code``, ``message``, ``retryable``, ``details``.
"""

from __future__ import annotations

import enum
import json
from typing import Any


class ErrorCode(str, enum.Enum):
    """The worker's error codes (README "Errors")."""

    INVALID_INPUT = "INVALID_INPUT"
    INPUT_FETCH_FAILED = "INPUT_FETCH_FAILED"
    MODEL_MISSING = "MODEL_MISSING"
    WORKFLOW_INVALID = "WORKFLOW_INVALID"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    TIMEOUT = "TIMEOUT"
    CANCELLED = "CANCELLED"
    COMFY_UNAVAILABLE = "COMFY_UNAVAILABLE"
    GENERATION_FAILED = "GENERATION_FAILED"
    OUTPUT_MISSING = "OUTPUT_MISSING"
    UPLOAD_FAILED = "UPLOAD_FAILED"
    INTERNAL = "INTERNAL"


#: Whether sending the same job again can help, per code, when the failure does not say
#: (the worker's ``errors.RETRYABLE``; a worker's ``retryable`` field wins over it).
RETRYABLE: dict[ErrorCode, bool] = {
    ErrorCode.INVALID_INPUT: False, ErrorCode.INPUT_FETCH_FAILED: True, ErrorCode.MODEL_MISSING: False,
    ErrorCode.WORKFLOW_INVALID: False, ErrorCode.OUT_OF_MEMORY: True, ErrorCode.TIMEOUT: True,
    ErrorCode.CANCELLED: False, ErrorCode.COMFY_UNAVAILABLE: True, ErrorCode.GENERATION_FAILED: False,
    ErrorCode.OUTPUT_MISSING: True, ErrorCode.UPLOAD_FAILED: True, ErrorCode.INTERNAL: True,
}


class LTXError(Exception):
    """Base of every exception of this package."""


class JobFailed(LTXError):
    """A job that did not make a video.

    Args:
        message: what went wrong, for a backend developer (the worker's message when it sent one).
        retryable: whether the same job may succeed when sent again (default: `RETRYABLE`).
        details: the worker's small JSON facts (``{"fields": [...]}`` for INVALID_INPUT, ...).
        job_id: RunPod's job id (None for a job refused before it was sent).
        source: "worker", "runpod" or "client" (see the module docstring).
    """

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, retryable: bool | None = None, details: dict | None = None,
                 job_id: str | None = None, source: str = "worker") -> None:
        super().__init__(message)
        self.message = message
        self.retryable = RETRYABLE[self.code] if retryable is None else bool(retryable)
        self.details = details or {}
        self.job_id = job_id
        self.source = source

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


class InvalidInputError(JobFailed):
    """INVALID_INPUT: a field is wrong; the message names it (``field: problem``). Never retryable."""

    code = ErrorCode.INVALID_INPUT


class InputFetchFailedError(JobFailed):
    """INPUT_FETCH_FAILED: an input URL could not be fetched (retryable)."""

    code = ErrorCode.INPUT_FETCH_FAILED


class ModelMissingError(JobFailed):
    """MODEL_MISSING: the endpoint's image or volume lacks the model files the job needs."""

    code = ErrorCode.MODEL_MISSING


class WorkflowInvalidError(JobFailed):
    """WORKFLOW_INVALID: the worker's template does not fit its ComfyUI (a deployment problem)."""

    code = ErrorCode.WORKFLOW_INVALID


class OutOfMemoryError(JobFailed):
    """OUT_OF_MEMORY: the GPU ran out of memory (retryable: another worker may have more free)."""

    code = ErrorCode.OUT_OF_MEMORY


class JobTimeoutError(JobFailed):
    """TIMEOUT: the job ran past its deadline (``deadline_s`` or the worker's JOB_DEADLINE_S)."""

    code = ErrorCode.TIMEOUT


class JobCancelledError(JobFailed):
    """CANCELLED: the job was cancelled (``retryable`` is true when the worker was shutting down)."""

    code = ErrorCode.CANCELLED


class ComfyUnavailableError(JobFailed):
    """COMFY_UNAVAILABLE: the worker's ComfyUI died or did not answer (retryable; RunPod replaces it)."""

    code = ErrorCode.COMFY_UNAVAILABLE


class GenerationFailedError(JobFailed):
    """GENERATION_FAILED: ComfyUI ran the graph and it failed."""

    code = ErrorCode.GENERATION_FAILED


class OutputMissingError(JobFailed):
    """OUTPUT_MISSING: ComfyUI finished without the video (retryable)."""

    code = ErrorCode.OUTPUT_MISSING


class UploadFailedError(JobFailed):
    """UPLOAD_FAILED: the video could not be stored (retryable)."""

    code = ErrorCode.UPLOAD_FAILED


class InternalWorkerError(JobFailed):
    """INTERNAL: anything else, including a worker crash RunPod's SDK reported (retryable)."""

    code = ErrorCode.INTERNAL


class RunPodTimedOutError(JobTimeoutError):
    """RunPod's TIMED_OUT: RunPod ended the job (its execution timeout or TTL, ``policy``), not the worker."""


class RunPodCancelledError(JobCancelledError):
    """RunPod's CANCELLED: the job was cancelled through RunPod (``/cancel``, a purged queue)."""


#: The exception class of each worker error code.
ERROR_CLASSES: dict[ErrorCode, type[JobFailed]] = {
    cls.code: cls for cls in (
        InvalidInputError, InputFetchFailedError, ModelMissingError, WorkflowInvalidError, OutOfMemoryError,
        JobTimeoutError, JobCancelledError, ComfyUnavailableError, GenerationFailedError, OutputMissingError,
        UploadFailedError, InternalWorkerError)
}


class APIError(LTXError):
    """RunPod's endpoint API answered with an HTTP error (401 wrong key, 404 unknown job, 5xx, ...)
    or could not be reached (`status_code` None)."""

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body[:500]


class RateLimitedError(APIError):
    """HTTP 429 that persisted past the client's retries; `retry_after_s` is RunPod's last advice."""

    def __init__(self, message: str, *, retry_after_s: float | None, body: str = "") -> None:
        super().__init__(message, status_code=429, body=body)
        self.retry_after_s = retry_after_s


class WaitTimeoutError(LTXError):
    """`LTXClient.wait` gave up after its ``timeout_s``; the job may still run (`job_id`, `last_status`)."""

    def __init__(self, message: str, *, job_id: str, last_status: str | None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.last_status = last_status


class WebhookVerificationError(LTXError):
    """A webhook request that must not be trusted; the subclass says why. Answer it 400."""


class WebhookUnsignedError(WebhookVerificationError):
    """The request lacks a ``webhook-id``, ``webhook-timestamp`` or ``webhook-signature`` header."""


class WebhookSignatureError(WebhookVerificationError):
    """No signature matches the body: tampered, or signed with another secret."""


class WebhookStaleError(WebhookVerificationError):
    """The ``webhook-timestamp`` is more than the tolerance (5 min) away from now."""


class WebhookReplayError(WebhookVerificationError):
    """This ``webhook-id`` was seen before (a replay, or a retry of an event already handled)."""


def error_for(code: str | ErrorCode, message: str, *, retryable: bool | None = None, details: dict | None = None,
              job_id: str | None = None, source: str = "worker") -> JobFailed:
    """The exception of `code` (an unknown code becomes `InternalWorkerError`, its code in the message)."""
    try:
        cls = ERROR_CLASSES[ErrorCode(code)]
    except ValueError:
        cls, message = InternalWorkerError, f"{code}: {message}"
    return cls(message, retryable=retryable, details=details, job_id=job_id, source=source)


def _as_dict(value: Any) -> dict | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def failure_from_status(status: dict) -> JobFailed:
    """The exception for a RunPod status object whose ``status`` is FAILED, TIMED_OUT or CANCELLED.

    FAILED: the worker's ``error`` JSON (``{"code", "message", "retryable"}``), else the output's
    ``error_code``/``message``/``retryable``; ``details`` from the output. A failure in neither
    shape (RunPod's SDK caught an exception: ``{"error_type", "error_message", ...}``, or a plain
    string) is `InternalWorkerError` with that message; its traceback is never copied.
    """
    state, job_id = status.get("status"), status.get("id")
    if state == "TIMED_OUT":
        return RunPodTimedOutError("RunPod ended the job: it ran past the endpoint's execution timeout or its TTL "
                                   "(policy.executionTimeout / policy.ttl)", retryable=True, job_id=job_id,
                                   source="runpod")
    if state == "CANCELLED":
        return RunPodCancelledError("the job was cancelled through RunPod", retryable=False, job_id=job_id,
                                    source="runpod")
    error, output = _as_dict(status.get("error")), status.get("output")
    output = output if isinstance(output, dict) else {}
    details = output.get("details") if isinstance(output.get("details"), dict) else None
    if error and "code" in error:
        return error_for(error["code"], str(error.get("message", "")), retryable=error.get("retryable"),
                         details=details, job_id=job_id)
    if "error_code" in output:
        return error_for(output["error_code"], str(output.get("message", "")), retryable=output.get("retryable"),
                         details=details, job_id=job_id)
    if error and "error_message" in error:
        text = f"{error.get('error_type', 'error')}: {error['error_message']}"
    else:
        text = str(status.get("error") or "the job failed without an error message")
    return InternalWorkerError(f"the worker failed outside its error contract: {text[:500]}", job_id=job_id)
