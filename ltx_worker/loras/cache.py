"""The LoRA cache: content-addressed files that several workers on one volume share (issue 20).

Layout under the cache's root (``LORA_CACHE_DIR``; registered with ComfyUI as a loras folder, so
a cached LoRA's ``lora_name`` is its file name):

* ``<sha256>.safetensors``: one file per content, named by its SHA-256, never rewritten. A URL
  whose content changes gets a new file under the new hash, so no URL can swap the bytes of a
  file another job is using.
* ``.urls/<sha256 of the URL>.json``: what a URL gave last time (hash, ETag, Last-Modified,
  Content-Length), so a URL seen before is revalidated with one conditional request
  (``If-None-Match`` / ``If-Modified-Since``) instead of fetched again.
* ``.locks/<key>.lock``: the model prefetch's per-file lock (`models.download.file_lock`), held
  while a URL or a hash is fetched: a second worker waits, then finds the file.
* ``.download/<host>-<pid>-<random>/``: this process's staging folder (`models.download.Staging`);
  a fetched file is hashed and checked there, flushed to disk and renamed into place (atomic on
  one file system), so no partial or unchecked file ever has a final name.

A job holds its files with a shared ``flock`` on the file itself (`LoraCache.hold`); eviction
(least recently used first, past ``LORA_CACHE_BYTES``) takes an exclusive, non-blocking lock
before unlinking, so it never removes a held file, nor one used in the last
``LORA_CACHE_MIN_AGE_S`` seconds (use touches the file's mtime).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from ..errors import ErrorCode
from ..input_budget import FileClock
from ..inputs import download_to, input_error
from ..models.download import Staging, file_lock

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
SUFFIX = ".safetensors"
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: How a `CachedLora` was found: by its sha256 (no request), by a URL revalidated with a
#: conditional request (304), or fetched.
BY_HASH, REVALIDATED, FETCHED = "sha256", "revalidated", "fetched"


@dataclass(frozen=True)
class CachedLora:
    """A LoRA file in the cache.

    Attributes:
        name: its file name, ComfyUI's ``lora_name`` (``<sha256>.safetensors``).
        path: where it is.
        sha256: its content's SHA-256 (hex).
        bytes: its size.
        hit: `BY_HASH`, `REVALIDATED` or `FETCHED`.
    """

    name: str
    path: Path
    sha256: str
    bytes: int
    hit: str


class LoraCache:
    """The cache at `root` (created when missing).

    Args:
        root: the folder (on the volume where workers share one).
        max_bytes: the size eviction keeps the cached files under.
        min_age_s: a file used more recently than this is never evicted.
    """

    def __init__(self, root: Path, *, max_bytes: int, min_age_s: float) -> None:
        self.root, self.max_bytes, self.min_age_s = Path(root), max_bytes, min_age_s
        for sub in ("", ".urls", ".locks"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoraCache:
        """The cache LORA_CACHE_DIR, LORA_CACHE_BYTES and LORA_CACHE_MIN_AGE_S describe."""
        return cls(settings.lora_cache_path, max_bytes=settings.lora_cache_bytes,
                   min_age_s=settings.lora_cache_min_age_s)

    def path_of(self, sha256: str) -> Path:
        """Where the file of content `sha256` is (or would be)."""
        return self.root / f"{sha256}{SUFFIX}"

    def get(self, *, field: str, url: str | None, sha256: str | None, check: Callable[[Path], T],
            max_bytes: int, clock: FileClock) -> tuple[CachedLora, T]:
        """The cached file of (`url`, `sha256`) and what `check` says of it.

        With `sha256` and its file present nothing is requested. Otherwise `url` is revalidated
        (seen before) or fetched (SSRF-safe, `max_bytes` by Content-Length and while streaming,
        `clock`'s budget, deadline and cancel), hashed, compared with `sha256` when given, and
        `check` runs on the staged file before it gets its final name; on a hit `check` runs on
        the cached file. Whatever `check` raises propagates and nothing new stays in the cache.

        Raises:
            WorkerError: INVALID_INPUT (`field` named) for a sha256 mismatch, no URL where the
                hash is not cached, or what the download raises (`inputs.download_to`).
        """
        if sha256 is not None and not _SHA256.fullmatch(sha256):
            raise input_error(field, "sha256 must be 64 lowercase hex digits")
        if sha256 is not None:
            found = self._present(sha256, BY_HASH)
            if found is not None:
                return found, check(found.path)
            if url is None:
                raise input_error(field, f"no LoRA with sha256 {sha256} in the cache, and no url to fetch it from")
        if url is None:
            raise input_error(field, "give a url (or the sha256 of a cached LoRA)")
        key = hashlib.sha256(url.encode()).hexdigest()
        with file_lock(self.root / ".locks" / f"url-{key}.lock", on_wait=clock.check):
            if sha256 is not None and (found := self._present(sha256, BY_HASH)) is not None:
                return found, check(found.path)  # another worker fetched it meanwhile
            return self._fetch(field, url, key, sha256, check, max_bytes, clock)

    def _fetch(self, field: str, url: str, key: str, sha256: str | None, check: Callable[[Path], T],
               max_bytes: int, clock: FileClock) -> tuple[CachedLora, T]:
        index = self.root / ".urls" / f"{key}.json"
        known = _read_json(index)
        headers = {}
        if known and self.path_of(known.get("sha256", "")).is_file():
            if known.get("etag"):
                headers["If-None-Match"] = known["etag"]
            if known.get("last_modified"):
                headers["If-Modified-Since"] = known["last_modified"]
        with Staging(self.root) as staging:
            part = staging / f"{key}.part"
            digest = hashlib.sha256()
            with open(part, "wb") as out:
                def sink(chunk: bytes) -> None:
                    out.write(chunk)
                    digest.update(chunk)
                got = download_to(url, sink, field=field, max_bytes=max_bytes, clock=clock, headers=headers or None)
                out.flush()
                os.fsync(out.fileno())
            if got.status == 304 and known:
                found = self._present(known["sha256"], REVALIDATED)
                if found is not None and (sha256 is None or sha256 == found.sha256):
                    return found, check(found.path)
                raise input_error(field, "the server says the LoRA is unchanged, but its cached file is gone; "
                                  "try again", ErrorCode.INPUT_FETCH_FAILED)
            actual = digest.hexdigest()
            if sha256 is not None and actual != sha256:
                raise input_error(field, f"the downloaded file's sha256 is {actual}, not the {sha256} given")
            result = check(part)
            dest = self.path_of(actual)
            with file_lock(self.root / ".locks" / f"{actual}.lock"):
                if not dest.is_file():
                    self.evict(incoming=got.bytes)
                    os.replace(part, dest)  # atomic: the staging folder is on the same file system
                    _fsync_dir(self.root)
                os.utime(dest)
        _write_json(index, {"sha256": actual, "etag": got.etag, "last_modified": got.last_modified,
                            "content_length": got.content_length, "host": urlsplit(url).hostname,
                            "fetched_at": time.time()})
        return CachedLora(dest.name, dest, actual, dest.stat().st_size, FETCHED), result

    def _present(self, sha256: str, hit: str) -> CachedLora | None:
        path = self.path_of(sha256)
        try:
            os.utime(path)  # the use that keeps it from eviction
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        return CachedLora(path.name, path, sha256, size, hit)

    @contextmanager
    def hold(self, lora: CachedLora) -> Iterator[None]:
        """Keep `lora`'s file from eviction for the ``with`` block (a shared ``flock`` on it).

        Raises:
            FileNotFoundError: the file was evicted before it could be held (fetch it again).
        """
        fd = os.open(lora.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            if os.stat(lora.path).st_ino != os.fstat(fd).st_ino:
                raise FileNotFoundError(lora.path)
            yield
        finally:
            os.close(fd)

    def cached(self) -> list[Path]:
        """The cached LoRA files, least recently used first."""
        files = [p for p in self.root.glob(f"*{SUFFIX}") if _SHA256.fullmatch(p.name[: -len(SUFFIX)])]
        return sorted(files, key=lambda p: p.stat().st_mtime)

    def evict(self, incoming: int = 0) -> list[Path]:
        """Remove least recently used files until the cache plus `incoming` bytes fits
        `max_bytes`, sparing held files and files used in the last `min_age_s` seconds; returns
        the files removed. It may stay over the cap when only such files are left."""
        files = self.cached()
        total = sum(p.stat().st_size for p in files) + incoming
        removed = []
        now = time.time()
        for path in files:
            if total <= self.max_bytes:
                break
            try:
                stat = path.stat()
                if now - stat.st_mtime < self.min_age_s:
                    continue
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # held by a job
                os.close(fd)
                continue
            try:
                path.unlink()
                total -= stat.st_size
                removed.append(path)
            finally:
                os.close(fd)
        if removed:
            log.info("LoRA cache: evicted %d file(s) to stay under %d bytes", len(removed), self.max_bytes)
        return removed


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) and _SHA256.fullmatch(str(value.get("sha256", ""))) else None


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
