"""Signed webhook deliveries to a studio backend (Standard Webhooks, SPEC.md "Security").

Every delivery is one JSON event ``{"type", "timestamp", "data"}`` POSTed with the Standard
Webhooks headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (HMAC-SHA256,
made by the `standardwebhooks` package from WEBHOOK_SECRET). The id is the same on every retry
of one event, so a backend can drop duplicates.

Retries (tenacity): on connection errors, timeouts, 408, 429 and 5xx answers, with exponential
backoff, at most WEBHOOK_MAX_ATTEMPTS attempts and never longer than WEBHOOK_MAX_TOTAL_S in
all; a webhook that never answers costs the job at most that bound and never its result.

The answer cannot hold the worker (security issue 23, finding 1): only its status line and
headers are read (``stream=True``, ``Accept-Encoding: identity``; the body is never read, the
connection closed at once), a watchdog shuts the socket when an attempt's wall-clock limit
passes (connect, send and answer together, as `comfy.http.ComfyHttp._request` does), and the
handler waits for a delivery running in its own daemon thread (`WebhookSender.start`) at most
WEBHOOK_MAX_TOTAL_S + `BOUND_MARGIN_S`, whatever the server or the name resolution does.

The URL passes the RunPod SDK's SSRF rules (`rp_ssrf.resolve_and_validate`: only globally
routable addresses unless RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS is set) and the connection is
pinned to the validated address (`rp_ssrf.PinnedIPAdapter`); redirects are not followed. A
refusal says so in general words; the address it resolved to goes to the log only (finding 7).
A job's webhook_url must also name a host of WEBHOOK_ALLOWED_HOSTS when one is configured
(`check_webhook_url`, finding 6).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
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

from ..config import Settings
from ..config_rules import host_matches
from ..errors import ErrorCode, WorkerError
from .webhook_post import post_pinned, url_port

log = logging.getLogger(__name__)

#: Event types this worker sends.
EVENT_SUCCEEDED = "video.succeeded"
EVENT_FAILED = "video.failed"

#: Seconds the handler waits for a delivery past WEBHOOK_MAX_TOTAL_S before it reports a timeout.
BOUND_MARGIN_S = 0.5

#: What a caller is told when the SSRF rules refuse a webhook URL (no address: finding 7).
REFUSED = "only http(s) URLs whose host resolves to public addresses may receive webhooks"


class _RetryableDelivery(Exception):
    """An attempt that may succeed when repeated (network error, 408, 429, 5xx)."""


@dataclass
class DeliveryReport:
    """What happened to one event.

    Attributes:
        delivered: whether the backend answered 2xx.
        attempts: HTTP attempts made.
        status: the last HTTP status (None when no answer came).
        error: why it was not delivered (no URL, host, address or secret in it).
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


@dataclass
class _Progress:
    """The attempts of one delivery so far (read by `PendingDelivery` when it stops waiting)."""

    attempts: int = 0
    status: int | None = None
    error: str | None = None


