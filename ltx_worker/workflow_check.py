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

import math
from typing import Any

__all__ = ["check_graph", "check_bindings"]

# V3 schema type names used by ComfyUI 0.33 (comfy_api.latest._io).
_DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
_AUTOGROW = "COMFY_AUTOGROW_V3"
_DYNAMIC_SLOT = "COMFY_DYNAMICSLOT_V3"
_MATCH_TYPE = "COMFY_MATCHTYPE_V3"
_COMBO = "COMBO"
_ANY = "*"
_PRIMITIVES = ("INT", "FLOAT", "STRING", "BOOLEAN")

# Options (or values) with these endings are files on disk: a snapshot's list of them only shows
# the files of the machine it was taken on, so they are never checked against it.
_FILE_SUFFIXES = (
    ".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx", ".pkl", ".yaml",
    ".json", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".exr",
    ".mp4", ".webm", ".mov", ".mkv", ".avi", ".wav", ".mp3", ".flac", ".ogg", ".m4a",
)
# Schema flags marking combos whose options come from a folder or a server, not the schema.
_FILE_OPTION_FLAGS = ("image_upload", "video_upload", "audio_upload", "file_upload",
                      "image_folder", "remote")


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------

def _title(node: Any) -> str | None:
    if isinstance(node, dict):
        meta = node.get("_meta")
        if isinstance(meta, dict) and isinstance(meta.get("title"), str):
            return meta["title"]
    return None


def _where(node_id: str, node: Any, input_name: str | None = None) -> str:
    title = _title(node)
    class_type = node.get("class_type") if isinstance(node, dict) else None
    text = f"node {node_id}"
    text += f" ({title!r}, {class_type})" if title is not None else f" ({class_type})"
    if input_name is not None:
        text += f" input {input_name!r}"
    return text


def _is_link(value: Any) -> bool:
    """A list value in an API graph is a link ``[node_id, output_slot]`` (ComfyUI's rule)."""
    return isinstance(value, list)


def _spec_type(spec: Any) -> Any:
    return spec[0] if isinstance(spec, (list, tuple)) and spec else None


def _spec_opts(spec: Any) -> dict:
    if isinstance(spec, (list, tuple)) and len(spec) > 1 and isinstance(spec[1], dict):
        return spec[1]
    return {}


def _type_set(type_name: str) -> set[str]:
    return {t.strip() for t in type_name.split(",") if t.strip()}


def _looks_like_file(value: Any) -> bool:
    return isinstance(value, str) and value.lower().endswith(_FILE_SUFFIXES)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# schema expansion (V3 dynamic inputs)
# ---------------------------------------------------------------------------------------------

def _expand_inputs(sections: Any, live: dict, prefix: str, out: dict) -> None:
    """Flatten a node's input schema the way ComfyUI 0.33 does for a given set of live inputs.

    ``out`` maps each accepted input name (dotted for nested V3 inputs, e.g. ``format.codec``)
    to ``(spec, required)``. A dynamic combo adds the inputs of the option its live value
    selects (``comfy_api.latest._io.DynamicCombo``); an autogrow adds ``<id>.<prefix><i>``
    inputs (``Autogrow``); a dynamic slot adds its inputs when the slot is given.
    """
    if not isinstance(sections, dict):
        return
    for category in ("required", "optional"):
        entries = sections.get(category) or {}
        if not isinstance(entries, dict):
            continue
        for name, spec in entries.items():
            full = prefix + name
            kind = _spec_type(spec)
            opts = _spec_opts(spec)
            required = category == "required"
            if kind == _DYNAMIC_COMBO:
                out[full] = (spec, required)
                value = live.get(full)
                if isinstance(value, str):
                    for option in opts.get("options") or []:
                        if isinstance(option, dict) and option.get("key") == value:
                            _expand_inputs(option.get("inputs"), live, full + ".", out)
                            break
            elif kind == _AUTOGROW:
                template = opts.get("template") or {}
                template_spec, template_required = None, True
                for cat in ("required", "optional"):
                    group = (template.get("input") or {}).get(cat) or {}
                    if group:
                        template_spec = next(iter(group.values()))
                        template_required = cat == "required"
                        break
                if template_spec is None:
                    continue
                if "names" in template:
                    names = list(template.get("names") or [])
                else:
                    names = [f"{template.get('prefix', '')}{i}"
                             for i in range(int(template.get("max", 0)))]
                minimum = int(template.get("min", 0))
                for i, sub in enumerate(names):
                    out[f"{full}.{sub}"] = (template_spec,
                                            required and template_required and i < minimum)
            elif kind == _DYNAMIC_SLOT:
                out[full] = ([opts.get("slotType", _ANY), opts], False)
                if full in live:
                    _expand_inputs(opts.get("inputs"), live, full + ".", out)
            else:
                out[full] = (spec, required)


