"""Offline checks of an API-format ComfyUI graph against a ComfyUI ``/object_info``.

Two pure functions, no I/O and no state:

* :func:`check_graph` checks a graph (``{node_id: {"class_type", "inputs", "_meta"}}``, what the
  UI's "Export (API)" writes) against the node schemas of one ComfyUI (``GET /object_info``).
* :func:`check_bindings` checks a template's ``*.bindings.json`` against its graph (the contract
  in ``docs/architecture.md``).

Both return a list of human-readable problems (empty when all is well); each names the node id,
its title, its class_type and the input concerned.

The rules mirror what ComfyUI itself does when a prompt is posted (``execution.validate_inputs``,
``comfy_execution.validation.validate_node_input`` and the V3 schema expansion in
``comfy_api.latest._io``), made stricter where a template should be clean rather than merely
accepted (unknown inputs, literal values given to link-only sockets, value types), and looser
for model and upload file names, which object_info snapshots only list as examples.
"""

from __future__ import annotations

from typing import Any

from .bindings_check import check_bindings
from .node_schema import (
    _DYNAMIC_COMBO,
    _check_value,
    _expand_inputs,
    _input_socket_type,
    _is_link,
    _output_type,
    _spec_type,
    _types_compatible,
    _where,
)

__all__ = ["check_graph", "check_bindings"]

#: Inputs ComfyUI's editor (frontend 1.49) writes on "Export (API)" for its own preview widgets and
#: ComfyUI ignores: a node with a ``video_upload`` combo (LoadVideo) gets ``"video-preview": ""``.
#: Accepted so that an exported template passes (docs/authoring.md; tests/test_browser_authoring.py).
EDITOR_PREVIEW_INPUTS = {"video_upload": "video-preview"}


def _editor_preview_input(schema: dict, name: str) -> bool:
    """Whether `name` is an input the editor adds for a preview widget of this node."""
    for cat in ("required", "optional"):
        for spec in ((schema.get("input") or {}).get(cat) or {}).values():
            opts = spec[1] if isinstance(spec, (list, tuple)) and len(spec) > 1 and isinstance(spec[1], dict) else {}
            if any(opts.get(flag) and name == preview for flag, preview in EDITOR_PREVIEW_INPUTS.items()):
                return True
    return False

# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------

