"""API-format templates -> UI-format workflows, for authoring the templates in ComfyUI's web editor.

A template ``workflows/<family>/<name>.json`` is an API-format graph (what "Export (API)"
writes: no positions, no groups, no notes). Its UI-format twin ``workflows/<family>/ui/<name>.json``
is what the editor saves ("Workflow > Save/Export"): ``nodes`` with ``pos``, ``size``,
``widgets_values`` and input/output slots that hold link ids, a ``links`` table, ``groups`` and a
``MarkdownNote`` that says what the worker binds. `api_to_ui` writes it (laid out left to right,
one group per stage: models, prompt, image and inputs, stage 1, upscale, stage 2, decode and
save; `layout`), with the widget values in the editor's order (`widgets`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from ..graph import Graph, is_link, title_of
from .layout import _depths, _node_size, _place, layout_stages
from .to_api import complete
from .widgets import (
    MATCHTYPE,
    Slot,
    _kind,
    _opts,
    _sections,
    _slot_spec,
    default_value,
    display_title,
    node_slots,
    widget_layout,
)

#: What the generator writes into ``extra.ltx_worker`` of a UI file.
GENERATOR = "ltx-worker templates ui"


def _int_id(node_id: str, fallback: int) -> int:
    try:
        return int(node_id)
    except (TypeError, ValueError):
        return fallback


def _output_types(graph: Graph, object_info: dict, nid: str, seen: frozenset = frozenset()) -> list[str]:
    """The output types of a node, a match-type output resolved to the type of its source."""
    node = graph[nid]
    schema = object_info.get(node.get("class_type")) or {}
    types = [str(t) if not isinstance(t, list) else "COMBO" for t in schema.get("output") or []]
    matches = schema.get("output_matchtypes") or []
    out = []
    for i, kind in enumerate(types):
        if kind == MATCHTYPE and i < len(matches) and nid not in seen:
            template_id = matches[i]
            resolved = "*"
            for name, spec, _opt in _sections(schema.get("input"), schema.get("input_order")):
                tmpl = _opts(spec).get("template") or {}
                value = node.get("inputs", {}).get(name)
                if _kind(spec) == MATCHTYPE and tmpl.get("template_id") == template_id and is_link(value):
                    src = str(value[0])
                    if src in graph:
                        src_types = _output_types(graph, object_info, src, seen | {nid})
                        if value[1] < len(src_types):
                            resolved = src_types[value[1]]
                            break
            kind = resolved
        out.append(kind)
    return out


def _binding_note(name: str, bindings: Mapping[str, Any] | None, api_path: str) -> str:
    """The Markdown of the note that says what the worker binds."""
    lines = [f"## {name}: what the worker sets", ""]
    if not bindings:
        return "\n".join(lines + ["(no bindings file)"])
    serves = ", ".join(" ".join(str(v) for v in s.values()) for s in bindings.get("serves") or [])
    if serves:
        lines += [f"Serves: {serves}. Output: **{bindings.get('output', 'Save Video')}**.", ""]
    lines += ["Each job overwrites these widgets (node title . input):", ""]
    for param, targets in (bindings.get("params") or {}).items():
        lines.append(f"- `{param}`: " + ", ".join(_target(t) for t in targets))
    extras = {k: v for k, v in bindings.items()
              if k not in ("template", "family", "serves", "output", "params", "notes")}
    if extras:
        lines += ["", "Switched by the job:", ""]
        for key, value in extras.items():
            lines.append(f"- {key}: {_describe(value)}")
    lines += ["", "Keep these titles unique and these inputs widgets (not links). "
              f"Save with **Export (API)** over `{api_path}`, then run "
              "`ltx-worker templates check` (docs/authoring.md)."]
    return "\n".join(lines)


def _target(target: Any) -> str:
    if isinstance(target, (list, tuple)) and len(target) == 2 and all(isinstance(t, str) for t in target):
        return f"'{target[0]}'.{target[1]}"
    return _describe(target)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k} -> {_describe(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(t, str) for t in value):
            return _target(value)
        return ", ".join(_describe(v) for v in value)
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def api_to_ui(graph: Graph, object_info: dict, *, name: str = "template",
              bindings: Mapping[str, Any] | None = None, api_path: str | None = None) -> dict:
    """The UI-format workflow of an API-format graph (module docstring).

    Node ids stay (as integers), titles are the graph's ``_meta.title``, every widget carries
    the graph's value (`complete`'s for the inputs it leaves out; ``control_after_generate`` is
    ``fixed``), links keep their source slots. Nodes are laid out left to right, one group per
    stage (`layout_stages`), with a note at the left that renders `bindings` and names
    `api_path` (the API file to save over; ``workflows/<family>/<name>.json`` when not given).

    Raises:
        KeyError: a node's class is not in `object_info`.
    """
    full = complete(graph, object_info)
    ids = {nid: _int_id(nid, 100000 + i) for i, nid in enumerate(full)}
    for nid, node in full.items():
        if node.get("class_type") not in object_info:
            raise KeyError(f"node {nid} ({title_of(node)!r}): {node.get('class_type')} is not in object_info")

    stages = layout_stages(full)
    depths = _depths(full)
    out_types = {nid: _output_types(full, object_info, nid) for nid in full}

    links: list[list] = []
    out_links: dict[tuple[str, int], list[int]] = {}
    nodes: list[dict] = []
    for nid, node in full.items():
        schema = object_info[node["class_type"]]
        inputs = node.get("inputs", {})
        slots = node_slots(schema, inputs)
        known = {s.name for s in slots}
        # link inputs the schema does not list (a legacy name): still a socket, so the link survives
        for key, value in inputs.items():
            if is_link(value) and key not in known:
                slots.append(Slot(key, "*", False, True, None))
        layout = widget_layout(schema, inputs)
        ui_inputs = []
        for index, slot in enumerate(slots):
            entry: dict[str, Any] = {"name": slot.name, "localized_name": slot.name, "type": slot.type,
                                     "link": None}
            if slot.widget:
                entry["widget"] = {"name": slot.name}
            if slot.optional:
                entry["shape"] = 7
            value = inputs.get(slot.name)
            if is_link(value) and str(value[0]) in full:
                link_id = len(links) + 1
                src, src_slot = str(value[0]), value[1]
                src_types = out_types[src]
                kind = src_types[src_slot] if src_slot < len(src_types) else slot.type
                links.append([link_id, ids[src], src_slot, ids[nid], index, kind])
                out_links.setdefault((src, src_slot), []).append(link_id)
                entry["link"] = link_id
            ui_inputs.append(entry)
        values, named = [], {}
        for wname, kind in layout:
            if kind == "control":
                value = "fixed"
            elif kind == "upload":
                value = "image"
            elif kind == "ui":
                value = None
            else:
                value = inputs.get(wname)
                if is_link(value):
                    value = default_value(_slot_spec(slots, wname))
            values.append(value)
            named[wname] = value
        nodes.append({
            "id": ids[nid], "type": node["class_type"],
            "title": title_of(node) or display_title(schema, node["class_type"]),
            "pos": [0.0, 0.0], "size": _node_size(schema, slots, len(out_types[nid]), layout),
            "flags": {}, "order": 0, "mode": 0, "inputs": ui_inputs, "outputs": [],
            "properties": {"Node name for S&R": node["class_type"]},
            "_nid": nid,
        })
        if layout:
            nodes[-1]["widgets_values"] = values
            nodes[-1]["widgets_values_named"] = named

    for ui_node in nodes:
        nid = ui_node["_nid"]
        schema = object_info[full[nid]["class_type"]]
        names = schema.get("output_name") or []
        ui_node["outputs"] = [
            {"name": names[i] if i < len(names) else kind, "localized_name": names[i] if i < len(names) else kind,
             "type": kind, "links": out_links.get((nid, i)) or None}
            for i, kind in enumerate(out_types[nid])
        ]

    groups = _place(nodes, stages, depths)
    note = {
        "id": max([n["id"] for n in nodes] + [0]) + 1, "type": "MarkdownNote", "title": "What the worker binds",
        "pos": [-560.0, 0.0], "size": [500.0, 0.0], "flags": {}, "order": 0, "mode": 0,
        "inputs": [], "outputs": [], "properties": {},
        "widgets_values": [_binding_note(name, bindings, api_path or f"workflows/<family>/{name}.json")],
        "color": "#432", "bgcolor": "#653",
    }
    note["widgets_values_named"] = {"text": note["widgets_values"][0]}
    note["size"][1] = float(60 + 22 * note["widgets_values"][0].count("\n") + 40)
    top = min((g["bounding"][1] for g in groups), default=0.0)
    note["pos"] = [-560.0, top]
    order = _execution_order(full)
    for ui_node in nodes:
        ui_node["order"] = order[ui_node.pop("_nid")]
    nodes.sort(key=lambda n: n["id"])
    nodes.append(note)
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ltx-worker/workflows/{name}")),
        "revision": 0,
        "last_node_id": max(n["id"] for n in nodes),
        "last_link_id": len(links),
        "nodes": nodes,
        "links": links,
        "groups": groups,
        "config": {},
        "extra": {"ds": {"scale": 0.7, "offset": [680.0, 90.0]},
                  "ltx_worker": {"template": f"{name}.json", "generated_by": GENERATOR}},
        "version": 0.4,
    }


def _execution_order(graph: Graph) -> dict[str, int]:
    depths = _depths(graph)
    ranked = sorted(graph, key=lambda nid: (depths[nid], _int_id(nid, 0), nid))
    return {nid: i for i, nid in enumerate(ranked)}
