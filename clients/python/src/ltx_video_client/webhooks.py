"""Verify the worker's signed webhook events (Standard Webhooks; README "Webhooks").

The worker POSTs one event per job that had a ``webhook_url``: ``{"type": "video.succeeded" |
"video.failed", "timestamp", "data": {"job_id", "external_id", "output" | "error"}}`` with the
headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (HMAC-SHA256 with the
worker's WEBHOOK_SECRET, ``whsec_...``). Retries of one event keep its ``webhook-id``.

`verify_webhook` refuses, each with its own `errors.WebhookVerificationError` subclass: a request
without the three headers (unsigned), a timestamp more than 5 minutes from now (stale: the
Standard Webhooks tolerance), a body or header that does not match the signature (tampered or
another secret) and, when a `SeenStore` is given, a ``webhook-id`` seen before (replayed; it is
recorded only once the signature holds, so forged ids cannot fill the store). Answer a refusal
with HTTP 400 and act on nothing in it. ``data.job_id`` is RunPod's job id: check it against
the jobs you submitted before acting on an event.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as _LibError

from .errors import (
    JobFailed,
    WebhookReplayError,
    WebhookSignatureError,
    WebhookStaleError,
    WebhookUnsignedError,
    WebhookVerificationError,
    error_for,
)
from .outputs import JobOutput, parse_output

#: Seconds a ``webhook-timestamp`` may differ from now (Standard Webhooks' tolerance, as the library checks).
TOLERANCE_S = 300
EVENT_SUCCEEDED = "video.succeeded"
EVENT_FAILED = "video.failed"


class SeenStore(Protocol):
    """Where verified ``webhook-id``s are remembered (a set, Redis ``SET NX EX``, a database unique key)."""

    def add_if_new(self, webhook_id: str) -> bool:
        """Record `webhook_id`; True when it was new, False when it had been seen (atomically)."""
        ...


class MemorySeenStore:
    """A process-local `SeenStore`: ids kept `ttl_s` seconds (past the tolerance a replay is stale
    anyway), at most `max_ids` of them. Thread-safe. Use a shared store with several processes."""

    def __init__(self, ttl_s: float = 2 * TOLERANCE_S + 60, max_ids: int = 100_000) -> None:
        self.ttl_s, self.max_ids = ttl_s, max_ids
        self._ids: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add_if_new(self, webhook_id: str) -> bool:
        """Record `webhook_id`; False when it was seen within `ttl_s` (see `SeenStore`)."""
        now = time.monotonic()
        with self._lock:
            while self._ids and (len(self._ids) >= self.max_ids or next(iter(self._ids.values())) < now - self.ttl_s):
                self._ids.popitem(last=False)
            if webhook_id in self._ids:
                return False
            self._ids[webhook_id] = now
            return True


class WebhookData(BaseModel):
    """An event's ``data``: RunPod's job id, the job's external_id, and its output or error."""

    model_config = ConfigDict(extra="allow")
    job_id: str | None = None
    external_id: Any = None  # read by the worker from the raw input: as the job sent it
    output: dict | None = None
    error: dict | None = None


class WebhookEvent(BaseModel):
    """One verified event, with the headers it came with (`webhook_id` for deduplication)."""

    model_config = ConfigDict(extra="allow")
    type: str
    timestamp: str
    data: WebhookData
    webhook_id: str = ""
    webhook_timestamp: int = 0

    @property
    def succeeded(self) -> bool:
        """Whether the job made its video (``video.succeeded``)."""
        return self.type == EVENT_SUCCEEDED

    def output(self) -> JobOutput:
        """The typed job output of a ``video.succeeded`` event.

        Raises:
            JobFailed: the event is ``video.failed`` (the exception of its error code).
        """
        if not self.succeeded or self.data.output is None:
            raise self.failure()
        return parse_output(self.data.output)

    def failure(self) -> JobFailed:
        """The exception a ``video.failed`` event stands for (its code, message, retryable)."""
        error = self.data.error or {}
        return error_for(error.get("code", "INTERNAL"), str(error.get("message", "the job failed")),
                         retryable=error.get("retryable"), job_id=self.data.job_id)


def verify_webhook(body: bytes | str, headers: Mapping[str, str], secret: str, *,
                   seen: SeenStore | None = None) -> WebhookEvent:
    """Check a webhook request's signature and freshness, then parse its event.

    Args:
        body: the request body exactly as received (bytes; a str is taken as UTF-8).
        headers: the request headers (any case).
        secret: the worker's WEBHOOK_SECRET (``whsec_<base64>``).
        seen: where ``webhook-id``s are remembered; with it a replayed id is refused.

    Raises:
        WebhookUnsignedError, WebhookStaleError, WebhookSignatureError, WebhookReplayError:
            the request must not be trusted (module docstring); all are `WebhookVerificationError`.
        ValueError: `secret` is empty or not base64 (a configuration error, not the request's).
    """
    try:
        verifier = Webhook(secret)
    except Exception as err:  # the library raises its own types and binascii errors
        raise ValueError(f"webhook secret: not a Standard Webhooks secret (whsec_<base64>): {err}") from None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    webhook_id, stamp = lowered.get("webhook-id"), lowered.get("webhook-timestamp")
    if not (webhook_id and stamp and lowered.get("webhook-signature")):
        raise WebhookUnsignedError("webhook: the webhook-id, webhook-timestamp and webhook-signature headers are "
                                   "required (Standard Webhooks)")
    try:
        when = int(stamp)
    except ValueError:
        raise WebhookUnsignedError(f"webhook: webhook-timestamp is not whole Unix seconds: {stamp[:32]!r}") from None
    if abs(time.time() - when) > TOLERANCE_S:
        raise WebhookStaleError(f"webhook: webhook-timestamp {when} is {time.time() - when:+.0f} s from now, "
                                f"over the {TOLERANCE_S} s tolerance")
    try:
        payload = verifier.verify(body.encode() if isinstance(body, str) else bytes(body), lowered)
    except _LibError as err:
        if "timestamp" in str(err):
            raise WebhookStaleError(f"webhook: {err}") from None
        raise WebhookSignatureError("webhook: no signature matches the body (tampered, or signed with "
                                    "another secret)") from None
    except ValueError as err:  # signed, but not JSON
        raise WebhookVerificationError(f"webhook: the signed body is not JSON: {err}") from None
    if not isinstance(payload, dict):
        raise WebhookVerificationError("webhook: the signed body is not a JSON object")
    if seen is not None and not seen.add_if_new(webhook_id):
        raise WebhookReplayError(f"webhook: webhook-id {webhook_id!r} was seen before (replayed or a retry "
                                 "already handled)")
    return WebhookEvent.model_validate({**payload, "webhook_id": webhook_id, "webhook_timestamp": when})
