"""A job's input files: fetch them without SSRF exposure; images checked and normalised here.

Every URL field (``image_urls``, ``last_image_url``, ``keyframes[i].image_url``, ``audio_url``,
``control_video_url``) goes through `fetch_source`; audio and video are probed in `media`.
Sources (SPEC.md, "image_urls"): an http(s) URL, fetched with the RunPod SDK's SSRF-safe
`safe_get` (only globally routable addresses, DNS pinned, redirects re-checked, size capped);
a ``data:`` URI; or a bare base64 string. A download is bounded in wall-clock time (the file's
budget and the job's deadline) and stops when the job is cancelled (`input_budget`). The bytes
are decoded with Pillow (JPEG, PNG or WebP), refused above a pixel cap (decompression bombs),
turned upright by their EXIF orientation and re-encoded as PNG under a name the worker makes, so
nothing of the input becomes a file path. Whatever goes wrong while decoding (a broken eXIf
chunk raises SyntaxError in Pillow) is INVALID_INPUT naming the field.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import io
import logging
import re
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests
import urllib3
from PIL import Image, ImageOps, UnidentifiedImageError
from runpod.serverless.utils import rp_ssrf

from .errors import ErrorCode, WorkerError, scrub
from .input_budget import NO_BUDGET, FileClock, InputBudget

log = logging.getLogger(__name__)

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
#: How often a download's watcher looks at the clock and the cancel event (s).
_POLL_S = 0.05
#: Shortest socket timeout a download gets (s), however little time is left.
_MIN_READ_TIMEOUT_S = 0.05
_CHUNK = 1 << 16
#: What a failed connection or read raises (requests while connecting, urllib3 and the socket
#: while reading the body).
_NETWORK_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)
#: What Pillow raises on a malformed file: a broken eXIf chunk gives SyntaxError ("not a TIFF
#: file") or struct.error from EXIF parsing, truncated data OSError, odd modes ValueError.
_PILLOW_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error, EOFError,
                  IndexError, KeyError, TypeError, ZeroDivisionError, Image.DecompressionBombError)
_DATA_URI = re.compile(r"^data:(?P<mime>[\w/+.-]*)(?P<params>(;[\w=.+-]+)*?)(?P<b64>;base64)?,", re.I)


def input_error(field: str, message: str, code: ErrorCode = ErrorCode.INVALID_INPUT, **kw: object) -> WorkerError:
    """A `WorkerError` about job field `field` (INVALID_INPUT unless `code` says otherwise); the
    message starts with the field's name."""
    return WorkerError(code, f"{field}: {message}", **kw)  # type: ignore[arg-type]


def _decode_base64(text: str, max_bytes: int, field: str) -> bytes:
    if len(text) > (max_bytes * 4) // 3 + 8:
        raise input_error(field, f"file is larger than the {max_bytes} byte limit")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise input_error(field, "not a valid base64 string or http(s)/data: URL") from None


def fetch_source(source: str, *, field: str, max_bytes: int, timeout_s: float,
                 budget: InputBudget = NO_BUDGET) -> bytes:
    """The raw bytes of one input file (`field` names the job field, for errors).

    An http(s) download may take at most `timeout_s` wall-clock seconds in all (connecting,
    waiting and reading however slowly the server sends) and must end by the job's deadline;
    it stops when the job is cancelled. It runs in its own thread, so the caller gets the error
    on time even while a socket read blocks; that thread stops at its next read.

    Raises:
        WorkerError: INVALID_INPUT for a refused destination (private address, bad scheme; the
            address goes to the log only), an oversized body or bad base64; INPUT_FETCH_FAILED
            (retryable for network errors, 5xx answers and a download over `timeout_s`) when the
            download fails; TIMEOUT past the job's deadline; CANCELLED when the job is cancelled.
    """
    if source.lower().startswith(("http://", "https://")):
        return _download(source, field, max_bytes, budget.file_clock(field, timeout_s))
    match = _DATA_URI.match(source)
    if match:
        if not match.group("b64"):
            raise input_error(field, "data: URIs must be base64-encoded")
        return _decode_base64(source[match.end() :], max_bytes, field)
    if ":" in source[:12]:
        raise input_error(field, "only http(s) URLs, data: URIs or base64 strings are accepted")
    return _decode_base64(source, max_bytes, field)


def _download(url: str, field: str, max_bytes: int, clock: FileClock) -> bytes:
    """`url`'s body, fetched by a `_Download` thread while this one watches `clock`."""
    chunks: list[bytes] = []
    _run_download(_Download(url, field, max_bytes, chunks.append), clock)
    return b"".join(chunks)


@dataclass(frozen=True)
class Fetched:
    """What `download_to` got: the HTTP status (200, or 304 when a conditional request matched:
    nothing written), the answer's validators and the bytes written."""

    status: int
    etag: str | None
    last_modified: str | None
    content_length: int | None
    bytes: int