def _options_of(spec: Any) -> list | None:
    """The option list of a combo input (legacy list type or ``COMBO``), else None."""
    kind = _spec_type(spec)
    if isinstance(kind, list):
        return kind
    if kind == _COMBO:
        options = _spec_opts(spec).get("options")
        return options if isinstance(options, list) else []
    return None


def _options_are_files(input_name: str, spec: Any, class_type: str, schema: dict,
                       value: Any) -> bool:
    """True when a combo lists files (models, uploads): not checkable against a snapshot."""
    options = _options_of(spec) or []
    if not options:
        return True  # file lists are empty in snapshots taken without models
    if any(flag in _spec_opts(spec) for flag in _FILE_OPTION_FLAGS):
        return True
    if _looks_like_file(value) or any(_looks_like_file(o) for o in options):
        return True
    is_loader = "loader" in class_type.lower() or "loaders" in str(schema.get("category", ""))
    return is_loader and input_name.split(".")[-1].endswith("_name")


# ---------------------------------------------------------------------------------------------
# link types
# ---------------------------------------------------------------------------------------------

def _input_socket_type(spec: Any) -> Any:
    """The type a link into this input must carry (comma list, ``*``, ``COMBO``)."""
    kind = _spec_type(spec)
    if isinstance(kind, list):
        return _COMBO
    if kind == _MATCH_TYPE:
        template = _spec_opts(spec).get("template") or {}
        return template.get("allowed_types") or _ANY
    return kind


def _output_type(graph: dict, object_info: dict, node_id: str, slot: int,
                 seen: frozenset = frozenset()) -> Any:
    """The type of output ``slot`` of ``node_id``, with match-type outputs resolved to the type
    of the input they mirror (``output_matchtypes``), or to their allowed types."""
    node = graph.get(node_id)
    schema = object_info.get(node.get("class_type")) if isinstance(node, dict) else None
    if not isinstance(schema, dict):
        return _ANY
    outputs = schema.get("output") or []
    if not (0 <= slot < len(outputs)):
        return _ANY
    out_type = outputs[slot]
    if isinstance(out_type, list):  # custom nodes that output a list of options
        return _COMBO
    if out_type != _MATCH_TYPE:
        return out_type
    template_ids = schema.get("output_matchtypes") or []
    template_id = template_ids[slot] if slot < len(template_ids) else None
    inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
    accepted: dict = {}
    _expand_inputs(schema.get("input"), inputs, "", accepted)
    allowed = []
    for name, (spec, _required) in accepted.items():
        if _spec_type(spec) != _MATCH_TYPE:
            continue
        template = _spec_opts(spec).get("template") or {}
        if template.get("template_id") != template_id:
            continue
        value = inputs.get(name)
        key = (node_id, name)
        if (_is_link(value) and len(value) == 2 and isinstance(value[1], int)
                and key not in seen and str(value[0]) in graph):
            return _output_type(graph, object_info, str(value[0]), value[1], seen | {key})
        allowed.append(template.get("allowed_types") or _ANY)
    return ",".join(allowed) if allowed else _ANY


def _types_compatible(received: Any, expected: Any) -> bool:
    """ComfyUI's non-strict rule (``validate_node_input``): equal, ``*`` on either side, or an
    overlap between comma-separated type lists."""
    if received == expected:
        return True
    if not isinstance(received, str) or not isinstance(expected, str):
        return False
    got, want = _type_set(received), _type_set(expected)
    if _ANY in got or _ANY in want:
        return True
    return bool(got & want)


