"""Download models.txt entries from the Hugging Face Hub into a ComfyUI models/ folder.

Each file is fetched with ``huggingface_hub.hf_hub_download`` into a staging folder of this
process on the same disk (``<models_dir>/.download/<host>-<pid>-<random>/<owner>--<repo>/``),
checked, flushed to disk and only then renamed to ``<models_dir>/<folder>/<file>`` (one atomic
``rename``), so a wrong or partial file never appears where ComfyUI looks.

* Several processes on one folder (workers sharing a network volume, or a pod filling it while
  workers start): each file is fetched under an exclusive ``fcntl.flock`` on
  ``<models_dir>/<folder>/<file>.lock``; a process that finds the lock taken waits, then finds
  the file in place and keeps it, so each file crosses the network once. The lock file is
  removed by its holder (a waiter that then holds a removed file's lock notices and locks the new
  one). Each staging folder is held by a lock too (``.download/<id>.lock``): one left by a
  process that died (e.g. killed by a start-up timeout) is removed by the next process. Where the
  file system has no flock (``ENOLCK``/``EOPNOTSUPP``), a warning is logged and the download goes
  on unlocked: files may then be fetched twice, never served partial.

* Authentication: huggingface_hub reads ``HF_TOKEN`` (and ``HF_ENDPOINT``, ``HF_HOME``) from the
  environment; gated repos need a token whose account accepted the licence.
* Resuming: huggingface_hub resumes a transfer that drops mid-file with an HTTP ``Range`` request
  (up to 5 tries, while bytes keep arriving). A file killed half-way is fetched again from the
  start next run (huggingface_hub 2.x keeps no partial file between processes), but every file
  that finished is kept and is only re-checked.
* Checking: before the transfer the Hub's advertised size and LFS sha256 are compared with
  models.txt (a wrong pin fails before gigabytes move); after it the file's size and streamed
  SHA-256 are compared again. A file that fails is deleted and reported as an error. A file
  already in place is checked by size and sha256, or by size only with ``hash_present=False``
  (the start-up fetch: every file this module places was hashed before its rename).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from .manifest import ModelFile, check_file, human_size, sha256_file

log = logging.getLogger(__name__)

STAGING = ".download"
DOWNLOADED, PRESENT, ERROR = "downloaded", "present", "error"
#: States passed to `download_one`'s ``on_state``: another process holds the file's lock and
#: this one waits for it (repeated about every `LOCK_POLL_S`), or this process fetches the file.
WAITING, FETCHING = "waiting", "fetching"
#: How often a process waiting for a file's lock tries again (seconds).
LOCK_POLL_S = 0.25
#: errno values meaning "this file system does not do flock".
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
_warned_no_locks = False


def _no_locks_warning(path: Path, err: OSError) -> None:
    global _warned_no_locks
    if not _warned_no_locks:
        _warned_no_locks = True
        log.warning("file locks are not supported on %s (%s): downloading without them; workers "
                    "sharing this folder may fetch the same file twice", path.parent, err)


def _lock_fd(fd: int, path: Path, on_wait: Callable[[], None] | None, poll_s: float) -> bool:
    """Take an exclusive flock on `fd`, waiting for it; False where the file system has none."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    except OSError as err:
        if err.errno not in _NO_LOCKS:
            raise
        _no_locks_warning(path, err)
        return False
    while True:
        if on_wait is not None:
            on_wait()
        time.sleep(poll_s)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            continue


