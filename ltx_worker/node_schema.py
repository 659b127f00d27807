"""Reading ComfyUI node schemas (``/object_info``) the way ComfyUI validates a prompt.

Helpers of `workflow_check.check_graph`: V3 dynamic inputs expanded (``comfy_api.latest._io``),
link types resolved through a graph, values checked against a spec's type, range and options
(``comfy_execution.validation``). Model and upload file names are never checked against a
snapshot's options: a snapshot only lists the files of the machine it was taken on.
"""

from __future__ import annotations

import math
from typing import Any

from .graph import title_of

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

def _where(node_id: str, node: Any, input_name: str | None = None) -> str:
    title = title_of(node)
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
