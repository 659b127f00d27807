"""The HTTP side of a webhook delivery: one POST whose answer cannot hold the worker.

`post_pinned` sends the event over a connection pinned to an SSRF-validated address (the RunPod
SDK's `rp_ssrf.PinnedIPAdapter`), reads the status line and headers only (``stream=True``,
``Accept-Encoding: identity``; the body is never read, the connection closed at once) and has a
`_Watchdog` shut the socket when its wall-clock limit passes (connect, send and answer together;
the model is `comfy.http.ComfyHttp._request`). `webhooks.WebhookSender` signs, retries and bounds
the whole delivery (security issue 23, finding 1).
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlparse

import requests
from runpod.serverless.utils import rp_ssrf


def url_port(url: str) -> int | None:
    """The URL's port (the scheme's default when none), None when it is not a valid one."""
    parsed = urlparse(url)
    try:
        return parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        return None


class _Watchdog:
    """Shuts the sockets of one attempt when its wall-clock limit passes.

    A read timeout bounds each socket read only: a server sending one byte a second holds an
    attempt for ever without it. Each socket is kept as a duplicate (``dup``): shutting that
    down ends the connection under the TLS wrapping too, which detaches the original.
    """

    def __init__(self, limit_s: float) -> None:
        self.fired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(limit_s, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._socks:
                sock.close()
            self._socks = []

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` when the limit passes (at once when it has passed already)."""
        with self._lock:
            self._socks.append(sock.dup())
            if self.fired:
                self._shut(self._socks[-1])

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._socks:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # closed already


class _WatchedAdapter(rp_ssrf.PinnedIPAdapter):
    """`rp_ssrf.PinnedIPAdapter` whose connections hand each socket they open to a `_Watchdog`."""

    def __init__(self, pinned_ip: str, watchdog: _Watchdog) -> None:
        self._watchdog = watchdog
        super().__init__(pinned_ip)

    def _pin(self, pool, url: str):  # noqa: ANN001, ANN202 - the SDK's signature
        pool = super()._pin(pool, url)
        base = pool.ConnectionCls
        if not getattr(base, "_ltxw_watched", False):
            watchdog = self._watchdog

            class Watched(base):  # urllib3's HTTP(S)Connection: `_new_conn` opens the socket
                _ltxw_watched = True

                def _new_conn(self) -> socket.socket:
                    sock = super()._new_conn()
                    watchdog.watch(sock)
                    return sock

            pool.ConnectionCls = Watched
        return pool


def post_pinned(url: str, body: bytes, headers: dict, limit_s: float) -> int:
    """POST `body` to `url` over a connection pinned to an SSRF-validated address; its status.

    Only the status line and headers are read: the body is never read (no decompression, no
    endless or dripping body) and the connection is closed at once. A `_Watchdog` shuts the
    socket when `limit_s` passes, whatever the server sends; name resolution comes before it.

    Raises:
        rp_ssrf.SSRFError: the host resolves to a non-public address (or not at all).
        requests.Timeout: no status line and headers within `limit_s`.
        requests.RequestException: no address could be reached, or the connection failed.
    """
    ips = rp_ssrf.resolve_and_validate(urlparse(url).hostname or "", url_port(url) or 0)
    headers = {**headers, "accept-encoding": "identity", "connection": "close"}
    last: Exception | None = None
    with _Watchdog(limit_s) as watchdog:
        for ip in ips:
            with requests.Session() as session:
                adapter = _WatchedAdapter(ip, watchdog)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                session.trust_env = False
                try:
                    resp = session.post(url, data=body, headers=headers, timeout=(limit_s, limit_s),
                                        stream=True, allow_redirects=False)
                except requests.RequestException as err:
                    if watchdog.fired:
                        raise requests.Timeout(f"no answer within {limit_s:.1f} s") from None
                    if not isinstance(err, requests.ConnectionError):
                        raise
                    last = err
                    continue
                resp.close()  # the body is never read
                return resp.status_code
    raise last or requests.ConnectionError("no address to connect to")