def check_webhook_url(url: str, field: str = "webhook_url", allowed_hosts: Sequence[str] = ()) -> None:
    """Refuse a webhook URL that is not http(s), names a host outside `allowed_hosts` (when any
    are given: WEBHOOK_ALLOWED_HOSTS, `config_rules.host_matches`) or does not resolve to public
    addresses only (the same SSRF rules as image URLs; the address goes to the log only).

    Raises:
        WorkerError: INVALID_INPUT naming `field`.
    """
    parsed = urlparse(url)
    port = url_port(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or port is None:
        raise WorkerError(ErrorCode.INVALID_INPUT, f"{field}: must be an http(s) URL")
    if allowed_hosts and not host_matches(parsed.hostname, allowed_hosts):
        raise WorkerError(ErrorCode.INVALID_INPUT, f"{field}: host {parsed.hostname!r} is not one this worker "
                          "sends webhooks to (WEBHOOK_ALLOWED_HOSTS)")
    try:
        rp_ssrf.resolve_and_validate(parsed.hostname, port)
    except rp_ssrf.SSRFError as err:
        log.warning("%s refused by the SSRF rules: %s", field, err)
        raise WorkerError(ErrorCode.INVALID_INPUT, f"{field}: refused: {REFUSED}") from None


def make_sender(settings: Settings) -> WebhookSender | None:
    """The worker's sender from the WEBHOOK_* settings; None without WEBHOOK_SECRET (no webhooks).

    Logs a warning when no host list applies (neither WEBHOOK_URL nor WEBHOOK_ALLOWED_HOSTS):
    then a job's webhook_url may name any public host and gets events signed with the secret.
    """
    secret = settings.webhook_secret
    if not secret:
        return None
    if not settings.webhook_allowed_host_list:
        log.warning("neither WEBHOOK_URL nor WEBHOOK_ALLOWED_HOSTS is set: events signed with WEBHOOK_SECRET go "
                    "to any public host a job's webhook_url names; set WEBHOOK_ALLOWED_HOSTS to restrict them")
    return WebhookSender(secret.get_secret_value(), attempt_timeout_s=settings.webhook_attempt_timeout_s,
                         max_attempts=settings.webhook_max_attempts, max_total_s=settings.webhook_max_total_s)


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

        Each attempt ends within ``min(attempt_timeout_s, time left)`` (a watchdog, whatever the
        server sends); the whole ends about `max_total_s` after it began, name resolution aside
        (`start` bounds that too).

        Args:
            url: the backend's webhook URL (checked by the SSRF rules at every attempt).
            event_type: `EVENT_SUCCEEDED` or `EVENT_FAILED`.
            data: the event payload (the job result or error), JSON-serialisable.
            webhook_id: the event id; a fresh ``msg_<uuid>`` when omitted.

        Returns:
            A `DeliveryReport`; ``delivered`` is False after the attempts or the time bound ran out.
        """
        return self._deliver(url, event_type, data, webhook_id or f"msg_{uuid.uuid4().hex}", _Progress())

    def start(self, url: str, event_type: str, data: dict, webhook_id: str | None = None) -> PendingDelivery:
        """Begin `deliver` in a daemon thread; await `PendingDelivery.report` for its outcome.

        Called on the running event loop (the handler's). The thread is a daemon so that a
        delivery still running (a hung name resolution) never holds the worker's exit.
        """
        return PendingDelivery(self, url, event_type, data, webhook_id or f"msg_{uuid.uuid4().hex}")

    def _deliver(self, url: str, event_type: str, data: dict, webhook_id: str, progress: _Progress) -> DeliveryReport:
        now = datetime.now(UTC)
        body = json.dumps(
            {"type": event_type, "timestamp": now.isoformat(), "data": data}, separators=(",", ":")
        )
        start = time.monotonic()

        def attempt() -> None:
            progress.attempts += 1
            remaining = self.max_total_s - (time.monotonic() - start)
            headers = self.sign(webhook_id, body, datetime.now(UTC))
            try:
                status = post_pinned(url, body.encode(), headers, max(0.1, min(self.attempt_timeout_s, remaining)))
            except rp_ssrf.SSRFError as err:
                log.warning("webhook %s refused by the SSRF rules: %s", webhook_id, err)
                progress.error = f"refused by the SSRF rules: {REFUSED}"
                raise
            except requests.RequestException as err:
                progress.error = f"no answer ({type(err).__name__})"
                raise _RetryableDelivery() from None
            progress.status = status
            if 200 <= status < 300:
                progress.error = None
                return
            progress.error = f"answered HTTP {status}"
            if status in (408, 429) or status >= 500:
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
            delivered=progress.error is None and progress.status is not None,
            attempts=progress.attempts,
            status=progress.status,
            error=progress.error,
            webhook_id=webhook_id,
            elapsed_s=round(time.monotonic() - start, 3),
        )
        level = logging.INFO if report.delivered else logging.WARNING
        log.log(level, "webhook %s %s: %s", webhook_id, event_type,
                "delivered" if report.delivered else report.error)
        return report


class PendingDelivery:
    """One delivery running in its own daemon thread (`WebhookSender.start`).

    Attributes:
        webhook_id: the event's ``webhook-id``.
        bound_s: the most `report` waits from the start: WEBHOOK_MAX_TOTAL_S + `BOUND_MARGIN_S`.
    """

    def __init__(self, sender: WebhookSender, url: str, event_type: str, data: dict, webhook_id: str) -> None:
        self.webhook_id = webhook_id
        self.bound_s = sender.max_total_s + BOUND_MARGIN_S
        self._max_total_s = sender.max_total_s
        self._progress = _Progress()
        self._loop = asyncio.get_running_loop()
        self._done: asyncio.Future[DeliveryReport] = self._loop.create_future()
        self._t0 = time.monotonic()
        threading.Thread(target=self._run, args=(sender, url, event_type, data), daemon=True,
                         name=f"webhook-{webhook_id}").start()

    def _run(self, sender: WebhookSender, url: str, event_type: str, data: dict) -> None:
        try:
            report = sender._deliver(url, event_type, data, self.webhook_id, self._progress)
        except Exception:  # noqa: BLE001 - deliver never raises; should it, the report says so
            log.exception("webhook %s: unexpected error", self.webhook_id)
            report = self._report("unexpected worker error; see the worker log")
        try:
            self._loop.call_soon_threadsafe(self._settle, report)
        except RuntimeError:  # the loop is closed: nobody waits for it any more
            pass

    def _settle(self, report: DeliveryReport) -> None:
        if not self._done.done():
            self._done.set_result(report)

    def _report(self, error: str) -> DeliveryReport:
        p = self._progress
        return DeliveryReport(False, p.attempts, p.status, error, self.webhook_id,
                              round(time.monotonic() - self._t0, 3))

    async def report(self) -> DeliveryReport:
        """The delivery's report, or one saying it timed out once `bound_s` passed since the start
        (the thread may go on; it ends on its own, and never holds the process). Never raises,
        but for the awaiting task's own cancellation."""
        left = self._t0 + self.bound_s - time.monotonic()
        try:
            return await asyncio.wait_for(asyncio.shield(self._done), max(0.0, left))
        except TimeoutError:
            log.warning("webhook %s: no outcome within WEBHOOK_MAX_TOTAL_S; not waiting any longer", self.webhook_id)
            return self._report(f"timed out: no answer within WEBHOOK_MAX_TOTAL_S ({self._max_total_s:g} s)")
