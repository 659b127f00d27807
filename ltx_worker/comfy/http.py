"""The HTTP side of the ComfyUI client: every request bounded by the job's deadline.

`ComfyHttp.call_timeout` cuts the client's request timeout to the time a job has left (plus a
grace for the calls that stop or clean up a prompt); `ComfyHttp._request` makes one request with
that limit (a watchdog closes a body that trickles past it) and turns any library failure into a
`WorkerError` in our own words; the library's text goes to the log only.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import urllib3
import websocket

from ..errors import ErrorCode, WorkerError

log = logging.getLogger(__name__)

#: Seconds past the job deadline the calls that stop a prompt (queue delete + interrupt, together)
#: and clean up after it (history delete, /free) may take: a ComfyUI that does not answer them
#: within it is frozen, and the job asks RunPod to replace the worker.
CANCEL_GRACE_S = 2.0


@dataclass(frozen=True)
class _Reply:
    """A ComfyUI answer read in full: status and body (see `ComfyClient._request`)."""

    status_code: int
    content: bytes
    what: str

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    def json(self) -> Any:
        """The body as JSON; COMFY_UNAVAILABLE when it is not JSON."""
        try:
            return json.loads(self.content)
        except ValueError:
            raise WorkerError(
                ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI sent an answer to {self.what} that is not JSON"
            ) from None


def _chain(err: BaseException) -> list[BaseException]:
    """`err`, its causes and contexts, and exceptions wrapped in their first argument."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [err]
    while todo and len(seen) < 20:
        cur = todo.pop()
        if cur is None or any(cur is s for s in seen):
            continue
        seen.append(cur)
        todo += [cur.__cause__, cur.__context__]
        todo += [a for a in getattr(cur, "args", ())[:2] if isinstance(a, BaseException)]
        reason = getattr(cur, "reason", None)  # urllib3's MaxRetryError wraps its cause here
        todo.append(reason if isinstance(reason, BaseException) else None)
    return seen


def _is_timeout(err: BaseException) -> bool:
    """Whether `err` (requests, urllib3, websocket-client or socket) means no answer in time."""
    kinds = (requests.Timeout, urllib3.exceptions.TimeoutError, websocket.WebSocketTimeoutException, TimeoutError)
    not_timeouts = urllib3.exceptions.NewConnectionError  # a ConnectTimeoutError subclass, but no timeout
    return any(isinstance(e, kinds) and not isinstance(e, not_timeouts) for e in _chain(err))


def _is_refused(err: BaseException) -> bool:
    """Whether `err` means nothing listens on ComfyUI's port."""
    return any(isinstance(e, ConnectionRefusedError) for e in _chain(err))


