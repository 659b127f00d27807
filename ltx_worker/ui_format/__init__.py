"""API-format templates <-> UI-format workflows, for authoring the templates in ComfyUI's web editor.

`api_to_ui` writes a template's UI-format twin (`to_ui`, laid out by `layout`, widget values in
the editor's order per `widgets`); `ui_to_api` reads one back as the editor's "Export (API)"
would, and `complete` adds the widget values the editor writes although the template leaves them
out (`to_api`), so ``ui_to_api(api_to_ui(g)) == complete(g)`` for every template g. `compare`
compares graphs by node title; `files` places, writes and checks the twins on disk.
"""

from __future__ import annotations

from .compare import by_title, differences
from .files import check_in_step, ui_for_template, ui_path, write_ui
from .layout import STAGES, layout_stages, stage_of
from .to_api import VIRTUAL_NODES, added_by_editor, complete, ui_to_api
from .to_ui import GENERATOR, api_to_ui
from .widgets import (
    AUTOGROW,
    DYNAMIC_COMBO,
    MATCHTYPE,
    WIDGET_TYPES,
    Slot,
    default_value,
    display_title,
    node_slots,
    widget_layout,
)

__all__ = [
    "AUTOGROW",
    "DYNAMIC_COMBO",
    "GENERATOR",
    "MATCHTYPE",
    "STAGES",
    "VIRTUAL_NODES",
    "WIDGET_TYPES",
    "Slot",
    "added_by_editor",
    "api_to_ui",
    "by_title",
    "check_in_step",
    "complete",
    "default_value",
    "differences",
    "display_title",
    "layout_stages",
    "node_slots",
    "stage_of",
    "ui_for_template",
    "ui_path",
    "ui_to_api",
    "widget_layout",
    "write_ui",
]
