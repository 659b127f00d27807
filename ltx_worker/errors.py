"""The worker's error model: every failure is a `WorkerError` with a code from SPEC.md.

A RunPod handler reports a failure by returning ``{"error": ...}``; `WorkerError.to_output`
gives that dict. Messages are written for a backend developer: they name the field, node or
file at fault and never carry stack traces, secrets, signed URLs or local paths.
"""

from __future__ import annotations

import enum
import json
import re

#: An absolute POSIX or Windows path (kept: its last component).
_ABS_PATH = re.compile(r"(?<![\w:/.])(?:/|[A-Za-z]:\\)(?:[^\s'\"/\\:]+[/\\])+(?P<name>[^\s'\"/\\:]*)")
#: A URL's query string (where signatures and tokens live).
_URL_QUERY = re.compile(r"(?P<url>https?://[^\s'\"?#]+)[?#][^\s'\"]*")
#: "Bearer <token>" / "key=<value>"-style secrets.
_SECRET = re.compile(r"(?i)(bearer\s+|(?:token|secret|password|signature|credential)[\w-]*[=:]\s*)[^\s'\",;]+")


def scrub(text: str) -> str:
    """`text` without local paths (only the file name stays), URL query strings and secrets.

    Applied to every `WorkerError` message: errors go to backends and logs of other parties.
    """
    text = _URL_QUERY.sub(r"\g<url>?…", text)
    text = _ABS_PATH.sub(lambda m: m.group("name") or "<path>", text)
    return _SECRET.sub(r"\1<redacted>", text)


class ErrorCode(str, enum.Enum):
    """Error codes of the job contract (SPEC.md, "Job output")."""

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


#: Whether retrying the same job can help, per code (a default; a raise site may override).
RETRYABLE: dict[ErrorCode, bool] = {
    ErrorCode.INVALID_INPUT: False,
    ErrorCode.INPUT_FETCH_FAILED: True,
    ErrorCode.MODEL_MISSING: False,
    ErrorCode.WORKFLOW_INVALID: False,
    ErrorCode.OUT_OF_MEMORY: True,
    ErrorCode.TIMEOUT: True,
    ErrorCode.CANCELLED: False,
    ErrorCode.COMFY_UNAVAILABLE: True,
    ErrorCode.GENERATION_FAILED: False,
    ErrorCode.OUTPUT_MISSING: True,
    ErrorCode.UPLOAD_FAILED: True,
    ErrorCode.INTERNAL: True,
}


def _scrubbed(value: object) -> object:
    """`value` with `scrub` applied to every string in it (dict keys and values, list items)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {_scrubbed(k) if isinstance(k, str) else k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v) for v in value]
    return value


class WorkerError(Exception):
    """A job failure with a contract error code.

    Args:
        code: one of `ErrorCode`.
        message: what went wrong and what to do, for a backend developer.
        retryable: whether the same job may succeed on a retry; defaults to `RETRYABLE[code]`.
        details: small JSON-safe facts (field names, node ids, file names); every string in it is
            passed through `scrub` like the message (ComfyUI's raw error text, copied into
            details by `comfy.types`, can carry absolute paths).
        refresh_worker: the worker is suspect after this failure (e.g. ComfyUI did not answer its
            interrupt): the handler's result asks RunPod to replace it, whatever the code.

    The message is passed through `scrub`, so a path, signed URL or token that slips into it
    from an underlying exception does not reach the job result.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        retryable: bool | None = None,
        details: dict | None = None,
        refresh_worker: bool = False,
    ) -> None:
        message = scrub(message)
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.retryable = RETRYABLE[self.code] if retryable is None else retryable
        self.details = _scrubbed(details or {})
        self.refresh_worker = refresh_worker

    def to_output(self) -> dict:
        """The job result RunPod marks FAILED: ``{"error": str, "error_code", "retryable", ...}``.

        RunPod's SDK takes a returned dict's "error" as the failed job's error and the rest as
        its output. "error" is itself JSON (``{"code", "message", "retryable"}``) so a backend
        that reads only RunPod's error field still gets the code and whether to retry.
        """
        out = {
            "error": json.dumps(
                {"code": self.code.value, "message": self.message, "retryable": self.retryable}
            ),
            "error_code": self.code.value,
            "message": self.message,
            "retryable": self.retryable,
        }
        if self.details:
            out["details"] = self.details
        return out

    def __repr__(self) -> str:
        return f"WorkerError({self.code.value}, {self.message!r}, retryable={self.retryable})"


def invalid_field(field: str, message: str) -> WorkerError:
    """INVALID_INPUT about one job field: the message is ``<field>: <message>`` and
    ``details["fields"]`` lists it (as `contract.job.parse_job_input` reports field errors)."""
    problem = f"{field}: {message}"
    return WorkerError(ErrorCode.INVALID_INPUT, problem, details={"fields": [problem]})
