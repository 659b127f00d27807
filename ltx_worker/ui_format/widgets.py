"""The node schema as ComfyUI's editor lays it out: which inputs are sockets and which are widgets,
and the order of a UI node's ``inputs`` and ``widgets_values``.

Widget values are positional in the UI format and named with the node's ``/object_info``
schema, as ComfyUI's frontend does: the widget inputs (INT, FLOAT, STRING, BOOLEAN, combos) in
input order, required then optional; a ``control_after_generate`` value after an INT input
flagged so (this writes ``"fixed"``, so queueing from the editor keeps the template's seed); an
``upload`` value after a ``*_upload`` combo; a dynamic combo's (``COMFY_DYNAMICCOMBO_V3``)
children ``parent.child`` right after it, for the option its value selects. Frontend 1.49 also
writes ``widgets_values_named`` ({name: value}); both are written, and `to_api.ui_to_api` prefers
the named form when a file has it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: Input types the frontend shows as widgets (values), not sockets.
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
AUTOGROW = "COMFY_AUTOGROW_V3"
MATCHTYPE = "COMFY_MATCHTYPE_V3"


@dataclass(frozen=True)
class Slot:
    """One entry of a UI node's ``inputs`` (a socket, or the socket of a widget).

    Attributes:
        name: the input's name in the API format (``format.codec``, ``values.a``).
        type: the socket type the editor shows (``IMAGE``, ``INT``, ``IMAGE,MASK``,
            ``COMFY_DYNAMICCOMBO_V3``, ``IMAGEUPLOAD``).
        widget: whether the input is a widget (a value); else a link-only socket.
        optional: whether the schema lists it as optional.
        spec: the ``/object_info`` spec ``[type, {options}]``, or None for ``upload``.
    """

    name: str
    type: str
    widget: bool
    optional: bool
    spec: Any


def _opts(spec: Any) -> dict:
    return spec[1] if isinstance(spec, (list, tuple)) and len(spec) > 1 and isinstance(spec[1], dict) else {}


def _kind(spec: Any) -> str:
    """``COMBO`` for a legacy combo (an option list), else the spec's type string."""
    head = spec[0] if isinstance(spec, (list, tuple)) and spec else spec
    if isinstance(head, list):
        return "COMBO"
    return head if isinstance(head, str) else "*"


def _widget_kind(spec: Any) -> str:
    """The widget type of an input: its ``widgetType`` (``FLOAT,INT`` inputs shown as FLOAT),
    else its type."""
    widget_type = _opts(spec).get("widgetType")
    return widget_type if isinstance(widget_type, str) else _kind(spec)


def _is_widget(spec: Any) -> bool:
    if _opts(spec).get("forceInput"):
        return False
    kind = _widget_kind(spec)
    return kind in WIDGET_TYPES or kind == DYNAMIC_COMBO


def _upload_kind(spec: Any) -> str | None:
    """``IMAGEUPLOAD`` / ``VIDEOUPLOAD`` / ``AUDIOUPLOAD`` for a combo flagged ``*_upload``."""
    for key, value in _opts(spec).items():
        if key.endswith("_upload") and value:
            return key[: -len("_upload")].upper() + "UPLOAD"
    return None


def _has_control(spec: Any) -> bool:
    return _widget_kind(spec) in ("INT", "COMBO") and bool(_opts(spec).get("control_after_generate"))


def _sections(inputs: Any, order: Any = None) -> Iterator[tuple[str, Any, bool]]:
    """(name, spec, optional) of an ``input`` block, required then optional, in input order."""
    inputs = inputs if isinstance(inputs, dict) else {}
    order = order if isinstance(order, dict) else {}
    for cat in ("required", "optional"):
        entries = inputs.get(cat) or {}
        names = [n for n in (order.get(cat) or []) if n in entries]
        names += [n for n in entries if n not in names]
        for name in names:
            yield name, entries[name], cat == "optional"