# ---------------------------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------------------------

def _check_range(value: Any, opts: dict) -> str | None:
    if not _is_number(value):
        return None
    if isinstance(value, float) and math.isnan(value):
        return "value is NaN"
    low, high = opts.get("min"), opts.get("max")
    if _is_number(low) and value < low:
        return f"value {value!r} is below the minimum {low!r}"
    if _is_number(high) and value > high:
        return f"value {value!r} is above the maximum {high!r}"
    return None


def _check_value(name: str, value: Any, spec: Any, class_type: str, schema: dict) -> list[str]:
    """Problems with a literal (non-link) value for input ``name`` (without the location)."""
    kind = _spec_type(spec)
    opts = _spec_opts(spec)
    if isinstance(value, dict) and "__value__" in value:  # ComfyUI's wrapper for list values
        value = value["__value__"]

    if kind == _DYNAMIC_COMBO:
        keys = [o.get("key") for o in opts.get("options") or [] if isinstance(o, dict)]
        if value not in keys:
            return [f"value {value!r} is not one of the options {keys}"]
        return []

    options = _options_of(spec)
    if options is not None:
        if _options_are_files(name, spec, class_type, schema, value):
            if not isinstance(value, (str, list)):
                return [f"expects a name (string), got {type(value).__name__} {value!r}"]
            return []
        values = value if (opts.get("multiselect") and isinstance(value, list)) else [value]
        bad = [v for v in values if v not in options]
        if bad:
            shown = options if len(options) <= 20 else f"(list of {len(options)})"
            return [f"value {', '.join(repr(v) for v in bad)} is not one of the options {shown}"]
        return []

    if kind == _MATCH_TYPE:
        allowed = _type_set((opts.get("template") or {}).get("allowed_types") or _ANY)
        if _ANY in allowed or allowed & set(_PRIMITIVES):
            return []
        return [f"expects a link of type {','.join(sorted(allowed))}, got the value {value!r}"]

    if not isinstance(kind, str):
        return []
    types = _type_set(kind)
    if _ANY in types:
        return []
    literal_types = types & set(_PRIMITIVES)
    if not literal_types:
        return [f"expects a link of type {kind}, got the value {value!r}"]

    ok = (
        ("INT" in literal_types and isinstance(value, int) and not isinstance(value, bool))
        or ("FLOAT" in literal_types and _is_number(value))
        or ("STRING" in literal_types and isinstance(value, str))
        or ("BOOLEAN" in literal_types and isinstance(value, bool))
    )
    if not ok:
        return [f"expects {kind}, got {type(value).__name__} {value!r}"]
    problem = _check_range(value, opts)
    return [problem] if problem else []


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
        * no unknown inputs (stricter than ComfyUI, which ignores them);
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


