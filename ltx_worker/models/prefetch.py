"""Model files fetched at start onto the network volume (MODELS_FETCH_PROFILES).

For deployments that cannot bake the models into the image (no build secret for a gated repo,
an image-size limit, a builder that cannot take secrets): before the worker takes jobs,
`prefetch_models` downloads the files of the profiles named in ``MODELS_FETCH_PROFILES`` that are
missing from ``MODELS_FETCH_DIR`` (default ``/runpod-volume/models``, the folder entrypoint.sh
hands to ComfyUI) with `models.download`: huggingface_hub (``HF_TOKEN`` and ``HF_ENDPOINT`` from
the environment), sha256 checked against models.txt (or the Hub's LFS hash where models.txt has
none) before an atomic rename, so no partial file is ever under a name ComfyUI reads, and a
per-file lock so that workers starting together on one volume fetch each file once: the others
wait, then find it in place. Files already there are checked by size only (every file placed
this way was hashed before its rename); files baked into ComfyUI's own models/ are skipped.
Only entries that models.txt pins (a size and a sha256) are fetched; the others are named and
refused unless ``MODELS_FETCH_UNPINNED=true`` (`_pinned_only`).

Progress goes to the log every `LOG_EVERY_S` seconds (bytes, rate, time left, files another
worker is fetching), with a warning when the fetch will not end inside RunPod's start-up limit
(``RUNPOD_INIT_TIMEOUT``, 7 min by default; docs/deploy.md "Models fetched at start").

A file that cannot be fetched is logged with the reason; with ``MODELS_REQUIRED=all`` the worker
then refuses to start (`WorkerError` MODEL_MISSING), with ``available`` it goes on and serves what
the files allow.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from ..config import ConfigError, Settings
from ..errors import ErrorCode, WorkerError
from ..paths import MODELS_TXT
from .manifest import ModelFile, check_file, human_size, load_models_txt, parse_profiles, select

log = logging.getLogger(__name__)

#: Seconds between two progress lines in the log.
LOG_EVERY_S = 10.0


def check_fetch_profiles(settings: Settings) -> None:
    """Check that every profile of MODELS_FETCH_PROFILES is one models.txt may use.

    Config reads the variable as plain names and knows nothing of models.txt; the names are
    checked here, where the models list is read (`manifest.parse_profiles`, the families'
    ``family.json`` profiles).

    Raises:
        ConfigError: ``MODELS_FETCH_PROFILES: unknown profile(s) <names>; choose from ...``
            (the worker exits 2 on it, as on any other configuration error).
    """
    try:
        parse_profiles(settings.models_fetch_profile_list)
    except ValueError as err:
        raise ConfigError(f"invalid configuration:\n  MODELS_FETCH_PROFILES: {err}") from None


def prefetch_models(settings: Settings, *, models_txt: Path | None = None, jobs: int = 4,
                    log_every_s: float = LOG_EVERY_S) -> list:
    """Download the missing files of MODELS_FETCH_PROFILES into MODELS_FETCH_DIR; blocks.

    Does nothing (returns []) when MODELS_FETCH_PROFILES is unset.

    Args:
        settings: the worker's settings.
        models_txt: the models list (default: the repository's models.txt).
        jobs: files fetched at once by this process.
        log_every_s: seconds between two progress lines.

    Returns:
        One `download.DownloadResult` per file of the profiles not baked into ComfyUI's
        models/ folder.

    Raises:
        WorkerError: MODEL_MISSING when a file could not be fetched (or the folder cannot be
            written) and MODELS_REQUIRED is "all"; the log names each file and the reason.
    """
    profiles = settings.models_fetch_profile_list
    if not profiles:
        return []
    started = time.monotonic()
    target = Path(settings.models_fetch_dir)
    entries = select(load_models_txt(models_txt or MODELS_TXT), profiles)
    baked_dir = settings.comfyui_dir / "models" if settings.comfyui_dir else None
    if baked_dir is not None and baked_dir.resolve() != target.resolve():
        baked = [e for e in entries if not check_file(e, baked_dir / e.relpath, hash_it=False).failed]
        if baked:
            log.info("models: %d file(s) of %s are in the image already (%s): not fetched",
                     len(baked), ",".join(profiles), ", ".join(e.relpath for e in baked))
        entries = [e for e in entries if e not in baked]
    if not entries:
        return []
    if not target.parent.is_dir():
        return _failed(settings, f"MODELS_FETCH_DIR={target}: {target.parent} does not exist "
                       "(no network volume attached to the endpoint?)", entries)

    writable = target if target.is_dir() else target.parent
    if not os.access(writable, os.W_OK | os.X_OK):
        return _failed(settings, f"MODELS_FETCH_DIR={target}: {writable} is not writable by uid "
                       f"{os.getuid()} (make it writable from a pod, e.g. chown -R {os.getuid()} "
                       "/workspace/models, or run a root image: docs/deploy.md)", entries)
    missing = [e for e in entries if check_file(e, target / e.relpath, hash_it=False).failed]
    entries, missing = _pinned_only(settings, entries, missing)
    if not entries:
        return []
    total = sum(e.size or 0 for e in missing)
    unknown = sum(1 for e in missing if e.size is None)
    from huggingface_hub import get_token
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # carriage-return bars make a mess of a log; _Progress reports instead
    log.info("models: profiles %s in %s: %d files, %d to fetch (%s%s); HF_TOKEN %s; "
             "RUNPOD_INIT_TIMEOUT %.0f s", ",".join(profiles), target, len(entries), len(missing),
             human_size(total), f" + {unknown} of unknown size" if unknown else "",
             "set" if get_token() else "not set", settings.runpod_init_timeout)

    from .download import DOWNLOADED, ERROR, PRESENT, download_all

    progress = _Progress(target, missing, total, settings.runpod_init_timeout, log_every_s)
    # One INFO line per HTTP request (and CDN URLs carry signatures): progress lines instead.
    quiet = [logging.getLogger(name) for name in ("httpx", "httpx2", "httpcore")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(max(q.getEffectiveLevel(), logging.WARNING))
    try:
        with progress:
            results = download_all(entries, target, jobs, progress.report, hash_present=False,
                                   on_state=progress.state)
    finally:
        for q, level in zip(quiet, levels, strict=True):
            q.setLevel(level)
    errors = [r for r in results if r.status == ERROR]
    fetched = [r for r in results if r.status == DOWNLOADED]
    by_others = [r for r in results if r.status == PRESENT and r.entry in missing]
    took = time.monotonic() - started
    got = sum(r.size or 0 for r in fetched)
    rate = f", {human_size(int(got / took))}/s" if fetched and took > 0 else ""
    log.info("models: done in %.1f s: %d fetched here (%s%s), %d by another worker, %d already "
             "there, %d failed", took, len(fetched), human_size(got), rate, len(by_others),
             len(results) - len(fetched) - len(by_others) - len(errors), len(errors))
    if errors:
        return _failed(settings, "; ".join(f"{r.entry.relpath}: {r.message}" for r in errors),
                       [r.entry for r in errors], results)
    return results


def _pinned_only(settings: Settings, entries: list[ModelFile],
                 missing: list[ModelFile]) -> tuple[list[ModelFile], list[ModelFile]]:
    """`entries` and `missing` without the missing entries models.txt does not pin (no size or
    no sha256), unless MODELS_FETCH_UNPINNED is set (issue 23, finding 12: a ``-`` entry would
    take whatever the Hub's branch serves). Every unpinned entry is named in the log; one on the
    volume already is kept, with a warning that only its presence was checked.

    Raises:
        WorkerError: MODEL_MISSING naming the unpinned files to fetch, with MODELS_REQUIRED=all
            (before any transfer).
    """
    unpinned = [e for e in entries if e.size is None or e.sha256 is None]
    if not unpinned:
        return entries, missing
    present = [e for e in unpinned if e not in missing]
    if present:
        log.warning("models: %s: on the volume, but models.txt gives no size and sha256, so nothing "
                    "about the file was checked", ", ".join(e.relpath for e in present))
    to_fetch = [e for e in unpinned if e in missing]
    if not to_fetch:
        return entries, missing
    names = ", ".join(e.relpath for e in to_fetch)
    if settings.models_fetch_unpinned:
        log.warning("models: %s: not pinned in models.txt (no size and sha256); fetched anyway "
                    "(MODELS_FETCH_UNPINNED=true), checked against the Hub's own hash only", names)
        return entries, missing
    _failed(settings, f"not pinned in models.txt (no size and sha256): {names}; pin them (the Hub's "
            "file page gives both), or set MODELS_FETCH_UNPINNED=true to trust the Hub's hash", to_fetch)
    return [e for e in entries if e not in to_fetch], [e for e in missing if e not in to_fetch]


def _failed(settings: Settings, detail: str, entries: list[ModelFile], results: list | None = None) -> list:
    """Log why the fetch failed; raise when MODELS_REQUIRED=all, else return `results`."""
    files = ", ".join(e.relpath for e in entries)
    log.error("models: could not fetch %s: %s", files, detail)
    if settings.models_required == "all":
        raise WorkerError(ErrorCode.MODEL_MISSING,
                          f"MODELS_FETCH_PROFILES: could not fetch {files} ({detail}); "
                          "MODELS_REQUIRED=all")
    log.warning("models: going on without them (MODELS_REQUIRED=%s): jobs that need them fail "
                "with MODEL_MISSING", settings.models_required)
    return results or []


def _incomplete_glob(entry: ModelFile) -> str:
    """A glob, relative to ``<models_dir>/.download``, of `entry`'s partial download in any
    staging folder: huggingface_hub (2.x) writes ``<local_dir>/.cache/huggingface/download/
    <folder of the path>/<short hash of "<name>.metadata">.<etag>.<random>.incomplete``."""
    folder, _, name = entry.repo_path.rpartition("/")
    try:
        from huggingface_hub._local_folder import _short_hash

        stem = f"{_short_hash(name + '.metadata')}."
    except ImportError:  # another layout: any partial file of that folder
        stem = ""
    return (f"*/{entry.repo.replace('/', '--')}/.cache/huggingface/download/"
            f"{folder + '/' if folder else ''}{stem}*incomplete")


def _process_age_s() -> float:
    """Seconds since this process started (Linux /proc), 0 when unknown."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def _fmt_s(seconds: float) -> str:
    m, s = divmod(int(seconds + 0.5), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


class _Progress:
    """Logs the fetch's progress from a thread: files done, bytes in staging, rate, time left.

    The bytes of a file in flight are those of its ``*.incomplete`` file in any staging folder
    of the volume (this worker's, or the one of the worker it waits for).
    """

    def __init__(self, target: Path, missing: list[ModelFile], total: int, init_timeout: float,
                 every_s: float) -> None:
        self.target, self.missing, self.total = target, set(missing), total
        self.init_timeout, self.every_s = init_timeout, every_s
        self.states: dict[ModelFile, str] = {}
        self.since: dict[ModelFile, float] = {}
        self.done_bytes = 0
        self.finished: set[ModelFile] = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.warned = False
        self.t0 = time.monotonic()

    def __enter__(self) -> _Progress:
        self.thread = threading.Thread(target=self._run, name="models-progress", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def state(self, entry: ModelFile, state: str) -> None:
        """`download_one`'s on_state: log the first WAITING / FETCHING of each file."""
        with self.lock:
            if self.states.get(entry) == state:
                return
            self.states[entry] = state
            self.since[entry] = time.monotonic()
        if state == "waiting":
            log.info("models: %s: another worker is fetching it, waiting for its lock", entry.relpath)
        else:
            log.info("models: fetching %s (%s) from %s@%s", entry.relpath, human_size(entry.size),
                     entry.repo, entry.revision)

    def report(self, result) -> None:
        """`download_all`'s report: one line per finished file."""
        entry = result.entry
        with self.lock:
            self.finished.add(entry)
            if entry in self.missing and result.status != "error":
                self.done_bytes += result.size or entry.size or 0
                if entry.size is None:  # now known: count it in the total too
                    self.total += result.size or 0
            waited = self.states.get(entry) == "waiting"
            took = time.monotonic() - self.since.get(entry, self.t0)
        if result.status == "downloaded":
            rate = human_size(int((result.size or 0) / took)) + "/s" if took > 0 else "?"
            log.info("models: fetched %s: %s (%.1f s, %s)", entry.relpath, result.message, took, rate)
        elif result.status == "present":
            how = "placed by another worker" if waited else result.message
            log.info("models: %s: %s", entry.relpath, how)
        else:
            log.error("models: %s: %s", entry.relpath, result.message)

    def in_flight(self, entry: ModelFile) -> int:
        """Bytes of `entry` in any staging folder of the volume."""
        from .download import STAGING

        size = 0
        pattern = _incomplete_glob(entry)
        for path in (self.target / STAGING).glob(pattern):
            try:
                size += path.stat().st_size
            except OSError:
                pass  # renamed or removed meanwhile
        return size

    def _run(self) -> None:
        while not self.stop.wait(self.every_s):
            self.tick()

    def tick(self) -> None:
        """Log one progress line (and the start-up timeout warning, once)."""
        with self.lock:
            active = {e: s for e, s in self.states.items() if e not in self.finished}
            done = self.done_bytes
        if not active:
            return
        flight = {e: self.in_flight(e) for e in active}
        for e in active:  # renamed into place, not yet reported
            if not flight[e] and (self.target / e.relpath).is_file():
                flight[e] = e.size or 0
        now = done + sum(flight.values())
        elapsed = time.monotonic() - self.t0
        rate = now / elapsed if elapsed > 0 else 0.0
        parts = [f"{human_size(now)} of {human_size(self.total)}"
                 + (f" ({100 * now / self.total:.0f}%)" if self.total else "")]
        left = None
        if rate > 0:
            parts.append(f"{human_size(int(rate))}/s")
            left = max(0.0, self.total - now) / rate
            parts.append(f"about {_fmt_s(left)} left")
        others = [f"{e.relpath} ({human_size(flight[e])} so far)" for e, s in active.items()
                  if s == "waiting"]
        if others:
            parts.append("another worker is fetching " + ", ".join(others))
        log.info("models: %s", ", ".join(parts))
        if left is not None and not self.warned:
            ends = _process_age_s() + left
            if ends > self.init_timeout:
                self.warned = True
                log.warning("models: at this rate the fetch ends about %.0f s after the worker "
                            "started, past RUNPOD_INIT_TIMEOUT=%.0f s: RunPod may stop this worker "
                            "first (the files finished so far are kept); raise RUNPOD_INIT_TIMEOUT "
                            "on the endpoint (docs/deploy.md, \"Models fetched at start\")",
                            ends, self.init_timeout)