class ComfyHttp:
    """HTTP calls to one ComfyUI with deadline-bounded time limits (the base of `ComfyClient`).

    Args:
        base_url: HTTP base URL, e.g. ``http://127.0.0.1:8188``.
        request_timeout_s: the most one HTTP request may take, seconds (less when a call's
            deadline is nearer).
    """

    def __init__(self, base_url: str, request_timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = request_timeout_s
        self.http = requests.Session()
        #: Whether ComfyUI left the last call unanswered (it timed out); any answer clears it.
        #: Best-effort clean-up calls (`forget`, `free`) are skipped while it is set.
        self.unanswered = False

    # -- time limits --------------------------------------------------------------------------
    def call_timeout(
        self, deadline: float | None = None, *, grace: float = 0.0, cap: float | None = None
    ) -> tuple[float, bool]:
        """Seconds the next call may take, and whether the deadline (not `cap`) sets them.

        Args:
            deadline: the job's end (`time.monotonic()`), or None for no deadline.
            grace: seconds the call may run past `deadline` (the calls that stop a prompt).
            cap: the most the call may take; the client's request timeout when None.

        Raises:
            WorkerError: TIMEOUT when the deadline (plus grace) has passed already.
        """
        cap = self.timeout if cap is None else cap
        if deadline is None:
            return cap, False
        left = deadline + grace - time.monotonic()
        if left <= 0:
            raise WorkerError(ErrorCode.TIMEOUT, "the job deadline passed before ComfyUI was asked")
        return (left, True) if left < cap else (cap, False)

    def _no_answer(self, what: str, limit: float, by_deadline: bool) -> WorkerError:
        self.unanswered = True
        if by_deadline:
            return WorkerError(
                ErrorCode.TIMEOUT, f"ComfyUI did not answer {what} before the job deadline", refresh_worker=True
            )
        return WorkerError(ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI did not answer {what} within {limit:.0f} s")

    def _failure(
        self, err: BaseException, what: str, limit: float, by_deadline: bool, quiet: bool = False
    ) -> WorkerError:
        """Our own sentence for a failed call (the library's text goes to the log only)."""
        log.log(logging.DEBUG if quiet else logging.WARNING, "ComfyUI %s failed: %s: %s", what, type(err).__name__, err)
        if _is_refused(err):  # first: urllib3's NewConnectionError is a ConnectTimeoutError too
            return WorkerError(
                ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI refused the connection for {what} (it is not running)"
            )
        if _is_timeout(err):
            return self._no_answer(what, limit, by_deadline)
        return WorkerError(ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI dropped the connection during {what}")

    # -- plain HTTP ---------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        deadline: float | None = None,
        grace: float = 0.0,
        cap: float | None = None,
        to_file: Path | None = None,
        quiet: bool = False,
        what: str | None = None,
        **kwargs: Any,
    ) -> _Reply:
        """One HTTP call that ends within its time limit (`call_timeout`), body included.

        The connection and each read wait at most the limit, and a watchdog shuts the socket
        when the limit passes while the body still arrives. With `to_file`, a 2xx body is
        streamed into that file instead of memory. `quiet` logs failures at debug level (polls);
        `what` names the call in messages (default: the method and the path's first part).

        Raises:
            WorkerError: TIMEOUT (``refresh_worker``) when ComfyUI did not answer before the
                deadline; COMFY_UNAVAILABLE when it did not answer within the cap, refused the
                connection or dropped it.
        """
        what = what or f"{method} /{path.split('?')[0].strip('/').split('/')[0]}"  # no ids: scrub eats paths
        limit, by_deadline = self.call_timeout(deadline, grace=grace, cap=cap)
        end = time.monotonic() + limit
        try:
            resp = self.http.request(method, self.base_url + path, timeout=(limit, limit), stream=True, **kwargs)
        except requests.RequestException as err:
            raise self._failure(err, what, limit, by_deadline, quiet) from None
        cut = threading.Event()

        def watchdog() -> None:
            cut.set()
            try:
                resp.raw.shutdown()
            except Exception:  # noqa: BLE001 - best effort: the read timeout still applies
                pass

        timer = threading.Timer(max(0.0, end - time.monotonic()), watchdog)
        timer.daemon = True
        timer.start()
        body = bytearray()
        try:
            if to_file is not None and resp.ok:
                to_file.parent.mkdir(parents=True, exist_ok=True)
                with open(to_file, "wb") as fh:
                    for chunk in resp.iter_content(1 << 20):
                        fh.write(chunk)
            else:
                for chunk in resp.iter_content(1 << 16):
                    body += chunk
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as err:
            if cut.is_set():
                raise self._no_answer(what, limit, by_deadline) from None
            library = isinstance(err, (requests.RequestException, urllib3.exceptions.HTTPError))
            if not library and not isinstance(err, (TimeoutError, ConnectionError)):
                raise  # writing `to_file` failed: a local error, not ComfyUI's
            raise self._failure(err, what, limit, by_deadline, quiet) from None
        finally:
            timer.cancel()
            resp.close()
        self.unanswered = False
        return _Reply(resp.status_code, bytes(body), what)