@contextmanager
def file_lock(path: Path, on_wait: Callable[[], None] | None = None,
              poll_s: float = LOCK_POLL_S) -> Iterator[None]:
    """Hold an exclusive ``flock`` on `path` (created if missing) for the ``with`` block.

    Waits while another process holds it, calling `on_wait` about every `poll_s` seconds. The
    holder removes `path` when it leaves; a waiter that acquired the lock of a removed file
    (its inode is no longer the one at `path`) locks the new file instead. Where the file system
    has no flock the block runs unlocked, after one warning in the log.

    Raises:
        OSError: `path` cannot be created or opened (e.g. a read-only folder).
    """
    while True:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
        try:
            locked = _lock_fd(fd, path, on_wait, poll_s)
            if locked:
                try:
                    current = os.stat(path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    current = False
                if not current:  # the previous holder removed it: lock the file there now
                    continue
            try:
                yield
            finally:
                if locked:
                    path.unlink(missing_ok=True)  # while still holding it (see above)
            return
        finally:
            os.close(fd)  # releases the lock


class Staging:
    """This process's staging folder under ``<models_dir>/.download/``, held by a lock.

    Entering creates ``.download/<id>/`` and holds ``.download/<id>.lock`` (``<id>`` is
    ``<host>-<pid>-<random>``), after removing the folders of processes that no longer hold
    theirs (downloads killed half-way). Leaving removes the folder, the lock and ``.download``
    itself when nothing else is in it.
    """

    def __init__(self, models_dir: Path) -> None:
        self.root = Path(models_dir) / STAGING
        self.path: Path | None = None
        self._fd: int | None = None
        self._lock_path: Path | None = None

    def __enter__(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        self.clean_stale()
        host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname())[:40] or "host"
        while True:
            ident = f"{host}-{os.getpid()}-{secrets.token_hex(4)}"
            lock_path = self.root / f"{ident}.lock"
            try:
                fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileNotFoundError:  # another process removed the empty .download meanwhile
                self.root.mkdir(parents=True, exist_ok=True)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                if err.errno not in _NO_LOCKS:
                    os.close(fd)
                    raise
                _no_locks_warning(lock_path, err)
            try:
                if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)  # a cleaner removed it before we locked it: take another name
        self._fd, self._lock_path = fd, lock_path
        self.path = self.root / ident
        self.path.mkdir()
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_path is not None:
            self._lock_path.unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)
        self.path = self._fd = self._lock_path = None
        try:
            self.root.rmdir()  # only when empty: other processes may be staging there
        except OSError:
            pass

    def clean_stale(self) -> None:
        """Remove the staging folders whose owner no longer holds its lock (it died)."""
        for lock_path in self.root.glob("*.lock"):
            if lock_path == self._lock_path:
                continue
            try:
                fd = os.open(lock_path, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # alive (BlockingIOError), or no flock here: cannot tell, keep it
                os.close(fd)
                continue
            try:
                stale = self.root / lock_path.name.removesuffix(".lock")
                if stale.exists():
                    log.info("removing %s, left by a download that did not finish", stale)
                shutil.rmtree(stale, ignore_errors=True)
                lock_path.unlink(missing_ok=True)
            finally:
                os.close(fd)


@dataclass(frozen=True)
class DownloadResult:
    """What happened to one entry.

    Attributes:
        entry: the models.txt entry.
        status: DOWNLOADED, PRESENT (already there and not contradicting models.txt) or ERROR.
        message: human-readable detail (the check done, or the error).
        commit: the commit the Hub resolved the revision to, when it was asked.
        size: the file's size in bytes, when known.
        sha256: the file's sha256, when computed or advertised by the Hub.
    """

    entry: ModelFile
    status: str
    message: str
    commit: str | None = None
    size: int | None = None
    sha256: str | None = None

    @property
    def pin_line(self) -> str | None:
        """A models.txt line pinning what was fetched, when the entry itself is not pinned."""
        if self.status == ERROR or self.entry.pinned or not (self.commit and self.size and self.sha256):
            return None
        return replace(self.entry, revision=self.commit, size=self.size, sha256=self.sha256).line()


def download_all(entries: list[ModelFile], models_dir: Path, jobs: int = 4,
                 report: Callable[[DownloadResult], None] | None = None, *,
                 hash_present: bool = True,
                 on_state: Callable[[ModelFile, str], None] | None = None) -> list[DownloadResult]:
    """Download every entry not already present, `jobs` files at a time.

    Args:
        entries: the models.txt entries wanted.
        models_dir: a ComfyUI models/ folder (created if missing).
        jobs: worker threads (>= 1).
        report: called with each result as it completes (from the worker thread, serialised).
        hash_present: hash files already in place (else their size is checked).
        on_state: see `download_one`.

    Returns:
        One result per entry, in `entries` order. Errors are results, never raised (a staging
        folder that cannot be created makes every entry an error).
    """
    models_dir = Path(models_dir)
    lock = threading.Lock()
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        staging = Staging(models_dir)
        staging_dir = staging.__enter__()
    except OSError as err:
        results = [DownloadResult(e, ERROR, f"cannot write to {models_dir}: {err}") for e in entries]
        for r in results:
            if report is not None:
                report(r)
        return results

    def one(entry: ModelFile) -> DownloadResult:
        result = download_one(entry, models_dir, staging=staging_dir, hash_present=hash_present,
                              on_state=on_state)
        if report is not None:
            with lock:
                report(result)
        return result

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="models") as pool:
            return list(pool.map(one, entries))
    finally:
        staging.__exit__()


def _present(entry: ModelFile, dest: Path, hash_it: bool) -> DownloadResult | None:
    """A PRESENT result when `dest` is a file agreeing with `entry`, else None."""
    if not dest.is_file():
        return None
    existing = check_file(entry, dest, hash_it)
    if existing.failed:
        return None
    detail = f": {existing.detail}" if existing.detail else ""
    return DownloadResult(entry, PRESENT, f"already present ({existing.status}{detail})",
                          size=dest.stat().st_size, sha256=existing.sha256)


