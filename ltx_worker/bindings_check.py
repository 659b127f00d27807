"""Offline check of a template's bindings (``<name>.bindings.json``) against its graph."""

from __future__ import annotations

from typing import Any

from .graph import title_of
from .node_schema import _is_link, _where


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
        * every bypass node has the named input(s), each a link (its source replaces the node's
          output 0, or the mapped output slots, when the node is removed); a bypass parameter is
          also bound in ``params`` (else its value could never reach the graph);
        * ``remove_when_absent`` titles (``{param: [title, ...]}``) name one node each;
        * ``repeat`` groups (``{param: {"nodes": [...], "chain": {"node", "outputs"},
          "params": {key: [[title, input], ...]}}}``) name their nodes, chain through linked
          inputs, and bind only values of their own nodes;
        * every ``unlink_when_false`` target exists and is a link (the filler deletes it when
          the parameter is false; whether the input may be absent is for :func:`check_graph`
          to say on the unlinked graph);
        * ``when_true`` links (``{param: {"link": [[title, input, source title, slot], ...]}}``)
          name an existing input and a source node; ``when_false`` removals
          (``{param: {"remove": [title, ...]}}``) and ``enhanced_prompt_output`` name one node each.
    """
    problems: list[str] = []
    if not isinstance(graph, dict):
        return ["graph: expected an object of nodes"]
    if not isinstance(bindings, dict):
        return ["bindings: expected an object"]

    by_title: dict[str, list] = {}
    for node_id, node in graph.items():
        title = title_of(node)
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

    for param, entries in _object(bindings, "bypass_when_absent", problems, "{param: [{node, input}, ...]}").items():
        what = f"bypass_when_absent {param!r}"
        if param not in params:
            problems.append(f"{what}: the parameter is not bound in 'params'")
        if not isinstance(entries, list) or not entries:
            problems.append(f"{what}: expected a non-empty list of {{node, input}}")
            continue
        for entry in entries:
            outputs = entry.get("outputs") if isinstance(entry, dict) else None
            if isinstance(entry, dict) and isinstance(entry.get("input"), str):
                outputs = {"0": entry["input"]}
            if not (isinstance(outputs, dict) and outputs and all(
                    isinstance(k, str) and k.isdigit() and isinstance(v, str) for k, v in outputs.items())):
                problems.append(f"{what}: bad entry {entry!r}, expected {{node, input}} or "
                                f"{{node, outputs: {{slot: input}}}}")
                continue
            for input_name in outputs.values():
                must_link(what, entry.get("node"), input_name,
                          "it replaces the node's output when the node is bypassed")

    for param, titles in _object(bindings, "remove_when_absent", problems, "{param: [title, ...]}").items():
        what = f"remove_when_absent {param!r}"
        if not isinstance(titles, list) or not titles:
            problems.append(f"{what}: expected a non-empty list of node titles")
            continue
        for title in titles:
            find(title, what)

    for param, spec in _object(bindings, "repeat", problems,
                               "{param: {nodes, chain: {node, outputs}, params}}").items():
        what = f"repeat {param!r}"
        if not isinstance(spec, dict) or not isinstance(spec.get("nodes"), list) or not spec["nodes"]:
            problems.append(f"{what}: expected {{'nodes': [title, ...], 'chain': {{node, outputs}}, "
                            f"'params': {{key: [[title, input], ...]}}}}")
            continue
        for title in spec["nodes"]:
            find(title, what)
        chain = spec.get("chain")
        if not (isinstance(chain, dict) and chain.get("node") in spec["nodes"]
                and isinstance(chain.get("outputs"), dict) and chain["outputs"]):
            problems.append(f"{what}: 'chain' must name one of its nodes and map its output slots to inputs")
        else:
            for input_name in chain["outputs"].values():
                must_link(what, chain["node"], input_name, "the copies are chained through it")
        item_params = spec.get("params")
        if not isinstance(item_params, dict):
            problems.append(f"{what}: 'params' must be an object {{key: [[title, input], ...]}}")
            continue
        for key, targets in item_params.items():
            for title, input_name in pairs(f"{what} {key!r}", targets):
                if title not in spec["nodes"]:
                    problems.append(f"{what} {key!r}: node {title!r} is not one of the repeated nodes")
                resolved = resolve(f"{what} {key!r}", title, input_name)
                if resolved and _is_link(resolved[1]):
                    problems.append(f"{what} {key!r}: {resolved[0]} is a link; only values can be bound")

    for param, targets in _object(bindings, "unlink_when_false", problems, "{param: [[title, input], ...]}").items():
        what = f"unlink_when_false {param!r}"
        for title, input_name in pairs(what, targets):
            must_link(what, title, input_name, "it is removed when the parameter is false")
    for param, spec in _object(bindings, "when_true", problems,
                               "{param: {link: [[title, input, source title, slot], ...]}}").items():
        what = f"when_true {param!r}"
        links = spec.get("link") if isinstance(spec, dict) else None
        if not isinstance(links, list) or not links:
            problems.append(f"{what}: expected {{'link': [[title, input, source title, slot], ...]}}")
            continue
        for link in links:
            if not (isinstance(link, list) and len(link) == 4 and isinstance(link[1], str)
                    and isinstance(link[3], int)):
                problems.append(f"{what}: bad link {link!r}, expected [title, input, source title, slot]")
                continue
            resolve(what, link[0], link[1])
            find(link[2], what)
    for param, spec in _object(bindings, "when_false", problems, "{param: {remove: [title, ...]}}").items():
        what = f"when_false {param!r}"
        titles = spec.get("remove") if isinstance(spec, dict) else None
        if not isinstance(titles, list) or not titles:
            problems.append(f"{what}: expected {{'remove': [node title, ...]}}")
            continue
        for title in titles:
            find(title, what)
    for key in ("enhanced_prompt_output", "control_output"):
        if bindings.get(key) is not None:
            find(bindings[key], key)
    return problems


def _object(bindings: dict, key: str, problems: list[str], shape: str) -> dict:
    """``bindings[key]`` when it is an object (or absent: {}), else {} after reporting that it
    must be an object of `shape`."""
    value = bindings.get(key, {})
    if not isinstance(value, dict):
        problems.append(f"bindings: {key!r} must be an object {shape}")
        return {}
    return value