def default_value(spec: Any) -> Any:
    """The value the editor gives a new widget of this spec (the schema's ``default``, else
    the first option of a combo, 0 for a number, "" for a string, false for a boolean)."""
    opts, kind = _opts(spec), _widget_kind(spec)
    if "default" in opts:
        return opts["default"]
    if kind == DYNAMIC_COMBO:
        options = opts.get("options") or []
        return options[0]["key"] if options else None
    if kind == "COMBO":
        options = spec[0] if isinstance(spec[0], list) else opts.get("options") or []
        return options[0] if options else None
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False}.get(kind)


def _dynamic_option(spec: Any, value: Any) -> dict | None:
    for option in _opts(spec).get("options") or []:
        if isinstance(option, dict) and option.get("key") == value:
            return option
    return None


def node_slots(schema: dict, values: Mapping[str, Any]) -> list[Slot]:
    """The ``inputs`` of a UI node of this schema, in the editor's order: the sockets, then the
    widgets, each in input order (required, then optional).

    `values` are the node's API inputs: a dynamic combo's value picks the option whose
    children follow it (the schema default when absent); an autogrow input
    (``COMFY_AUTOGROW_V3``) gets a socket ``<input>.<name>`` for each of its names `values`
    uses plus a free one (at least its ``min``), as the editor shows it.
    """
    slots: list[Slot] = []

    def walk(block: Any, order: Any, prefix: str, parent_optional: bool) -> None:
        for name, spec, optional in _sections(block, order):
            full, optional = prefix + name, optional or parent_optional
            kind = _kind(spec)
            if kind == AUTOGROW:
                template = _opts(spec).get("template") or {}
                names = template.get("names") or []
                inner = list(_sections(template.get("input")))
                if not inner:
                    continue
                sub_spec = inner[0][1]
                used = [n for n in names if f"{full}.{n}" in values]
                count = min(len(names), max(len(used) + 1, int(template.get("min") or 0)))  # one free
                for n in (used + [n for n in names if n not in used])[:count]:
                    slots.append(Slot(f"{full}.{n}", _kind(sub_spec), False, optional, sub_spec))
                continue
            if kind == MATCHTYPE:
                allowed = (_opts(spec).get("template") or {}).get("allowed_types") or "*"
                slots.append(Slot(full, allowed, False, optional, spec))
                continue
            widget = _is_widget(spec)
            slots.append(Slot(full, kind, widget, optional, spec))
            upload = _upload_kind(spec) if widget else None
            if upload == "AUDIOUPLOAD":  # the editor's audio player, a widget without a value
                slots.append(Slot("audioUI", "AUDIO_UI", True, optional, None))
            if upload:
                slots.append(Slot("upload", upload, True, optional, None))
            if kind == DYNAMIC_COMBO:
                value = values.get(full, default_value(spec))
                option = _dynamic_option(spec, value)
                if option is not None:
                    walk(option.get("inputs"), None, full + ".", optional)

    walk(schema.get("input"), schema.get("input_order"), "", False)
    # the editor lists the sockets first, then the widgets' inputs (each group in schema order)
    return [s for s in slots if not s.widget] + [s for s in slots if s.widget]


def widget_layout(schema: dict, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``widgets_values`` positions of a node: (name, kind) with kind ``value`` (an API
    input), ``control`` (control_after_generate), ``upload`` (the upload button, value
    ``"image"``) or ``ui`` (the audio player, value null)."""
    layout: list[tuple[str, str]] = []
    for slot in node_slots(schema, values):
        if not slot.widget:
            continue
        if slot.spec is None:
            layout.append((slot.name, "upload" if slot.name == "upload" else "ui"))
            continue
        layout.append((slot.name, "value"))
        if _has_control(slot.spec):
            layout.append(("control_after_generate", "control"))
    return layout


def display_title(schema: dict | None, class_type: str) -> str:
    """The title the editor gives a new node of this class."""
    if isinstance(schema, dict) and isinstance(schema.get("display_name"), str) and schema["display_name"]:
        return schema["display_name"]
    return class_type


def _slot_spec(slots: list[Slot], name: str) -> Any:
    return next((s.spec for s in slots if s.name == name), None)
