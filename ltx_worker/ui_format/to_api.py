"""UI-format workflows -> API-format graphs, and the editor's defaults.

`ui_to_api` reads a UI-format workflow back as the editor's "Export (API)" would; `complete`
adds to an API graph the widget values the editor writes although the template leaves them out
(an optional input's default, such as SaveVideo's ``format.codec.encoding``), so
``ui_to_api(api_to_ui(g)) == complete(g)`` for every template g (`to_ui.api_to_ui`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..graph import Graph, is_link, title_of
from .widgets import (
    DYNAMIC_COMBO,
    Slot,
    _dynamic_option,
    _has_control,
    _is_widget,
    _kind,
    _opts,
    _sections,
    _upload_kind,
    default_value,
    display_title,
    node_slots,
    widget_layout,
)

#: Node types of the editor that never reach the API format.
VIRTUAL_NODES = frozenset({"MarkdownNote", "Note", "Reroute", "PrimitiveNode"})


# ---------------------------------------------------------------------------------------------
# API side: the editor's defaults
# ---------------------------------------------------------------------------------------------

def _widget_value(node_inputs: Mapping[str, Any], slot: Slot, accepted: set[str]) -> Any:
    """The value of a widget for the UI: the API's, else a legacy top-level alias (SaveVideo's
    ``codec`` stands for ``format.codec``, as ComfyUI 0.33 accepts), else the default."""
    if slot.name in node_inputs:
        return node_inputs[slot.name]
    leaf = slot.name.rsplit(".", 1)[-1]
    if "." in slot.name and leaf in node_inputs and leaf in accepted and not is_link(node_inputs[leaf]):
        return node_inputs[leaf]
    return default_value(slot.spec)


def _preview_inputs(schema: dict) -> dict[str, Any]:
    """The inputs the editor writes on export for its preview widgets (LoadVideo's
    ``video-preview``, see `workflow_check.EDITOR_PREVIEW_INPUTS`), with their values."""
    from ..workflow_check import EDITOR_PREVIEW_INPUTS

    out: dict[str, Any] = {}
    for _name, spec, _optional in _sections(schema.get("input"), schema.get("input_order")):
        for flag, preview in EDITOR_PREVIEW_INPUTS.items():
            if _opts(spec).get(flag):
                out[preview] = ""
    return out


def complete(graph: Graph, object_info: dict) -> Graph:
    """A copy of `graph` with every widget input the editor writes on "Export (API)" set: the
    inputs the graph gives are kept as they are; a widget input it leaves out gets the value the
    editor would show (`_widget_value`), and the inputs of its preview widgets (`_preview_inputs`).
    Nodes of classes `object_info` lacks stay as they are."""
    out = copy.deepcopy(graph)
    for node in out.values():
        schema = object_info.get(node.get("class_type"))
        if not isinstance(schema, dict):
            continue
        inputs = node.setdefault("inputs", {})
        while True:  # a filled dynamic combo brings its option's children: until none is new
            slots = node_slots(schema, inputs)
            accepted = {s.name for s in slots}
            added = False
            for slot in slots:
                if slot.widget and slot.spec is not None and slot.name not in inputs:
                    value = _widget_value(inputs, slot, accepted)
                    if value is not None:
                        inputs[slot.name] = value
                        added = True
            if not added:
                break
        for name, value in _preview_inputs(schema).items():
            inputs.setdefault(name, value)
    return out


def added_by_editor(graph: Graph, object_info: dict) -> dict[str, list[str]]:
    """Per node title, the inputs `complete` adds to `graph` (what an export writes in addition)."""
    done = complete(graph, object_info)
    return {title_of(node) or nid: sorted(set(done[nid]["inputs"]) - set(node.get("inputs", {})))
            for nid, node in graph.items() if set(done[nid]["inputs"]) - set(node.get("inputs", {}))}


# ---------------------------------------------------------------------------------------------
# UI -> API
# ---------------------------------------------------------------------------------------------

def _name_positional(schema: dict, values: list) -> dict[str, Any]:
    """Name positional ``widgets_values`` with the schema: dynamic combos decide, as the values
    are read, which children follow them."""
    named: dict[str, Any] = {}
    queue = list(values)

    def walk(block: Any, order: Any, prefix: str) -> None:
        for name, spec, _optional in _sections(block, order):
            if not _is_widget(spec) or not queue:
                continue
            full = prefix + name
            value = named[full] = queue.pop(0)
            upload = _upload_kind(spec)
            if upload == "AUDIOUPLOAD" and queue:
                queue.pop(0)  # audioUI
            if upload and queue:
                queue.pop(0)
            if _has_control(spec) and queue:
                queue.pop(0)
            if _kind(spec) == DYNAMIC_COMBO:
                option = _dynamic_option(spec, value)
                if option is not None:
                    walk(option.get("inputs"), None, full + ".")

    walk(schema.get("input"), schema.get("input_order"), "")
    return named


def _node_values(node: dict, schema: dict) -> dict[str, Any]:
    named = node.get("widgets_values_named")
    if isinstance(named, dict):
        layout = widget_layout(schema, named)
        return {name: named[name] for name, kind in layout if kind == "value" and name in named}
    values = node.get("widgets_values")
    if isinstance(values, dict):  # some nodes save {name: value}
        return dict(values)
    return _name_positional(schema, values or [])


def ui_to_api(ui: dict, object_info: dict) -> Graph:
    """The API-format graph of a UI-format workflow, as the editor's "Export (API)" writes it:
    node ids as strings, ``_meta.title`` the node's title (its class's display name when the
    file gives none), every widget value (``control_after_generate`` and ``upload`` left out;
    a video upload's ``video-preview`` added, as the editor writes it),
    linked inputs as ``[source id, slot]`` (through Reroute nodes); notes, muted (mode 2) and
    bypassed (mode 4) nodes left out, a bypassed node's input of the same type passed on.

    Raises:
        KeyError: a node's class is not in `object_info`, or the file is not a UI workflow.
    """
    if not isinstance(ui, dict) or not isinstance(ui.get("nodes"), list):
        raise KeyError("not a UI-format workflow (no 'nodes' list)")
    nodes = {n["id"]: n for n in ui["nodes"]}
    table: dict[Any, tuple[Any, int]] = {}
    for link in ui.get("links") or []:
        if isinstance(link, dict):
            table[link["id"]] = (link["origin_id"], link["origin_slot"])
        else:
            table[link[0]] = (link[1], link[2])

    def source(link_id: Any, seen: frozenset = frozenset()) -> Any:
        if link_id not in table or link_id in seen:
            return None
        origin, slot = table[link_id]
        node = nodes.get(origin)
        if node is None:
            return None
        if node["type"] == "Reroute":
            ins = node.get("inputs") or []
            return source(ins[0].get("link"), seen | {link_id}) if ins else None
        if node["type"] == "PrimitiveNode":
            return (node.get("widgets_values") or [None])[0]
        if node.get("mode") == 2:
            return None
        if node.get("mode") == 4:
            out_type = (node.get("outputs") or [{}])[slot].get("type")
            for entry in node.get("inputs") or []:
                if entry.get("type") == out_type and entry.get("link") is not None:
                    return source(entry["link"], seen | {link_id})
            return None
        return [str(origin), slot]

    graph: Graph = {}
    for node in ui["nodes"]:
        if node["type"] in VIRTUAL_NODES or node.get("mode") in (2, 4):
            continue
        schema = object_info.get(node["type"])
        if not isinstance(schema, dict):
            raise KeyError(f"node {node['id']}: {node['type']} is not in object_info")
        inputs = _node_values(node, schema)
        for entry in node.get("inputs") or []:
            if entry.get("link") is None:
                continue
            value = source(entry["link"])
            name = (entry.get("widget") or {}).get("name") or entry["name"]
            if value is not None:
                inputs[name] = value
            else:
                inputs.pop(name, None)
        for name, value in _preview_inputs(schema).items():
            inputs.setdefault(name, value)
        title = node.get("title") or display_title(schema, node["type"])
        graph[str(node["id"])] = {"inputs": inputs, "class_type": node["type"], "_meta": {"title": title}}
    return graph
