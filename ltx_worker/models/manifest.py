"""models.txt: every real model file the templates use, which profile needs it, and checks.

models.txt (repository root) has one file a line; ``#`` starts a comment. Five whitespace-separated
columns (SPEC.md "Models and deployment"):

    <folder>/<file>  <repo>@<revision>:<path>  <bytes|->  <sha256|->  <profiles>

* ``<folder>/<file>``: where the file goes under a ComfyUI ``models/`` folder (``checkpoints``,
  ``loras``, ``text_encoders``, ``latent_upscale_models``, ...) and the name the templates use.
* ``<repo>@<revision>:<path>``: Hugging Face repo, revision (a 40-hex commit pins it; a branch such
  as ``main`` does not) and the path of the file inside the repo.
* ``<bytes>`` / ``<sha256>``: the file's exact size and lowercase SHA-256 (the Hub's LFS oid), or
  ``-`` where not yet known; a file with no hash is reported "unverified", never "ok".
* ``<profiles>``: comma-separated subset of `profile_names`: the profiles each family declares
  (``workflows/<family>/family.json``: ``fast``/``pro``/``camera`` for LTX-2, ``legacy`` for
  LTX-Video 0.9, ``ltx23-*`` and ``ltx25-*``), and ``bf16`` (full-precision alternatives, not used
  by the shipped templates).
* then, only on a ``loras/`` line, optionally ``lora=<name>`` (the name a job's ``loras[i].name``
  gives; `LORA_NAME`) and ``trigger=<words>`` (its trigger word, percent-encoded:
  ``squish%20it``; ``-`` when it has none or it cannot be looked up here): a named LoRA
  (issue 20, `loras.named`).

`parse_models_txt` reads it, `select` keeps the entries of some profiles, `verify_file` checks one
file on disk (size, then SHA-256 streamed in chunks).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote, unquote

#: Profiles no family declares: full-precision alternatives the shipped templates do not use.
EXTRA_PROFILES = ("bf16",)


@cache
def profile_names(workflows_dir: Path | None = None) -> tuple[str, ...]:
    """Every profile models.txt may use: those the families declare (``family.json``
    ``profiles``, then ``variants[*].profiles``, oldest family first), then `EXTRA_PROFILES`."""
    # Imported here, not at the top: the image's models stage runs this module and the downloader
    # alone, without the rest of the worker (Dockerfile; tests/test_deploy.py), and never asks
    # for the profile names there. Neither module imports this one back (tests/test_imports.py).
    from ..families import FamilyRegistry
    from ..paths import WORKFLOWS_DIR

    names: list[str] = []
    for family in FamilyRegistry.load(workflows_dir or WORKFLOWS_DIR).families:
        groups = [*family.profiles.values(), *(v.profiles for v in family.variants.values())]
        for profile in (p for group in groups for p in group):
            if profile not in names:
                names.append(profile)
    return (*names, *EXTRA_PROFILES)
_SOURCE = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)@(?P<rev>[\w.-]+):(?P<path>[\w./-]+)$")
#: One part of a destination or repository path: a plain name, never ``.`` or ``..`` (issue 23:
#: ``../x`` would place a file outside the models folder).
_NAME = re.compile(r"(?!\.{1,2}$)[\w.+-]+")
_HASH_CHUNK = 8 * 1024 * 1024
#: A named LoRA's name (models.txt ``lora=``, the job contract's ``loras[i].name``): a plain name,
#: never a path or a file name.
LORA_NAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"

#: Verification outcomes of `verify_file` (``FileCheck.status``).
OK, MISSING, SIZE_MISMATCH, HASH_MISMATCH, UNVERIFIED = (
    "ok", "missing", "size mismatch", "hash mismatch", "unverified",
)
#: Outcomes that make ``ltx-worker models verify`` fail.
FAILED = frozenset({MISSING, SIZE_MISMATCH, HASH_MISMATCH})


class ModelsFileError(ValueError):
    """A models.txt line is malformed; the message names the line number and the problem."""


@dataclass(frozen=True)
class ModelFile:
    """One line of models.txt (see the module docstring for the columns)."""

    folder: str
    filename: str
    repo: str
    revision: str
    repo_path: str
    size: int | None
    sha256: str | None
    profiles: frozenset[str]
    lora: str | None = None
    trigger: str | None = None

    @property
    def relpath(self) -> str:
        """``<folder>/<file>`` under a ComfyUI models/ folder."""
        return f"{self.folder}/{self.filename}"

    @property
    def pinned(self) -> bool:
        """Whether the revision is a full commit hash and the size and sha256 are known."""
        return bool(re.fullmatch(r"[0-9a-f]{40}", self.revision)) and bool(self.size and self.sha256)

    def line(self) -> str:
        """This entry written back as a models.txt line."""
        return (f"{self.relpath}  {self.repo}@{self.revision}:{self.repo_path}  "
                f"{self.size if self.size is not None else '-'}  {self.sha256 or '-'}  "
                f"{','.join(p for p in profile_names() if p in self.profiles)}"
                + (f"  lora={self.lora}  trigger={quote(self.trigger) if self.trigger else '-'}" if self.lora else ""))


@dataclass(frozen=True)
class FileCheck:
    """The outcome of `verify_file` for one entry.

    Attributes:
        entry: the models.txt entry checked.
        path: where the file was looked for.
        status: one of OK, MISSING, SIZE_MISMATCH, HASH_MISMATCH, UNVERIFIED.
        detail: a human-readable explanation (sizes, hashes), empty when ok.
        sha256: the hash computed, when the file was hashed.
    """

    entry: ModelFile
    path: Path
    status: str
    detail: str = ""
    sha256: str | None = None

    @property
    def failed(self) -> bool:
        """Whether this outcome fails verification (missing, size or hash mismatch)."""
        return self.status in FAILED


def parse_models_txt(text: str, source: str = "models.txt") -> list[ModelFile]:
    """Parse models.txt text into `ModelFile` entries, in file order.

    Args:
        text: the file's content.
        source: the name used in error messages.

    Raises:
        ModelsFileError: ``<source>:<line>: <problem>`` for the first malformed line (wrong column
            count, destination not ``<folder>/<file>`` of plain names (``.``/``..`` refused), source
            not ``<repo>@<revision>:<path>`` (no ``.``/``..`` part in the path),
            size not a byte count, sha256 not 64 lowercase hex digits, unknown profile, or a
            destination listed twice).
    """
    entries: list[ModelFile] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{number}"
        cols = line.split()
        if len(cols) not in (5, 7):
            raise ModelsFileError(f"{where}: expected 5 columns (7 with lora= and trigger=), found {len(cols)}")
        dest, src, size, sha, profiles = cols[:5]
        lora, trigger = _lora_columns(cols[5:], dest, where)
        if dest.count("/") != 1 or not all(_NAME.fullmatch(part) for part in dest.split("/")):
            raise ModelsFileError(f"{where}: destination {dest!r} must be <folder>/<file>, each a "
                                  "plain name (letters, digits, . _ -; not . or ..)")
        m = _SOURCE.match(src)
        if not m or not all(_NAME.fullmatch(part) for part in m["path"].split("/")):
            raise ModelsFileError(f"{where}: source {src!r} must be <repo>@<revision>:<path>, the "
                                  "path's parts plain names (not . or ..)")
        if size != "-" and not size.isdigit():
            raise ModelsFileError(f"{where}: size {size!r} must be a byte count or -")
        if sha != "-" and not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise ModelsFileError(f"{where}: sha256 {sha!r} must be 64 lowercase hex digits or -")
        profs = frozenset(profiles.split(","))
        if not profs <= set(profile_names()):
            raise ModelsFileError(f"{where}: unknown profile(s) {sorted(profs - set(profile_names()))}")
        if dest in seen:
            raise ModelsFileError(f"{where}: {dest} is already listed on line {seen[dest]}")
        seen[dest] = number
        folder, filename = dest.split("/")
        entries.append(ModelFile(folder, filename, m["repo"], m["rev"], m["path"],
                                 int(size) if size != "-" else None, None if sha == "-" else sha, profs,
                                 lora, trigger))
    return entries


def _lora_columns(extra: list[str], dest: str, where: str) -> tuple[str | None, str | None]:
    """The ``lora=<name> trigger=<words>`` columns of a named LoRA's line (none, or both)."""
    if not extra:
        return None, None
    if not dest.startswith("loras/"):
        raise ModelsFileError(f"{where}: lora= and trigger= belong on a loras/ line")
    lora, trigger = extra
    if not lora.startswith("lora=") or not trigger.startswith("trigger="):
        raise ModelsFileError(f"{where}: columns 6 and 7 must be lora=<name> and trigger=<words or ->")
    name, words = lora.removeprefix("lora="), unquote(trigger.removeprefix("trigger="))
    if not re.fullmatch(LORA_NAME, name) or ".." in name:
        raise ModelsFileError(f"{where}: LoRA name {name!r} must be a plain lowercase name (letters, digits, . _ -)")
    return name, (None if words in ("", "-") else words)


