"""Comparing API-format graphs by node title, node ids and order aside."""

from __future__ import annotations

from ..graph import Graph, is_link, title_of


def by_title(graph: Graph) -> dict[str, dict]:
    """The graph keyed by node title with links written as ``("link", source title, slot)``:
    equal for two graphs that differ only in node ids and order (titles must be unique).

    Raises:
        ValueError: two nodes share a title.
    """
    titles = {nid: title_of(node) or f"#{nid}" for nid, node in graph.items()}
    if len(set(titles.values())) != len(titles):
        dup = sorted({t for t in titles.values() if list(titles.values()).count(t) > 1})
        raise ValueError(f"titles are not unique: {', '.join(dup)}")
    return {
        titles[nid]: {
            "class_type": node.get("class_type"),
            "inputs": {k: (("link", titles.get(str(v[0]), str(v[0])), v[1]) if is_link(v) else v)
                       for k, v in sorted(node.get("inputs", {}).items())},
        }
        for nid, node in graph.items()
    }


def differences(a: Graph, b: Graph) -> list[str]:
    """What differs between two graphs compared by title (`by_title`); empty when the same."""
    ta, tb = by_title(a), by_title(b)
    out = [f"only in the first: {t!r}" for t in sorted(set(ta) - set(tb))]
    out += [f"only in the second: {t!r}" for t in sorted(set(tb) - set(ta))]
    for title in sorted(set(ta) & set(tb)):
        na, nb = ta[title], tb[title]
        if na["class_type"] != nb["class_type"]:
            out.append(f"{title!r}: class {na['class_type']} != {nb['class_type']}")
        for key in sorted(set(na["inputs"]) | set(nb["inputs"])):
            va, vb = na["inputs"].get(key, "<absent>"), nb["inputs"].get(key, "<absent>")
            if va != vb:
                out.append(f"{title!r}.{key}: {va!r} != {vb!r}")
    return out
