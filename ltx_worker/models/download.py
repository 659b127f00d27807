"""Download models.txt entries from the Hugging Face Hub into a ComfyUI models/ folder.

Each file is fetched with ``huggingface_hub.hf_hub_download`` into a staging folder on the same
disk (``<models_dir>/.download/<owner>--<repo>/``), checked, and only then moved to
``<models_dir>/<folder>/<file>``, so a wrong or partial file never appears where ComfyUI looks.

* Authentication: huggingface_hub reads ``HF_TOKEN`` (and ``HF_ENDPOINT``, ``HF_HOME``) from the
  environment; gated repos need a token whose account accepted the licence.
* Resuming: huggingface_hub resumes a transfer that drops mid-file with an HTTP ``Range`` request
  (up to 5 tries, while bytes keep arriving). A file killed half-way is fetched again from the
  start next run (huggingface_hub 2.x keeps no partial file between processes), but every file
  that finished is kept and is only re-checked.
* Checking: before the transfer the Hub's advertised size and LFS sha256 are compared with
  models.txt (a wrong pin fails before gigabytes move); after it the file's size and streamed
  SHA-256 are compared again. A file that fails is deleted and reported as an error.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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

STAGING = ".download"
DOWNLOADED, PRESENT, ERROR = "downloaded", "present", "error"


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
        e = self.entry
        return ModelFile(e.folder, e.filename, e.repo, self.commit, e.repo_path, self.size,
                         self.sha256, e.profiles).line()


def download_all(entries: list[ModelFile], models_dir: Path, jobs: int = 4,
                 report: Callable[[DownloadResult], None] | None = None) -> list[DownloadResult]:
    """Download every entry not already present, `jobs` files at a time.

    Args:
        entries: the models.txt entries wanted.
        models_dir: a ComfyUI models/ folder (created if missing).
        jobs: worker threads (>= 1).
        report: called with each result as it completes (from the worker thread, serialised).

    Returns:
        One result per entry, in `entries` order. Errors are results, never raised.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()

    def one(entry: ModelFile) -> DownloadResult:
        result = download_one(entry, models_dir)
        if report is not None:
            with lock:
                report(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="models") as pool:
        results = list(pool.map(one, entries))
    shutil.rmtree(models_dir / STAGING, ignore_errors=True)
    return results


def download_one(entry: ModelFile, models_dir: Path) -> DownloadResult:
    """Make ``<models_dir>/<folder>/<file>`` hold `entry`'s file; never raises.

    A file already in place is kept when its size (and sha256, when pinned) agree with
    models.txt, and replaced when they do not.
    """
    dest = Path(models_dir) / entry.relpath
    if dest.is_file():
        existing = check_file(entry, dest)
        if not existing.failed:
            return DownloadResult(entry, PRESENT, f"already present ({existing.status})",
                                  size=dest.stat().st_size, sha256=existing.sha256)
        dest.unlink()
    try:
        return _fetch(entry, Path(models_dir), dest)
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


def _fetch(entry: ModelFile, models_dir: Path, dest: Path) -> DownloadResult:
    url = hf_hub_url(entry.repo, entry.repo_path, revision=entry.revision)
    meta = get_hf_file_metadata(url)
    hub_sha = meta.etag if meta.etag and re.fullmatch(r"[0-9a-f]{64}", meta.etag) else None
    if entry.size is not None and meta.size is not None and meta.size != entry.size:
        return DownloadResult(entry, ERROR, f"the Hub serves {meta.size} bytes at {entry.revision}, "
                              f"models.txt says {entry.size}: not downloaded", meta.commit_hash)
    if entry.sha256 and hub_sha and hub_sha != entry.sha256:
        return DownloadResult(entry, ERROR, f"the Hub's sha256 is {hub_sha}, models.txt says "
                              f"{entry.sha256}: not downloaded", meta.commit_hash)

    staging = models_dir / STAGING / entry.repo.replace("/", "--")
    staged = Path(hf_hub_download(entry.repo, entry.repo_path, revision=entry.revision,
                                  local_dir=staging))
    # Check against models.txt, or against what the Hub advertised where models.txt has no pin.
    expected = ModelFile(entry.folder, entry.filename, entry.repo, entry.revision, entry.repo_path,
                         entry.size if entry.size is not None else meta.size,
                         entry.sha256 or hub_sha, entry.profiles)
    check = check_file(expected, staged)
    if check.failed:
        staged.unlink(missing_ok=True)
        what = "models.txt" if (entry.sha256 or entry.size) else "the Hub's advertised"
        return DownloadResult(entry, ERROR, f"{check.status} against {what} values "
                              f"({check.detail}): file deleted", meta.commit_hash)
    digest = check.sha256 or sha256_file(staged)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(staged, dest)  # a rename: the staging folder is on the same disk
    source = "models.txt" if entry.sha256 else ("the Hub's sha256" if hub_sha else None)
    verdict = f"sha256 matches {source}" if source else "unverified: no sha256 known"
    size = dest.stat().st_size
    return DownloadResult(entry, DOWNLOADED, f"{human_size(size)}, {verdict}", meta.commit_hash,
                          size, digest)
