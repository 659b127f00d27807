"""The UI-format twins on disk: where a template's twin lives, generating and writing it, and
checking that it is in step with its template."""

from __future__ import annotations

import json
from pathlib import Path

from .compare import differences
from .to_api import complete, ui_to_api
from .to_ui import api_to_ui


def ui_path(template: Path) -> Path:
    """Where the UI-format twin of ``workflows/<family>/<name>.json`` lives:
    ``workflows/<family>/ui/<name>.json`` (a subfolder, so ``*/*.json`` globs skip it)."""
    return template.parent / "ui" / template.name


def ui_for_template(template: Path, object_info: dict, root: Path | None = None) -> dict:
    """The generated UI workflow of a template file (its bindings file is read for the note).

    Args:
        root: the folder the note's path is relative to (the repository); the template's own
            path when None.
    """
    graph = json.loads(template.read_text(encoding="utf-8"))
    bindings_file = template.with_name(template.stem + ".bindings.json")
    bindings = json.loads(bindings_file.read_text(encoding="utf-8")) if bindings_file.is_file() else None
    shown = template
    if root is not None:
        try:
            shown = template.resolve().relative_to(Path(root).resolve())
        except ValueError:
            pass
    return api_to_ui(graph, object_info, name=template.stem, bindings=bindings, api_path=shown.as_posix())


def write_ui(path: Path, ui: dict) -> None:
    """Write a UI workflow as the generator does (indented JSON, a final newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ui, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def check_in_step(template: Path, object_info: dict) -> list[str]:
    """Why the UI twin of `template` is not in step with it (empty when it is): missing or
    unreadable, or converted back (`ui_to_api`) not the same graph as the template with the
    editor's defaults (`complete`), compared by title."""
    twin = ui_path(template)
    if not twin.is_file():
        return [f"no UI file {twin.parent.name}/{twin.name}"]
    try:
        ui = json.loads(twin.read_text(encoding="utf-8"))
        graph = json.loads(template.read_text(encoding="utf-8"))
        return differences(ui_to_api(ui, object_info), complete(graph, object_info))
    except (OSError, ValueError, KeyError) as err:
        return [f"{twin.name}: {err}"]