def check_graph(graph: dict, object_info: dict) -> list[str]:
    """Check an API-format ComfyUI graph against a ComfyUI ``/object_info``.

    Args:
        graph: ``{node_id: {"class_type": str, "inputs": {name: value | [node_id, slot]},
            "_meta": {"title": str}}}`` as written by the UI's "Export (API)". Not modified.
        object_info: the JSON of ``GET /object_info`` of the ComfyUI the graph is meant for
            (``{class_type: {"input": {"required", "optional", "hidden"}, "output": [...],
            "output_matchtypes": [...], "output_node": bool, ...}}``). Not modified.

    Returns:
        A list of problems, each a sentence naming the node id, title, class_type and input;
        empty when the graph passes. Checked, following ComfyUI's own prompt validation
        (``execution.validate_inputs``) unless said otherwise:

        * every node is an object with a ``class_type`` known to ``object_info`` and an
          ``inputs`` object (node keys other than ``class_type``/``inputs``/``_meta`` are
          ignored, as ComfyUI does);
        * every required input is present, after expanding 0.33's V3 dynamic inputs: a dynamic
          combo (``COMFY_DYNAMICCOMBO_V3``, e.g. SaveVideo's ``format``) adds the inputs of the
          selected option under dotted names (``format.codec``, ``format.codec.encoding``), an
          autogrow adds ``<input>.<prefix><i>``. A missing nested dynamic combo is accepted when
          the node also takes and is given a top-level input of the same name (0.33's SaveVideo
          still accepts the older ``codec`` next to ``format``);
        * no unknown inputs (stricter than ComfyUI, which ignores them), but for the editor's
          preview inputs (`EDITOR_PREVIEW_INPUTS`: LoadVideo's ``video-preview``);
        * links are ``[node_id, slot]`` to an existing node and output slot, and the output's
          type matches the input's type: equal, ``*`` on either side, or overlapping
          comma-separated types; match-type outputs (``COMFY_MATCHTYPE_V3``, e.g.
          ResizeImageMaskNode) take the type of the input they mirror; no dependency cycles;
        * literal values have the input's type (INT an integer, FLOAT a number, STRING a
          string, BOOLEAN a boolean; stricter than ComfyUI, which casts), lie within the
          schema's ``min``/``max``, and are among a combo's or dynamic combo's options. Combos
          that list files are not checked against the snapshot (empty option lists, upload
          combos, options or values ending in a model/media file suffix such as
          ``.safetensors``/``.ckpt``/``.pt``/``.pth``/``.bin``/``.gguf``, and ``*_name`` inputs
          of loader nodes), since an ``/object_info`` only lists the files it happened to see;
        * a literal given to a link-only socket (``MODEL``, ``LATENT``...) is reported (ComfyUI
          accepts it at validation and fails when running);
        * the graph has at least one output node (``output_node`` true), as ComfyUI requires.
    """
    problems: list[str] = []
    if not isinstance(graph, dict) or not graph:
        return ["graph: expected a non-empty object of nodes {node_id: node}"]
    if not isinstance(object_info, dict):
        return ["object_info: expected an object {class_type: schema}"]

    has_output_node = False
    edges: dict[str, set[str]] = {}

    for node_id, node in graph.items():
        node_id = str(node_id)
        edges[node_id] = set()
        if not isinstance(node, dict):
            problems.append(f"node {node_id}: expected an object, got {type(node).__name__}")
            continue
        class_type = node.get("class_type")
        inputs = node.get("inputs")
        if not isinstance(class_type, str) or not class_type:
            problems.append(f"{_where(node_id, node)}: missing 'class_type'")
            continue
        if not isinstance(inputs, dict):
            problems.append(f"{_where(node_id, node)}: missing 'inputs' object")
            continue
        meta = node.get("_meta")
        if meta is not None and not isinstance(meta, dict):
            problems.append(f"{_where(node_id, node)}: '_meta' must be an object")
        schema = object_info.get(class_type)
        if not isinstance(schema, dict):
            problems.append(f"{_where(node_id, node)}: unknown class_type {class_type!r} "
                            "(not in this ComfyUI's object_info)")
            continue
        if schema.get("output_node"):
            has_output_node = True

        accepted: dict[str, tuple[Any, bool]] = {}
        _expand_inputs(schema.get("input"), inputs, "", accepted)

        for name, (spec, required) in accepted.items():
            if not required or name in inputs:
                continue
            leaf = name.rsplit(".", 1)[-1]
            if ("." in name and _spec_type(spec) == _DYNAMIC_COMBO
                    and leaf in inputs and leaf in accepted):
                continue  # legacy top-level alias given (SaveVideo "codec")
            problems.append(f"{_where(node_id, node, name)}: required input is missing")

        for name, value in inputs.items():
            where = _where(node_id, node, name)
            if name not in accepted:
                if _editor_preview_input(schema, name):
                    continue
                problems.append(f"{where}: unknown input (not in {class_type}'s schema)")
                continue
            spec, _required = accepted[name]
            if _is_link(value):
                if (len(value) != 2 or not isinstance(value[1], int)
                        or isinstance(value[1], bool)
                        or not isinstance(value[0], (str, int)) or isinstance(value[0], bool)):
                    problems.append(f"{where}: bad link {value!r}, expected [node_id, slot]")
                    continue
                source_id, slot = str(value[0]), value[1]
                source = graph.get(source_id)
                if source is None:
                    problems.append(f"{where}: links to node {source_id}, which does not exist")
                    continue
                edges[node_id].add(source_id)
                if _spec_type(spec) == _DYNAMIC_COMBO:
                    problems.append(f"{where}: a dynamic combo must be a value, not a link")
                    continue
                source_schema = (object_info.get(source.get("class_type"))
                                 if isinstance(source, dict) else None)
                if not isinstance(source_schema, dict):
                    continue  # reported on the source node
                outputs = source_schema.get("output") or []
                if not (0 <= slot < len(outputs)):
                    problems.append(f"{where}: links to output {slot} of "
                                    f"{_where(source_id, source)}, which has {len(outputs)} "
                                    "output(s)")
                    continue
                received = _output_type(graph, object_info, source_id, slot)
                expected = _input_socket_type(spec)
                if not _types_compatible(received, expected):
                    problems.append(f"{where}: expects {expected}, but output {slot} of "
                                    f"{_where(source_id, source)} is {received}")
                continue
            for message in _check_value(name, value, spec, class_type, schema):
                problems.append(f"{where}: {message}")

    if not has_output_node:
        problems.append("graph: no output node (e.g. SaveVideo); ComfyUI refuses such a prompt")

    problems.extend(_cycle_problems(graph, edges))
    return problems


def _cycle_problems(graph: dict, edges: dict[str, set[str]]) -> list[str]:
    """One problem per dependency cycle found (ComfyUI rejects cyclic prompts)."""
    problems = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for start in edges:
        if state.get(start):
            continue
        stack = [(start, iter(sorted(edges.get(start, ()))))]
        path = [start]
        state[start] = 1
        while stack:
            node_id, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node_id] = 2
                continue
            if state.get(child) == 1:
                cycle = path[path.index(child):] + [child]
                problems.append(f"{_where(child, graph.get(child))}: dependency cycle "
                                + " -> ".join(cycle))
            elif not state.get(child) and child in edges:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(edges.get(child, ())))))
    return problems
