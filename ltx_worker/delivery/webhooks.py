"""Signed webhook deliveries to a studio backend (Standard Webhooks, SPEC.md "Security").

Every delivery is one JSON event ``{"type", "timestamp", "data"}`` POSTed with the Standard
Webhooks headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (HMAC-SHA256,
made by the `standardwebhooks` package from WEBHOOK_SECRET). The id is the same on every retry
of one event, so a backend can drop duplicates.

Retries (tenacity): on connection errors, timeouts, 408, 429 and 5xx answers, with exponential
backoff, at most WEBHOOK_MAX_ATTEMPTS attempts and never longer than WEBHOOK_MAX_TOTAL_S in
all; a webhook that never answers costs the job at most that bound and never its result.

The URL passes the RunPod SDK's SSRF rules (`rp_ssrf.resolve_and_validate`: only globally
routable addresses unless RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS is set) and the connection is
pinned to the validated address (`rp_ssrf.PinnedIPAdapter`); redirects are not followed.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from urllib.parse import urlparse

import requests
from runpod.serverless.utils import rp_ssrf
from standardwebhooks import Webhook
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from ..errors import ErrorCode, WorkerError

log = logging.getLogger(__name__)

#: Event types this worker sends.
EVENT_SUCCEEDED = "video.succeeded"
EVENT_FAILED = "video.failed"


class _RetryableDelivery(Exception):
    """An attempt that may succeed when repeated (network error, 408, 429, 5xx)."""


@dataclass
class DeliveryReport:
    """What happened to one event.

    Attributes:
        delivered: whether the backend answered 2xx.
        attempts: HTTP attempts made.
        status: the last HTTP status (None when no answer came).
        error: why it was not delivered (no URL, host or secret in it).
        webhook_id: the event's ``webhook-id``.
        elapsed_s: seconds spent, retries and backoff included.
    """

    delivered: bool
    attempts: int
    status: int | None
    error: str | None
    webhook_id: str
    elapsed_s: float

    def to_dict(self) -> dict:
        """JSON-safe form for the job result."""
        return asdict(self)


def check_webhook_url(url: str, field: str = "webhook_url") -> None:
    """Refuse a webhook URL that is not http(s) or does not resolve to a public address.

    Raises:
        WorkerError: INVALID_INPUT naming `field` (the same SSRF rules as image URLs).
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise WorkerError(ErrorCode.INVALID_INPUT, f"{field}: must be an http(s) URL")
    try:
        rp_ssrf.resolve_and_validate(parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))
    except rp_ssrf.SSRFError as err:
        raise WorkerError(ErrorCode.INVALID_INPUT, f"{field}: refused ({err})") from None


def _post_pinned(url: str, body: bytes, headers: dict, timeout_s: float) -> requests.Response:
    """POST `body` to `url` over a connection pinned to an SSRF-validated address."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    ips = rp_ssrf.resolve_and_validate(parsed.hostname or "", port)
    last: Exception | None = None
    for ip in ips:
        with requests.Session() as session:
            adapter = rp_ssrf.PinnedIPAdapter(ip)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.trust_env = False
            try:
                return session.post(
                    url, data=body, headers=headers, timeout=timeout_s, allow_redirects=False
                )
            except requests.ConnectionError as err:
                last = err
    raise last or requests.ConnectionError("no address to connect to")


class WebhookSender:
    """Signs and delivers events with bounded retries.

    Args:
        secret: Standard Webhooks secret (``whsec_<base64>``).
        attempt_timeout_s: timeout of one HTTP attempt (connect + answer).
        max_attempts: attempts per event.
        max_total_s: bound on one delivery, backoff included.
    """

    def __init__(
        self,
        secret: str,
        *,
        attempt_timeout_s: float = 10.0,
        max_attempts: int = 5,
        max_total_s: float = 30.0,
    ) -> None:
        self._signer = Webhook(secret)
        self.attempt_timeout_s = attempt_timeout_s
        self.max_attempts = max_attempts
        self.max_total_s = max_total_s

    def sign(self, webhook_id: str, body: str, when: datetime) -> dict[str, str]:
        """The Standard Webhooks headers for `body` sent as `webhook_id` at `when`."""
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": self._signer.sign(webhook_id, when, body),
            "content-type": "application/json",
            "user-agent": "ltx-worker-webhook/1",
        }

    def deliver(self, url: str, event_type: str, data: dict, webhook_id: str | None = None) -> DeliveryReport:
        """POST one signed event to `url`; never raises.

        Args:
            url: the backend's webhook URL (checked by the SSRF rules at every attempt).
            event_type: `EVENT_SUCCEEDED` or `EVENT_FAILED`.
            data: the event payload (the job result or error), JSON-serialisable.
            webhook_id: the event id; a fresh ``msg_<uuid>`` when omitted.

        Returns:
            A `DeliveryReport`; ``delivered`` is False after the attempts or the time bound ran out.
        """
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        now = datetime.now(UTC)
        body = json.dumps(
            {"type": event_type, "timestamp": now.isoformat(), "data": data}, separators=(",", ":")
        )
        start = time.monotonic()
        state = {"attempts": 0, "status": None, "error": None}

        def attempt() -> None:
            state["attempts"] += 1
            remaining = self.max_total_s - (time.monotonic() - start)
            headers = self.sign(webhook_id, body, datetime.now(UTC))
            try:
                resp = _post_pinned(url, body.encode(), headers, max(0.1, min(self.attempt_timeout_s, remaining)))
            except rp_ssrf.SSRFError as err:
                state["error"] = f"refused by the SSRF rules: {err}"
                raise
            except requests.RequestException as err:
                state["error"] = f"no answer ({type(err).__name__})"
                raise _RetryableDelivery() from None
            state["status"] = resp.status_code
            resp.close()
            if 200 <= resp.status_code < 300:
                state["error"] = None
                return
            state["error"] = f"answered HTTP {resp.status_code}"
            if resp.status_code in (408, 429) or resp.status_code >= 500:
                raise _RetryableDelivery()

        def wait(retry_state: RetryCallState) -> float:
            remaining = self.max_total_s - (time.monotonic() - start)
            return max(0.0, min(wait_exponential(multiplier=0.5, max=8)(retry_state), remaining - 0.1))

        try:
            for try_ in Retrying(
                stop=stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_total_s - 0.2),
                wait=wait,
                retry=retry_if_exception_type(_RetryableDelivery),
                reraise=True,
            ):
                with try_:
                    attempt()
        except (_RetryableDelivery, rp_ssrf.SSRFError):
            pass
        report = DeliveryReport(
            delivered=state["error"] is None and state["status"] is not None,
            attempts=state["attempts"],
            status=state["status"],
            error=state["error"],
            webhook_id=webhook_id,
            elapsed_s=round(time.monotonic() - start, 3),
        )
        level = logging.INFO if report.delivered else logging.WARNING
        log.log(level, "webhook %s %s: %s", webhook_id, event_type,
                "delivered" if report.delivered else report.error)
        return report