def load_models_txt(path: Path) -> list[ModelFile]:
    """Read and parse a models.txt file (see `parse_models_txt`; errors name the file)."""
    return parse_models_txt(Path(path).read_text(), Path(path).name)


def parse_profiles(values: Iterable[str]) -> set[str]:
    """Profiles from command-line values, each comma-separated (``["fast,pro", "camera"]``).

    Raises:
        ValueError: a name is not one of `profile_names`.
    """
    names = {p.strip() for v in values for p in v.split(",") if p.strip()}
    unknown = names - set(profile_names())
    if unknown:
        raise ValueError(f"unknown profile(s) {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(profile_names())}")
    return names


def select(entries: Iterable[ModelFile], profiles: Iterable[str]) -> list[ModelFile]:
    """The entries needed by any of `profiles`, in models.txt order."""
    wanted = set(profiles)
    return [e for e in entries if e.profiles & wanted]


def missing_files(entries: list[ModelFile], models_dirs: list[Path], profiles: set[str]) -> list[ModelFile]:
    """Entries of `profiles` whose file is in none of `models_dirs` (each a ComfyUI models/)."""
    return [
        e for e in select(entries, profiles)
        if not any((Path(d) / e.relpath).is_file() for d in models_dirs)
    ]


def sha256_file(path: Path, chunk_size: int = _HASH_CHUNK) -> str:
    """Lowercase hex SHA-256 of a file, read in `chunk_size`-byte chunks (constant memory).

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(entry: ModelFile, path: Path, hash_it: bool = True) -> FileCheck:
    """Check the file at `path` against `entry`'s size and sha256.

    The size is compared first (cheap); the hash only when the size is right, known, and
    `hash_it` is true. Without a sha256 in models.txt the result is UNVERIFIED, with or without
    a matching size (the detail says which).
    """
    path = Path(path)
    if not path.is_file():
        return FileCheck(entry, path, MISSING, "not found")
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        return FileCheck(entry, path, SIZE_MISMATCH, f"{size} bytes, expected {entry.size}")
    if entry.sha256 is None:
        note = "size ok" if entry.size is not None else "size unknown too"
        return FileCheck(entry, path, UNVERIFIED, f"no sha256 in models.txt ({note})")
    if not hash_it:
        return FileCheck(entry, path, OK, "size ok (hash not checked)")
    digest = sha256_file(path)
    if digest != entry.sha256:
        return FileCheck(entry, path, HASH_MISMATCH, f"sha256 {digest}, expected {entry.sha256}", digest)
    return FileCheck(entry, path, OK, "", digest)


def verify_file(entry: ModelFile, models_dir: Path, hash_it: bool = True) -> FileCheck:
    """Check ``<models_dir>/<folder>/<file>`` against `entry` (see `check_file`)."""
    return check_file(entry, Path(models_dir) / entry.relpath, hash_it)


def human_size(n: int | None) -> str:
    """A byte count in decimal units as the Hub shows them (``27.1 GB``); ``?`` when unknown."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
