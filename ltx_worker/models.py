"""models.txt: the list of every real model file the templates use, and which profile needs it.

Line format (comments start with #): ``<folder>/<file> <repo>@<revision>:<path> <bytes|-> <sha256|-> <profiles>``
where profiles is a comma-separated subset of fast, pro, camera, legacy, bf16.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("fast", "pro", "camera", "legacy", "bf16")
_SOURCE = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)@(?P<rev>[\w.-]+):(?P<path>[\w./-]+)$")


class ModelsFileError(ValueError):
    """A models.txt line is malformed; the message names the line number and the problem."""


@dataclass(frozen=True)
class ModelFile:
    """One line of models.txt."""

    folder: str
    filename: str
    repo: str
    revision: str
    repo_path: str
    size: int | None
    sha256: str | None
    profiles: frozenset[str]

    @property
    def relpath(self) -> str:
        """``<folder>/<file>`` under a ComfyUI models/ folder."""
        return f"{self.folder}/{self.filename}"


def parse_models_txt(text: str, source: str = "models.txt") -> list[ModelFile]:
    """Parse models.txt text into `ModelFile` entries.

    Raises:
        ModelsFileError: ``models.txt:<line>: <problem>`` for the first malformed line.
    """
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{number}"
        cols = line.split()
        if len(cols) != 5:
            raise ModelsFileError(f"{where}: expected 5 columns, found {len(cols)}")
        dest, src, size, sha, profiles = cols
        if dest.count("/") != 1:
            raise ModelsFileError(f"{where}: destination {dest!r} must be <folder>/<file>")
        m = _SOURCE.match(src)
        if not m:
            raise ModelsFileError(f"{where}: source {src!r} must be <repo>@<revision>:<path>")
        if size != "-" and not size.isdigit():
            raise ModelsFileError(f"{where}: size {size!r} must be a byte count or -")
        if sha != "-" and not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise ModelsFileError(f"{where}: sha256 {sha!r} must be 64 hex digits or -")
        profs = frozenset(profiles.split(","))
        if not profs <= set(PROFILES):
            raise ModelsFileError(f"{where}: unknown profile(s) {sorted(profs - set(PROFILES))}")
        folder, filename = dest.split("/")
        entries.append(ModelFile(folder, filename, m["repo"], m["rev"], m["path"],
                                 int(size) if size != "-" else None, None if sha == "-" else sha, profs))
    return entries


def load_models_txt(path: Path) -> list[ModelFile]:
    """Read and parse a models.txt file (see `parse_models_txt`)."""
    return parse_models_txt(Path(path).read_text(), Path(path).name)


def missing_files(entries: list[ModelFile], models_dirs: list[Path], profiles: set[str]) -> list[ModelFile]:
    """Entries of `profiles` whose file is in none of `models_dirs` (each a ComfyUI models/)."""
    return [
        e for e in entries
        if e.profiles & profiles and not any((Path(d) / e.relpath).is_file() for d in models_dirs)
    ]