def download_to(url: str, sink: Callable[[bytes], object], *, field: str, max_bytes: int, clock: FileClock,
                headers: dict[str, str] | None = None) -> Fetched:
    """Stream `url`'s body into `sink` (a file's ``write``, a hash's ``update``...) under the same
    rules as `fetch_source`'s downloads (SSRF-safe, `max_bytes` by Content-Length and while
    reading, `clock`'s budget, deadline and cancel). `headers` go with the request (e.g.
    ``If-None-Match``); a 304 answer is returned, not raised.

    Raises:
        WorkerError: as `fetch_source` for an http(s) URL.
    """
    job = _Download(url, field, max_bytes, sink, headers=headers)
    _run_download(job, clock)
    answer = job.headers
    length = answer.get("Content-Length", "")
    return Fetched(job.status, answer.get("ETag"), answer.get("Last-Modified"),
                   int(length) if length.isdigit() else None, job.total)


def _run_download(job: _Download, clock: FileClock) -> None:
    """Run `job` in its own thread while this one watches `clock`; raise its error, if any."""
    clock.check()
    job.read_timeout = max(_MIN_READ_TIMEOUT_S, clock.left())
    threading.Thread(target=job.run, name=f"ltxw-fetch-{job.field}", daemon=True).start()
    try:
        while not job.done.wait(_POLL_S):
            clock.check()
    finally:
        job.abandoned.set()  # a no-op once done; otherwise the thread drops the body at its next read
    if job.error is not None:
        raise job.error


class _Download:
    """One SSRF-safe GET, run in its own thread (`run`); its status, headers and error are kept
    for the caller, its body handed chunk by chunk to `sink`.

    The body is read with ``read1`` (one socket read at a time, each bounded by `read_timeout`),
    so a server that drips bytes cannot hold the thread in one big read once it is abandoned.
    """

    def __init__(self, url: str, field: str, max_bytes: int, sink: Callable[[bytes], object],
                 headers: dict[str, str] | None = None) -> None:
        self.url, self.field, self.max_bytes, self.sink, self.request_headers = url, field, max_bytes, sink, headers
        self.read_timeout = 30.0
        self.done = threading.Event()
        self.abandoned = threading.Event()
        self.status, self.headers, self.total = 0, {}, 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._get()
        except BaseException as err:  # handed to the caller, which decides
            self.error = err
        finally:
            self.done.set()

    def _get(self) -> None:
        field = self.field
        try:
            resp = rp_ssrf.safe_get(self.url, stream=True, timeout=self.read_timeout, max_bytes=self.max_bytes,
                                    headers=self.request_headers)
            with resp:
                self.status, self.headers = resp.status_code, resp.headers
                if resp.status_code >= 400:
                    raise input_error(field, f"download answered HTTP {resp.status_code}",
                                      ErrorCode.INPUT_FETCH_FAILED,
                                      retryable=resp.status_code >= 500 or resp.status_code == 429)
                if resp.status_code == 304:
                    return
                while not self.abandoned.is_set():
                    chunk = resp.raw.read1(_CHUNK, decode_content=True)
                    if not chunk:
                        return
                    self.total += len(chunk)
                    if self.total > self.max_bytes:
                        raise input_error(field, f"file is larger than the {self.max_bytes} byte limit")
                    self.sink(chunk)
        except rp_ssrf.SSRFError as err:
            if "size cap" in str(err):
                raise input_error(field, f"file is larger than the {self.max_bytes} byte limit") from None
            # the SDK's text names the address a host resolves to (10.0.0.1, an internal name's
            # address): the worker's log gets it, the job's sender a reason that tells nothing
            log.warning("%s: URL refused by the SSRF check: %s", field, scrub(str(err)))
            raise input_error(field, "URL refused: only public http(s) addresses may be fetched",
                              details={"reason": "not a public http(s) address"}) from None
        except _NETWORK_ERRORS as err:
            raise input_error(field, f"download failed ({type(err).__name__})", ErrorCode.INPUT_FETCH_FAILED) from None


def prepare_image(data: bytes, *, max_bytes: int, max_pixels: int,
                  field: str = "image_urls[0]") -> tuple[bytes, tuple[int, int]]:
    """Check and normalise an image: returns (PNG bytes, (width, height) in pixels) after EXIF
    rotation.

    Raises:
        WorkerError: INVALID_INPUT when the bytes are over `max_bytes`, not a JPEG/PNG/WebP
            image, over `max_pixels` pixels, or fail to decode (broken EXIF included).
    """
    if len(data) > max_bytes:
        raise input_error(field, f"image is larger than the {max_bytes} byte limit")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ALLOWED_FORMATS:
                raise input_error(field, f"image format {img.format} is not one of {', '.join(ALLOWED_FORMATS)}")
            w, h = img.size
            if w * h > max_pixels:
                raise input_error(field, f"image has {w}x{h} pixels, more than the {max_pixels} pixel limit")
            img.load()
            upright = ImageOps.exif_transpose(img).convert("RGB")
    except WorkerError:
        raise
    except _PILLOW_ERRORS as err:
        raise input_error(field, f"not a decodable image ({type(err).__name__})") from None
    buf = io.BytesIO()
    upright.save(buf, format="PNG")
    return buf.getvalue(), upright.size
