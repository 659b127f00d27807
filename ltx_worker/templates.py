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
from .graph import Graph, GraphError, classes_in, consumers, is_link, node_id_by_title


class TemplateError(GraphError):
    """A template or its bindings are malformed (a bug of the template, not of the job)."""


@dataclass(frozen=True)
class Template:
    """One API-format graph and its bindings.

    Attributes:
        name: file stem, e.g. ``ltx2_t2v_fast``.
        family: ``ltx2`` or ``ltxv``.
        serves: the (model, quality) pairs this template renders.
        graph: the API-format prompt, never mutated (fill works on a copy).
        params: parameter -> list of (node title, input name).
        bypass_when_absent: parameter -> list of (node title, input whose link replaces the
            node's output 0) applied when the parameter is None.
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
        notes: the bindings' free-text notes (which official template this follows).
    """

    name: str
    family: str
    serves: tuple[tuple[str, str], ...]
    graph: Graph
    params: dict[str, list[tuple[str, str]]]
    bypass_when_absent: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    unlink_when_false: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    output: str = "Save Video"
    when_true: dict[str, list[tuple[str, str, str, int]]] = field(default_factory=dict)
    when_false: dict[str, list[str]] = field(default_factory=dict)
    enhanced_prompt_output: str | None = None
    notes: str = ""

    @property
    def params_taken(self) -> set[str]:
        """Every parameter the template reacts to (bound, bypassed, unlinked or switched)."""
        return (set(self.params) | set(self.bypass_when_absent) | set(self.unlink_when_false)
                | set(self.when_true) | set(self.when_false))

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
        for param, bypasses in self.bypass_when_absent.items():
            if values.get(param) is None:
                for title, via_input in bypasses:
                    _bypass(graph, self.node_id(graph, title), via_input, self.name)
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
        return graph


def _bypass(graph: Graph, node_id: str, via_input: str, name: str) -> None:
    """Remove `node_id`, pointing every link to its output 0 at the link feeding `via_input`."""
    source = graph[node_id]["inputs"].get(via_input)
    if not is_link(source):
        raise TemplateError(f"{name}: bypassed node {node_id} has no linked input {via_input!r}")
    del graph[node_id]
    for consumer, key, slot in consumers(graph, node_id):
        if slot != 0:
            raise TemplateError(f"{name}: bypass of node {node_id} output {slot}")
        graph[consumer]["inputs"][key] = list(source)


def template_paths(workflows_dir: Path) -> list[Path]:
    """The API-format graphs under `workflows_dir`: every ``<family>/<name>.json`` other than
    ``family.json`` and the ``<name>.bindings.json`` files, sorted by path."""
    return sorted(
        p for p in Path(workflows_dir).glob("*/*.json")
        if not p.name.endswith(".bindings.json") and p.name != "family.json"
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
            bypass_when_absent={
                k: [(b["node"], b["input"]) for b in v]
                for k, v in bindings.get("bypass_when_absent", {}).items()
            },
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
            notes=bindings.get("notes", ""),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise TemplateError(f"{bindings_path.name}: malformed bindings ({err!r})") from None


class TemplateRegistry:
    """All templates of a workflows folder, looked up by (model, quality)."""

    def __init__(self, templates: list[Template]) -> None:
        self.templates = templates
        self._by_key: dict[tuple[str, str], Template] = {}
        for template in templates:
            for key in template.serves:
                if key in self._by_key:
                    raise TemplateError(
                        f"{key} is served by both {self._by_key[key].name} and {template.name}"
                    )
                self._by_key[key] = template

    @classmethod
    def load(cls, workflows_dir: Path) -> TemplateRegistry:
        """Load every template of `workflows_dir`: each family folder's graphs (`template_paths`)."""
        return cls([load_template(p) for p in template_paths(workflows_dir)])

    def get(self, model: str, quality: str) -> Template:
        """The template for a job.

        Raises:
            WorkerError: WORKFLOW_INVALID when no template serves (model, quality).
        """
        try:
            return self._by_key[(model, quality)]
        except KeyError:
            raise WorkerError(
                ErrorCode.WORKFLOW_INVALID,
                f"no workflow template serves model={model} quality={quality}",
            ) from None

    def supported_by(self, class_types: set[str]) -> TemplateRegistry:
        """The templates whose every node class is in `class_types` (a ComfyUI's object_info)."""
        return TemplateRegistry(
            [t for t in self.templates if classes_in(t.graph) <= class_types]
        )