def check_bindings(graph: dict, bindings: dict) -> list[str]:
    """Check a template's bindings (``workflows/<name>.bindings.json``) against its graph.

    Args:
        graph: the template's API-format graph (``workflows/<name>.json``). Not modified.
        bindings: the parsed bindings, in the format of ``docs/architecture.md``:
            ``{"params": {param: [[node title, input name], ...]}, "output": node title,
            "bypass_when_absent": {param: [{"node": title, "input": name}, ...]},
            "unlink_when_false": {param: [[node title, input name], ...]}, ...}``.

    Returns:
        A list of problems (empty when the bindings fit the graph), following the filler's
        rules in ``docs/architecture.md``:

        * every bound title (params, ``output``, bypass and unlink nodes) names exactly one node
          (``_meta.title``); titles are how bindings survive a UI re-export that renumbers ids;
        * every bound input exists in that node's ``inputs`` and holds a value, not a link
          (the filler overwrites values, it never rewires);
        * no input is bound by two parameters;
        * every bypass node has the named input, and it is a link (its source replaces the
          node's output 0 when the node is removed); a bypass parameter is also bound in
          ``params`` (else its value could never reach the graph);
        * every ``unlink_when_false`` target exists and is a link (the filler deletes it when
          the parameter is false; whether the input may be absent is for :func:`check_graph`
          to say on the unlinked graph).
    """
    problems: list[str] = []
    if not isinstance(graph, dict):
        return ["graph: expected an object of nodes"]
    if not isinstance(bindings, dict):
        return ["bindings: expected an object"]

    by_title: dict[str, list] = {}
    for node_id, node in graph.items():
        title = _title(node)
        if title is not None:
            by_title.setdefault(title, []).append(node_id)

    def find(title: Any, what: str) -> tuple[str, dict] | None:
        if not isinstance(title, str):
            problems.append(f"{what}: node title must be a string, got {title!r}")
            return None
        ids = by_title.get(title, [])
        if not ids:
            problems.append(f"{what}: no node titled {title!r} in the graph")
            return None
        if len(ids) > 1:
            problems.append(f"{what}: title {title!r} is not unique "
                            f"(nodes {', '.join(str(i) for i in ids)})")
            return None
        return str(ids[0]), graph[ids[0]]

    def pairs(what: str, targets: object):
        """The well-formed [title, input] pairs of a target list, reporting the others."""
        if not isinstance(targets, list) or not targets:
            problems.append(f"{what}: expected a non-empty list of [node title, input name]")
            return
        for target in targets:
            if (not isinstance(target, (list, tuple)) or len(target) != 2
                    or not isinstance(target[1], str)):
                problems.append(f"{what}: bad target {target!r}, expected [node title, input]")
                continue
            yield target[0], target[1]

    def resolve(what: str, title: object, input_name: str):
        """(where, value) of a bound input, or None after reporting why it does not resolve."""
        found = find(title, what)
        if found is None:
            return None
        node_id, node = found
        inputs = node.get("inputs") if isinstance(node, dict) else None
        where = _where(node_id, node, input_name)
        if not isinstance(inputs, dict) or input_name not in inputs:
            problems.append(f"{what}: {where} does not exist in the node's inputs")
            return None
        return where, inputs[input_name]

    def must_link(what: str, title: object, input_name: str, why: str) -> None:
        resolved = resolve(what, title, input_name)
        if resolved and not (_is_link(resolved[1]) and len(resolved[1]) == 2):
            problems.append(f"{what}: {resolved[0]} must be a link ({why})")

    params = bindings.get("params")
    if not isinstance(params, dict):
        problems.append("bindings: 'params' must be an object {param: [[title, input], ...]}")
        params = {}
    bound_by: dict[tuple[str, str], str] = {}
    for param, targets in params.items():
        what = f"param {param!r}"
        for title, input_name in pairs(what, targets):
            resolved = resolve(what, title, input_name)
            if resolved is None:
                continue
            where, value = resolved
            if _is_link(value):
                problems.append(f"{what}: {where} is a link; only values can be bound")
            key = (title, input_name)
            if key in bound_by and bound_by[key] != param:
                problems.append(f"{what}: {where} is also bound by param {bound_by[key]!r}")
            bound_by.setdefault(key, param)

    if "output" in bindings:
        find(bindings.get("output"), "output")

    bypass = bindings.get("bypass_when_absent", {})
    if not isinstance(bypass, dict):
        problems.append("bindings: 'bypass_when_absent' must be an object "
                        "{param: [{node, input}, ...]}")
        bypass = {}
    for param, entries in bypass.items():
        what = f"bypass_when_absent {param!r}"
        if param not in params:
            problems.append(f"{what}: the parameter is not bound in 'params'")
        if not isinstance(entries, list) or not entries:
            problems.append(f"{what}: expected a non-empty list of {{node, input}}")
            continue
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("input"), str):
                problems.append(f"{what}: bad entry {entry!r}, expected {{node, input}}")
                continue
            must_link(what, entry.get("node"), entry["input"],
                      "it replaces the node's output when the node is bypassed")

    unlink = bindings.get("unlink_when_false", {})
    if not isinstance(unlink, dict):
        problems.append("bindings: 'unlink_when_false' must be an object "
                        "{param: [[title, input], ...]}")
        unlink = {}
    for param, targets in unlink.items():
        what = f"unlink_when_false {param!r}"
        for title, input_name in pairs(what, targets):
            must_link(what, title, input_name, "it is removed when the parameter is false")
    return problems
