"""The API-format graph vocabulary, in one place.

An API-format graph (ComfyUI's ``POST /prompt`` body ``prompt``, what the UI's "Export (API)"
writes) is ``{node_id: {"class_type": str, "inputs": {name: value | link}, "_meta": {"title"}}}``.
A *link* is ``[source node id, output slot]``; anything else in ``inputs`` is a widget value.
A node *title* (``_meta.title``) is the stable name bindings use (node ids change on re-export).
``/object_info`` describes each class's inputs; a *combo* input lists its options there
(``[[options...], {...}]`` up to 0.3.x and in V1 nodes, ``["COMBO", {"options": [...]}]`` in V3
nodes of ComfyUI 0.33). Every module that reads graphs or object_info uses these helpers.
"""

from __future__ import annotations

from typing import Any

Graph = dict[str, dict[str, Any]]

#: Suffixes of model files (the strings a loader input holds): ComfyUI's folder_paths
#: ``supported_pt_extensions`` plus GGUF.
MODEL_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")


class GraphError(ValueError):
    """A graph or a binding does not resolve (a bug of the template, not of the job)."""


def is_link(value: Any) -> bool:
    """Whether an input value is a link ``[node_id, slot]`` (a two-item list ending in an int).

    ComfyUI itself treats any list as a link; this stricter form is what exports write.
    """
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def title_of(node: Any) -> str | None:
    """A node's ``_meta.title``, or None when it has none (or the node is malformed)."""
    if isinstance(node, dict):
        meta = node.get("_meta")
        if isinstance(meta, dict) and isinstance(meta.get("title"), str):
            return meta["title"]
    return None


def node_ids_by_title(graph: Graph, title: str) -> list[str]:
    """Ids of every node titled `title` (in graph order)."""
    return [nid for nid, node in graph.items() if title_of(node) == title]


def node_id_by_title(graph: Graph, title: str, where: str = "graph") -> str:
    """The id of the one node titled `title`.

    Raises:
        GraphError: no node, or more than one, has that title (`where` names the graph).
    """
    ids = node_ids_by_title(graph, title)
    if len(ids) != 1:
        raise GraphError(f"{where}: {len(ids)} nodes are titled {title!r}, need 1")
    return ids[0]


def consumers(graph: Graph, node_id: str) -> list[tuple[str, str, int]]:
    """Every ``(node id, input name, slot)`` whose input links to an output of `node_id`."""
    out = []
    for nid, node in graph.items():
        for name, value in node.get("inputs", {}).items():
            if is_link(value) and str(value[0]) == str(node_id):
                out.append((nid, name, value[1]))
    return out


def is_model_file(value: Any) -> bool:
    """Whether a widget value names a model file (`MODEL_EXTENSIONS`)."""
    return isinstance(value, str) and value.lower().endswith(MODEL_EXTENSIONS)


def combo_options(spec: Any) -> list[str] | None:
    """The options of an object_info input spec, or None when it is not a combo.

    Handles ``[[options...], {...}]`` / ``[[options...]]`` (0.3.x and V1 nodes) and
    ``["COMBO", {"options": [...]}]`` (V3 nodes, ComfyUI 0.33).
    """
    if not isinstance(spec, (list, tuple)) or not spec:
        return None
    if isinstance(spec[0], list):
        return [str(o) for o in spec[0]]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        options = spec[1].get("options")
        return [str(o) for o in options] if isinstance(options, list) else None
    return None


def input_spec(object_info: dict, class_type: str, input_name: str) -> Any:
    """The object_info spec of ``class_type.input_name`` (required or optional), or None."""
    inputs = (object_info.get(class_type) or {}).get("input") or {}
    for section in ("required", "optional"):
        spec = (inputs.get(section) or {}).get(input_name)
        if spec is not None:
            return spec
    return None


def input_options(object_info: dict, class_type: str, input_name: str) -> list[str] | None:
    """The combo options of ``class_type.input_name`` in object_info (None: unknown / not a combo)."""
    return combo_options(input_spec(object_info, class_type, input_name))


def classes_in(graph: Graph) -> set[str]:
    """The node classes (class_type) a graph uses."""
    return {str(node.get("class_type")) for node in graph.values() if isinstance(node, dict)}
