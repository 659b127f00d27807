"""A stand-in for the Hugging Face Hub on loopback, for the endpoints huggingface_hub 2.x uses.

``hf_hub_download`` (read from huggingface_hub 2.4.0's file_download.py and utils/_http.py):

1. ``HEAD {endpoint}/{repo}/resolve/{revision}/{path}`` (with ``Authorization: Bearer <HF_TOKEN>``
   when a token is set). The Hub answers LFS files with a 302 to a CDN host carrying
   ``X-Repo-Commit``, ``X-Linked-Etag`` (the file's sha256), ``X-Linked-Size`` and ``Location``;
   a redirect to another host is not followed, the metadata is read from the 302 itself.
2. ``GET`` the Location (no Authorization header for another host); on a dropped connection it
   retries with ``Range: bytes=<received>-`` and expects a 206.

The stand-in serves files from memory. Its CDN is addressed as ``localhost`` while the Hub is
``127.0.0.1``, so huggingface_hub treats them as different hosts, as it does on the real Hub.
Unknown repos answer 404 with ``X-Error-Code: RepoNotFound``, unknown files 404 with
``X-Error-Code: EntryNotFound`` (the headers huggingface_hub maps to its errors).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class HubFile:
    """One file of a stand-in repo.

    Attributes:
        data: the bytes served.
        advertised_sha256: the sha256 the metadata claims (default: that of `data`); a value
            differing from the data's hash models a corrupted transfer.
        drop_first_get_after: when set, the first GET sends all headers and only this many body
            bytes, then closes the connection.
    """

    data: bytes
    advertised_sha256: str | None = None
    drop_first_get_after: int | None = None
    gets: int = 0

    @property
    def sha256(self) -> str:
        """The sha256 the stand-in advertises for this file."""
        return self.advertised_sha256 or hashlib.sha256(self.data).hexdigest()


@dataclass
class Request:
    """One request the stand-in received."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class HubStandIn:
    """The server: ``files[(repo, path)] = HubFile``; every request is kept in `requests`."""

    files: dict[tuple[str, str], HubFile] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def start(self) -> HubStandIn:
        """Serve on a free port of 127.0.0.1 in a daemon thread."""
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:  # the http.server method names
                hub._handle(self, head=True)

            def do_GET(self) -> None:
                hub._handle(self, head=False)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """The Hub endpoint (HF_ENDPOINT)."""
        return f"http://127.0.0.1:{self.port}"

    def add(self, repo: str, path: str, data: bytes, **kwargs) -> HubFile:
        """Publish `data` as `path` in `repo`; keyword arguments go to `HubFile`."""
        self.files[(repo, path)] = hub_file = HubFile(data, **kwargs)
        return hub_file

    def seen(self, method: str, contains: str) -> list[Request]:
        """The requests of `method` whose path contains `contains`."""
        return [r for r in self.requests if r.method == method and contains in r.path]

    # -- request handling ------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = unquote(h.path.split("?", 1)[0])
        self.requests.append(Request(h.command, path, {k.lower(): v for k, v in h.headers.items()}))
        if path.startswith("/cdn/"):
            return self._cdn(h, path, head)
        parts = path.lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return self._send(h, 404, {"X-Error-Code": "RepoNotFound"}, b"not found", head)
        repo, file_path = f"{parts[0]}/{parts[1]}", "/".join(parts[4:])  # parts[3]: any revision
        if not any(r == repo for r, _ in self.files):
            return self._send(h, 404, {"X-Error-Code": "RepoNotFound"}, b"no repo", head)
        hub_file = self.files.get((repo, file_path))
        if hub_file is None:
            return self._send(h, 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT},
                              b"no file", head)
        location = f"http://localhost:{self.port}/cdn/{repo}/{file_path}"
        self._send(h, 302, {"Location": location, "X-Repo-Commit": COMMIT,
                            "X-Linked-Etag": f'"{hub_file.sha256}"',
                            "X-Linked-Size": str(len(hub_file.data)), "ETag": '"w/pointer"'},
                   b"", head)

    def _cdn(self, h: BaseHTTPRequestHandler, path: str, head: bool) -> None:
        parts = path[len("/cdn/"):].split("/")
        hub_file = self.files.get((f"{parts[0]}/{parts[1]}", "/".join(parts[2:])))
        if hub_file is None:
            return self._send(h, 404, {}, b"gone", head)
        data, start = hub_file.data, 0
        rng = h.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng[6:].split("-")[0].isdigit():
            start = int(rng[6:].split("-")[0])
        status = 206 if start else 200
        body = data[start:]
        headers = {"ETag": f'"{hub_file.sha256}"', "Accept-Ranges": "bytes"}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if head:
            return self._send(h, status, headers, body, head=True)
        hub_file.gets += 1
        if hub_file.drop_first_get_after is not None and hub_file.gets == 1:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body[: hub_file.drop_first_get_after])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(2)
            return None
        self._send(h, status, headers, body, head=False)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes,
              head: bool) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)