def download_one(entry: ModelFile, models_dir: Path, *, staging: Path | None = None,
                 hash_present: bool = True,
                 on_state: Callable[[ModelFile, str], None] | None = None) -> DownloadResult:
    """Make ``<models_dir>/<folder>/<file>`` hold `entry`'s file; never raises.

    A file already in place is kept when its size (and sha256, when pinned and `hash_present`)
    agree with models.txt, and replaced when they do not. The fetch runs under the file's lock
    (`file_lock`), and the file is looked for again once the lock is held: another process may
    have placed it meanwhile.

    Args:
        entry: the models.txt entry.
        models_dir: a ComfyUI models/ folder.
        staging: this process's staging folder (`Staging`); a private one when omitted.
        hash_present: hash a file already in place (else its size is checked).
        on_state: called with (`entry`, WAITING) while another process holds the file's lock
            (about every `LOCK_POLL_S`), and with (`entry`, FETCHING) when the transfer starts.
    """
    models_dir = Path(models_dir)
    dest = models_dir / entry.relpath
    try:
        present = _present(entry, dest, hash_present)
        if present is not None:
            return present
        dest.parent.mkdir(parents=True, exist_ok=True)
        waiting = (lambda: on_state(entry, WAITING)) if on_state is not None else None
        with file_lock(dest.with_name(dest.name + ".lock"), on_wait=waiting):
            present = _present(entry, dest, hash_present)  # placed while we waited?
            if present is not None:
                return present
            dest.unlink(missing_ok=True)  # a wrong file (size or hash)
            if on_state is not None:
                on_state(entry, FETCHING)
            if staging is not None:
                return _fetch(entry, staging, dest)
            with Staging(models_dir) as private:
                return _fetch(entry, private, dest)
    except GatedRepoError:
        return DownloadResult(entry, ERROR, f"{entry.repo} is gated: accept its licence on "
                              f"https://huggingface.co/{entry.repo} and set HF_TOKEN")
    except RepositoryNotFoundError:
        return DownloadResult(entry, ERROR, f"repo {entry.repo} not found (or private: set HF_TOKEN)")
    except RevisionNotFoundError:
        return DownloadResult(entry, ERROR, f"revision {entry.revision} not found in {entry.repo}")
    except EntryNotFoundError:
        return DownloadResult(entry, ERROR, f"{entry.repo_path} not found in {entry.repo}@{entry.revision}")
    except (HfHubHTTPError, OSError, ValueError) as err:
        return DownloadResult(entry, ERROR, f"{type(err).__name__}: {err}")


def _fetch(entry: ModelFile, staging: Path, dest: Path) -> DownloadResult:
    url = hf_hub_url(entry.repo, entry.repo_path, revision=entry.revision)
    meta = get_hf_file_metadata(url)
    hub_sha = meta.etag if meta.etag and re.fullmatch(r"[0-9a-f]{64}", meta.etag) else None
    if entry.size is not None and meta.size is not None and meta.size != entry.size:
        return DownloadResult(entry, ERROR, f"the Hub serves {meta.size} bytes at {entry.revision}, "
                              f"models.txt says {entry.size}: not downloaded", meta.commit_hash)
    if entry.sha256 and hub_sha and hub_sha != entry.sha256:
        return DownloadResult(entry, ERROR, f"the Hub's sha256 is {hub_sha}, models.txt says "
                              f"{entry.sha256}: not downloaded", meta.commit_hash)

    local_dir = staging / entry.repo.replace("/", "--")
    staged = Path(hf_hub_download(entry.repo, entry.repo_path, revision=entry.revision,
                                  local_dir=local_dir))
    # Check against models.txt, or against what the Hub advertised where models.txt has no pin.
    expected = replace(entry, size=entry.size if entry.size is not None else meta.size,
                       sha256=entry.sha256 or hub_sha)
    check = check_file(expected, staged)
    if check.failed:
        staged.unlink(missing_ok=True)
        what = "models.txt" if (entry.sha256 or entry.size) else "the Hub's advertised"
        return DownloadResult(entry, ERROR, f"{check.status} against {what} values "
                              f"({check.detail}): file deleted", meta.commit_hash)
    digest = check.sha256 or sha256_file(staged)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(staged, "rb") as fh:  # on disk before it has its final name
        os.fsync(fh.fileno())
    os.replace(staged, dest)  # atomic: the staging folder is on the same file system
    source = "models.txt" if entry.sha256 else ("the Hub's sha256" if hub_sha else None)
    verdict = f"sha256 matches {source}" if source else "unverified: no sha256 known"
    size = dest.stat().st_size
    return DownloadResult(entry, DOWNLOADED, f"{human_size(size)}, {verdict}", meta.commit_hash,
                          size, digest)
