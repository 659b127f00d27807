"""Workflow templates: API-format graphs in workflows/ and the bindings declared beside them.

A template is ``workflows/<name>.json`` (a ComfyUI API-format prompt) plus
``workflows/<name>.bindings.json`` (docs/architecture.md gives the format). Bindings name nodes
by their title (``_meta.title``), so a graph re-exported from the UI with new node ids still
binds. Filling is a structural edit of a deep copy of the graph: inputs are set to values and
optional nodes are bypassed by rewiring links; no JSON text is ever built from job input.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ErrorCode, WorkerError
from .graph import Graph, GraphError, classes_in, consumers, is_link, node_id_by_title, title_of


class TemplateError(GraphError):
    """A template or its bindings are malformed (a bug of the template, not of the job)."""


@dataclass(frozen=True)
class Template:
    """One API-format graph and its bindings.

    Attributes:
        name: file stem, e.g. ``ltx2_t2v_fast``.
        family: ``ltx2`` or ``ltxv``.
        serves: the (model, quality) pairs this template renders.
        variant: the job mode beyond plain t2v/i2v this template serves (``keyframes``,
            ``audio``, ``control-canny``, ``control-depth``; family.json ``variants``), or None
            for the plain template.
        graph: the API-format prompt, never mutated (fill works on a copy).
        params: parameter -> list of (node title, input name).
        bypass_when_absent: parameter -> list of (node title, {output slot: input name}) applied
            when the parameter is None: the node is removed and each link to an output slot is
            replaced by the link feeding the named input (``{"input": x}`` in the file is
            ``{0: x}``).
        remove_when_absent: parameter -> node titles removed when the parameter is None (a
            control template's first-frame nodes on a t2v job); bindings to them are skipped.
        repeat: parameter -> `Repeat`: a prototype group of nodes cloned once per item of the
            parameter's list value (the keyframe guides).
        unlink_when_false: parameter -> list of (node title, input) whose link is removed when
            the parameter is False (``audio: false`` drops CreateVideo's optional audio input).
        output: title of the node whose saved video is the job's result.
        when_true: parameter -> list of (node title, input, source title, source slot) links made
            when the parameter is True (``enhance_prompt`` links the prompt encoder's text to the
            enhancer's output).
        when_false: parameter -> node titles removed when the parameter is not True (the
            enhancer's nodes when ``enhance_prompt`` is off); bindings to them are skipped.
        enhanced_prompt_output: title of the output node (PreviewAny) that shows the prompt the
            enhancer wrote, or None.
        control_output: title of the output node (a SaveImage under the job's filename_prefix,
            so the clean-up removes its files) showing the control images a control template's
            preprocessor made (Canny edges, depth maps), or None.
        notes: the bindings' free-text notes (which official template this follows).
    """

    name: str
    family: str
    serves: tuple[tuple[str, str], ...]
    graph: Graph
    params: dict[str, list[tuple[str, str]]]
    variant: str | None = None
    bypass_when_absent: dict[str, list[tuple[str, dict[int, str]]]] = field(default_factory=dict)
    remove_when_absent: dict[str, list[str]] = field(default_factory=dict)
    repeat: dict[str, Repeat] = field(default_factory=dict)
    unlink_when_false: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    output: str = "Save Video"
    when_true: dict[str, list[tuple[str, str, str, int]]] = field(default_factory=dict)
    when_false: dict[str, list[str]] = field(default_factory=dict)
    enhanced_prompt_output: str | None = None
    control_output: str | None = None
    notes: str = ""

    @property
    def params_taken(self) -> set[str]:
        """Every parameter the template reacts to (bound, bypassed, unlinked or switched)."""
        return (set(self.params) | set(self.bypass_when_absent) | set(self.unlink_when_false)
                | set(self.when_true) | set(self.when_false) | set(self.remove_when_absent)
                | set(self.repeat))

    @property
    def keys(self) -> tuple[tuple[str, str, str | None], ...]:
        """The (model, quality, variant) jobs this template renders."""
        return tuple((model, quality, self.variant) for model, quality in self.serves)

    def node_id(self, graph: Graph, title: str) -> str:
        """The id of the one node titled `title` in `graph`.

        Raises:
            TemplateError: no node, or more than one, has that title.
        """
        try:
            return node_id_by_title(graph, title, self.name)
        except GraphError as err:
            raise TemplateError(str(err)) from None

    def fill(self, values: dict[str, Any]) -> Graph:
        """A filled copy of the graph.

        Args:
            values: parameter -> value. Every parameter in `params` must be present; a value of
                None for a parameter in `bypass_when_absent` bypasses its nodes instead, and
                bindings to a bypassed node are then skipped.

        Raises:
            TemplateError: a parameter the template binds has no value, or a binding does not
                resolve (unknown title, missing input, input that is a link).
        """
        graph = copy.deepcopy(self.graph)
        bypassed: set[str] = set()
        for param, titles in self.when_false.items():
            if values.get(param) is not True:
                for title in titles:
                    del graph[self.node_id(graph, title)]
                    bypassed.add(title)
        for param, titles in self.remove_when_absent.items():
            if values.get(param) is None:
                for title in titles:
                    del graph[self.node_id(graph, title)]
                    bypassed.add(title)
        for param, bypasses in self.bypass_when_absent.items():
            if values.get(param) is None:
                for title, via_inputs in bypasses:
                    _bypass(graph, self.node_id(graph, title), via_inputs, self.name)
                    bypassed.add(title)
        for param, targets in self.unlink_when_false.items():
            if values.get(param, True) is False:
                for title, input_name in targets:
                    node = graph[self.node_id(graph, title)]
                    if not is_link(node["inputs"].get(input_name)):
                        raise TemplateError(f"{self.name}: {title!r}.{input_name} is not a link")
                    del node["inputs"][input_name]
        for param, targets in self.params.items():
            if param not in values:
                raise TemplateError(f"{self.name}: no value for bound parameter {param!r}")
            value = values[param]
            for title, input_name in targets:
                if title in bypassed:
                    continue
                node = graph[self.node_id(graph, title)]
                current = node["inputs"].get(input_name)
                if input_name not in node["inputs"] or is_link(current):
                    raise TemplateError(
                        f"{self.name}: node {title!r} has no widget input {input_name!r}"
                    )
                node["inputs"][input_name] = value
        for param, links in self.when_true.items():
            if values.get(param) is True:
                for title, input_name, source, slot in links:
                    node = graph[self.node_id(graph, title)]
                    node["inputs"][input_name] = [self.node_id(graph, source), slot]
        for param, group in self.repeat.items():
            items = values.get(param) or []
            if not isinstance(items, list):
                raise TemplateError(f"{self.name}: repeated parameter {param!r} needs a list")
            group.expand(graph, items, self.name)
        return graph


def _bypass(graph: Graph, node_id: str, via_inputs: dict[int, str], name: str) -> None:
    """Remove `node_id`, pointing every link to its output slot k at the link feeding input
    ``via_inputs[k]``.

    Raises:
        TemplateError: a named input is not a link, or a consumer uses an unmapped slot.
    """
    sources = {}
    for slot, via_input in via_inputs.items():
        source = graph[node_id]["inputs"].get(via_input)
        if not is_link(source):
            raise TemplateError(f"{name}: bypassed node {node_id} has no linked input {via_input!r}")
        sources[slot] = source
    del graph[node_id]
    for consumer, key, slot in consumers(graph, node_id):
        if slot not in sources:
            raise TemplateError(f"{name}: bypass of node {node_id} output {slot}")
        graph[consumer]["inputs"][key] = list(sources[slot])


@dataclass(frozen=True)
class Repeat:
    """A group of template nodes filled once per item of a list parameter (bindings ``repeat``).

    The template holds one prototype of the group (e.g. Load Image -> resize -> LTXVPreprocess ->
    LTXVAddGuide for one keyframe). `expand` replaces it by one copy per item: links inside the
    group point at the copy's own nodes, links from outside stay, and the chain node's copies
    are threaded: copy 1 takes the prototype's inputs named in `chain_outputs`, copy k+1 takes
    copy k's outputs, and what consumed the prototype's outputs consumes the last copy's.

    Attributes:
        nodes: titles of the group's nodes.
        chain_node: title of the node whose outputs thread through the copies.
        chain_outputs: output slot -> the chain node's input carrying the same thing
            (``{0: "positive", 1: "negative", 2: "latent"}`` for LTXVAddGuide).
        params: item key -> list of (node title, input name) set from each item.
    """

    nodes: tuple[str, ...]
    chain_node: str
    chain_outputs: dict[int, str]
    params: dict[str, list[tuple[str, str]]]

    def expand(self, graph: Graph, items: list[dict[str, Any]], name: str) -> None:
        """Clone the group once per item in `graph` (in place); no items removes the group and
        bypasses the chain node.

        Raises:
            TemplateError: a title does not resolve, an item lacks a key of `params`, or a
                bound input is a link.
        """
        ids = {title: node_id_by_title(graph, title, name) for title in self.nodes}
        if self.chain_node not in ids:
            raise TemplateError(f"{name}: repeat chain node {self.chain_node!r} is not in the group")
        chain_id = ids[self.chain_node]
        outside = consumers(graph, chain_id)
        if not items:
            for title, node_id in ids.items():
                if title != self.chain_node:
                    del graph[node_id]
            _bypass(graph, chain_id, self.chain_outputs, name)
            return
        prototype = {node_id: graph.pop(node_id) for node_id in ids.values()}
        taken = {int(k) for k in graph if str(k).isdigit()} | {int(k) for k in prototype if str(k).isdigit()}
        next_id = max(taken, default=0) + 1
        previous: str | None = None
        for index, item in enumerate(items, start=1):
            new_ids = {old: str(next_id + n) for n, old in enumerate(prototype)}
            next_id += len(prototype)
            for old, node in prototype.items():
                clone = copy.deepcopy(node)
                for key, value in clone["inputs"].items():
                    if is_link(value) and str(value[0]) in new_ids:
                        clone["inputs"][key] = [new_ids[str(value[0])], value[1]]
                if title_of(clone):
                    clone.setdefault("_meta", {})["title"] = f"{title_of(clone)} {index}"
                graph[new_ids[old]] = clone
            by_title = {title: new_ids[node_id] for title, node_id in ids.items()}
            for key, targets in self.params.items():
                if key not in item:
                    raise TemplateError(f"{name}: repeated item {index} has no {key!r}")
                for title, input_name in targets:
                    node = graph[by_title[title]]
                    if input_name not in node["inputs"] or is_link(node["inputs"][input_name]):
                        raise TemplateError(f"{name}: node {title!r} has no widget input {input_name!r}")
                    node["inputs"][input_name] = item[key]
            chain = graph[by_title[self.chain_node]]
            if previous is not None:
                for slot, input_name in self.chain_outputs.items():
                    chain["inputs"][input_name] = [previous, slot]
            previous = by_title[self.chain_node]
        for consumer, key, slot in outside:
            graph[consumer]["inputs"][key] = [previous, slot]


def template_paths(workflows_dir: Path) -> list[Path]:
    """The API-format graphs under `workflows_dir`: every ``<family>/<name>.json`` other than
    ``family.json`` and the ``<name>.bindings.json`` files, sorted by path."""
    return sorted(
        p for p in Path(workflows_dir).glob("*/*.json")
        if not p.name.endswith(".bindings.json") and p.name != "family.json"
    )


def _variant(serves: list[dict]) -> str | None:
    variants = {s.get("variant") for s in serves}
    if len(variants) > 1:
        raise ValueError(f"one template serves one variant, not {sorted(map(str, variants))}")
    return variants.pop() if variants else None


def _repeat(spec: dict) -> Repeat:
    chain = spec["chain"]
    return Repeat(
        nodes=tuple(spec["nodes"]),
        chain_node=chain["node"],
        chain_outputs={int(slot): name for slot, name in chain["outputs"].items()},
        params={k: [tuple(t) for t in v] for k, v in spec["params"].items()},
    )


def load_template(path: Path) -> Template:
    """Load ``<name>.json`` and its ``<name>.bindings.json``.

    Raises:
        TemplateError: a file is missing, not JSON, or lacks a required bindings key.
    """
    bindings_path = path.with_name(path.stem + ".bindings.json")
    try:
        graph = json.loads(path.read_text())
        bindings = json.loads(bindings_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise TemplateError(f"{path.name}: {err}") from None
    try:
        return Template(
            name=path.stem,
            family=bindings["family"],
            serves=tuple((s["model"], s["quality"]) for s in bindings["serves"]),
            graph=graph,
            params={k: [tuple(t) for t in v] for k, v in bindings["params"].items()},
            variant=_variant(bindings["serves"]),
            bypass_when_absent={
                k: [(b["node"], {0: b["input"]} if "input" in b else {int(s): i for s, i in b["outputs"].items()})
                    for b in v]
                for k, v in bindings.get("bypass_when_absent", {}).items()
            },
            remove_when_absent={k: list(v) for k, v in bindings.get("remove_when_absent", {}).items()},
            repeat={k: _repeat(v) for k, v in bindings.get("repeat", {}).items()},
            unlink_when_false={
                k: [tuple(t) for t in v] for k, v in bindings.get("unlink_when_false", {}).items()
            },
            output=bindings.get("output", "Save Video"),
            when_true={
                k: [(t, i, src, int(slot)) for t, i, src, slot in v["link"]]
                for k, v in bindings.get("when_true", {}).items()
            },
            when_false={k: list(v["remove"]) for k, v in bindings.get("when_false", {}).items()},
            enhanced_prompt_output=bindings.get("enhanced_prompt_output"),
            control_output=bindings.get("control_output"),
            notes=bindings.get("notes", ""),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise TemplateError(f"{bindings_path.name}: malformed bindings ({err!r})") from None


class TemplateRegistry:
    """All templates of a workflows folder, looked up by (model, quality, variant)."""

    def __init__(self, templates: list[Template]) -> None:
        self.templates = templates
        self._by_key: dict[tuple[str, str, str | None], Template] = {}
        for template in templates:
            for key in template.keys:
                if key in self._by_key:
                    raise TemplateError(
                        f"{key} is served by both {self._by_key[key].name} and {template.name}"
                    )
                self._by_key[key] = template

    @classmethod
    def load(cls, workflows_dir: Path) -> TemplateRegistry:
        """Load every template of `workflows_dir`: each family folder's graphs (`template_paths`)."""
        return cls([load_template(p) for p in template_paths(workflows_dir)])

    def get(self, model: str, quality: str, variant: str | None = None) -> Template:
        """The template for a job of (model, quality) in `variant` (None: plain t2v/i2v).

        Raises:
            WorkerError: WORKFLOW_INVALID when no template serves it.
        """
        try:
            return self._by_key[(model, quality, variant)]
        except KeyError:
            raise WorkerError(
                ErrorCode.WORKFLOW_INVALID,
                f"no workflow template serves model={model} quality={quality}"
                + (f" variant={variant}" if variant else ""),
            ) from None

    def has(self, model: str, quality: str, variant: str | None = None) -> bool:
        """Whether a template serves (model, quality, variant)."""
        return (model, quality, variant) in self._by_key

    def supported_by(self, class_types: set[str]) -> TemplateRegistry:
        """The templates whose every node class is in `class_types` (a ComfyUI's object_info)."""
        return TemplateRegistry(
            [t for t in self.templates if classes_in(t.graph) <= class_types]
        )
