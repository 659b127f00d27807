"""``ltx-worker templates list|check``: the workflow templates against a ComfyUI's node schemas.

* ``check``: loads every ``workflows/<name>.json`` and its ``<name>.bindings.json`` and reports,
  per template, (1) node classes the ComfyUI does not know (a node pack is missing, or the
  ComfyUI is too old), (2) schema problems of the graph (`workflow_check.check_graph`: missing
  or unknown inputs, wrong link types, values out of range or not among a combo's options) and
  (3) bindings that no longer resolve (`workflow_check.check_bindings`: a bound node title that
  is gone, renamed or no longer unique, an input that is gone or became a link). Run it after
  saving a template from the ComfyUI editor (docs/authoring.md). Exit status 1 when any
  template has a problem, 2 when the schemas cannot be read.
* ``list``: each template, the (model, quality) pairs it serves and its bound parameters.
* ``ui``: writes the UI-format twin of each template, ``workflows/<family>/ui/<name>.json``
  (laid out left to right, grouped by stage, with a note of what the worker binds;
  `ltx_worker.ui_format`), for authors to open in the ComfyUI editor. ``--check`` writes
  nothing and exits 1 when a twin is missing or no longer converts back to its template.
  The node schemas default to the 0.33.0 snapshot (``../shared/comfyui/object_info-0.33.0.json``)
  plus the node pack's ``object_info.json``.

The schemas come from a live ComfyUI (``--comfy-url``, default COMFY_HOST/COMFY_PORT) or from
``GET /object_info`` snapshots (``--object-info FILE``, repeatable: later files add to and
override earlier ones, e.g. ComfyUI's snapshot plus a node pack's entries).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..graph import title_of
from ..templates import template_paths as all_template_paths
from ..workflow_check import check_bindings, check_graph


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``templates`` command and its ``check`` and ``list`` sub-commands."""
    templates = subparsers.add_parser("templates", help="check the workflow templates against ComfyUI",
                                      description=__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = templates.add_subparsers(dest="templates_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="unknown nodes, schema problems and broken bindings",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = check.add_mutually_exclusive_group()
    source.add_argument("--comfy-url", help="a running ComfyUI (default COMFY_HOST/COMFY_PORT)")
    source.add_argument("--object-info", type=Path, action="append", metavar="FILE",
                        help="an /object_info JSON snapshot; repeatable, merged in order")
    _common(check)
    check.set_defaults(func=cmd_check)
    listing = sub.add_parser("list", help="the templates, what they serve and their parameters")
    _common(listing)
    listing.set_defaults(func=cmd_list)
    ui = sub.add_parser("ui", help="write (or --check) the UI-format twin of each template",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = ui.add_mutually_exclusive_group()
    source.add_argument("--comfy-url", help="a running ComfyUI's node schemas (default: the snapshots)")
    source.add_argument("--object-info", type=Path, action="append", metavar="FILE",
                        help="an /object_info JSON snapshot; repeatable, merged in order")
    ui.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 when a UI file is missing or out of step")
    _common(ui)
    ui.set_defaults(func=cmd_ui)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workflows", type=Path, default=None,
                   help="the templates folder (default WORKFLOWS_DIR, the repository's workflows/)")
    p.add_argument("--template", action="append", metavar="NAME",
                   help="only this template (file stem, e.g. ltx2_t2v_fast); repeatable")


@dataclass
class TemplateReport:
    """The problems of one template; all empty when it is fine.

    Attributes:
        name: file stem (``ltx2_t2v_fast``).
        load: the graph or bindings file could not be read (missing, not JSON).
        unknown_nodes: ``node <id> ('<title>'): <class_type>`` for classes the ComfyUI lacks.
        graph: `check_graph` problems, without the unknown-class ones.
        bindings: `check_bindings` problems.
    """

    name: str
    load: list[str] = field(default_factory=list)
    unknown_nodes: list[str] = field(default_factory=list)
    graph: list[str] = field(default_factory=list)
    bindings: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        """How many problems in all."""
        return len(self.load) + len(self.unknown_nodes) + len(self.graph) + len(self.bindings)


def template_paths(workflows: Path, names: list[str] | None = None) -> list[Path]:
    """The template graphs (``*.json`` but not ``*.bindings.json``) of `workflows`, sorted;
    only `names` (file stems) when given.

    Raises:
        ValueError: a name in `names` has no file.
    """
    paths = all_template_paths(workflows)
    if names:
        by_name = {p.stem: p for p in paths}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"no template {', '.join(missing)} in {workflows}")
        paths = [by_name[n] for n in names]
    return paths


def check_template(path: Path, object_info: dict) -> TemplateReport:
    """Check one template graph and its bindings file against `object_info`."""
    report = TemplateReport(path.stem)
    try:
        graph = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        report.load.append(f"{path.name}: {err}")
        return report
    bindings_path = path.with_name(path.stem + ".bindings.json")
    bindings = None
    try:
        bindings = json.loads(bindings_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        report.load.append(f"{bindings_path.name}: {err}")
    if isinstance(graph, dict):
        for node_id, node in graph.items():
            cls = node.get("class_type") if isinstance(node, dict) else None
            if isinstance(cls, str) and cls not in object_info:
                title = title_of(node) or ""
                report.unknown_nodes.append(f"node {node_id} ({title!r}): {cls}")
    report.graph = [p for p in check_graph(graph, object_info) if "unknown class_type" not in p]
    if bindings is not None:
        report.bindings = check_bindings(graph, bindings)
    return report


def load_object_info(args: argparse.Namespace) -> tuple[dict, str]:
    """The node schemas to check against, and a line saying where they came from.

    Raises:
        ValueError: a file is unreadable or not an object; ComfyUI did not answer.
    """
    if args.object_info:
        merged: dict = {}
        for path in args.object_info:
            try:
                data = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise ValueError(f"--object-info {path}: {err}") from None
            if not isinstance(data, dict):
                raise ValueError(f"--object-info {path}: expected an object {{class_type: schema}}")
            merged.update(data)
        names = " + ".join(str(p) for p in args.object_info)
        return merged, f"object_info: {names} ({len(merged)} node classes)"

    from ..comfy.client import ComfyClient
    from ..config import ConfigError, load_settings
    from ..errors import WorkerError

    try:
        url = args.comfy_url or load_settings().comfy_url
    except ConfigError as err:
        raise ValueError(str(err)) from None
    client = ComfyClient(url, 30.0)
    try:
        version = client.wait_ready(5.0).get("system", {}).get("comfyui_version", "unknown")
        info = client.object_info()
    except WorkerError as err:
        raise ValueError(f"ComfyUI at {url}: {err.message}") from None
    return info, f"ComfyUI {version} at {url} ({len(info)} node classes)"


def _workflows(args: argparse.Namespace) -> Path:
    if args.workflows is not None:
        return args.workflows
    from ..config import ConfigError, load_settings

    try:
        return load_settings().workflows_dir
    except ConfigError:
        from ..paths import WORKFLOWS_DIR

        return WORKFLOWS_DIR


def _templates_and_schemas(args: argparse.Namespace) -> tuple[list[Path], dict, str]:
    """The template paths the command covers and the node schemas to hold them to (with a line
    naming their source), for ``check`` and ``ui``.

    Raises:
        ValueError: an unreadable folder or schema source, or no templates in the folder.
    """
    paths = template_paths(_workflows(args), args.template)
    object_info, source = load_object_info(args)
    if not paths:
        raise ValueError(f"no templates (*.json) in {_workflows(args)}")
    return paths, object_info, source


def cmd_check(args: argparse.Namespace) -> int:
    """Print each template's problems; returns 1 when any, 2 when nothing could be checked."""
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)
    try:
        paths, object_info, source = _templates_and_schemas(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out.print(source, markup=False)
    bad = 0
    width = max(len(p.stem) for p in paths)
    for path in paths:
        report = check_template(path, object_info)
        if not report.problems:
            out.print(f"[green]ok[/]    {report.name}")
            continue
        bad += 1
        out.print(f"[red]FAIL[/]  {report.name:<{width}}  {report.problems} problem(s)")
        sections = (("file", report.load), ("unknown node", report.unknown_nodes),
                    ("schema", report.graph), ("binding", report.bindings))
        for label, problems in sections:
            for problem in problems:
                out.print(f"      {label}: {problem}", markup=False)
        if report.unknown_nodes:
            out.print("      (install the node pack that provides them, or use a newer ComfyUI)",
                      markup=False)
    out.print(f"{len(paths)} template(s): {len(paths) - bad} ok, {bad} with problems", markup=False)
    return 1 if bad else 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print each template with the models it serves and its bound parameters; returns 0 (2 on
    an unreadable folder or template)."""
    from ..templates import TemplateError, load_template

    try:
        paths = template_paths(_workflows(args), args.template)
        templates = [load_template(p) for p in paths]
    except (ValueError, TemplateError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for t in templates:
        serves = ", ".join(f"{m} {q}" for m, q in t.serves) + (f" ({t.variant})" if t.variant else "")
        print(f"{t.name}  ({t.family}; serves {serves}; {len(t.graph)} nodes)")
        for param, targets in sorted(t.params.items()):
            print(f"    {param:<16} -> " + ", ".join(f"{title!r}.{inp}" for title, inp in targets))
    return 0


def _default_object_info() -> list[Path]:
    """The 0.33.0 snapshot (../shared/comfyui, or shared/comfyui in the repository) and the node
    pack's entry, as the offline checks use them."""
    from ..paths import PROJECT_ROOT

    snapshot = next((p / "comfyui" / "object_info-0.33.0.json"
                     for p in (PROJECT_ROOT.parent / "shared", PROJECT_ROOT / "shared")
                     if (p / "comfyui" / "object_info-0.33.0.json").is_file()),
                    PROJECT_ROOT.parent / "shared" / "comfyui" / "object_info-0.33.0.json")
    return [snapshot, PROJECT_ROOT / "custom_nodes" / "ltx_worker_nodes" / "object_info.json"]


def cmd_ui(args: argparse.Namespace) -> int:
    """Write each template's UI twin (or, with --check, report the twins out of step); returns
    0, 1 when --check found a problem, 2 when nothing could be done."""
    from ..paths import PROJECT_ROOT
    from ..ui_format import added_by_editor, check_in_step, ui_for_template, ui_path, write_ui

    if not args.object_info and not args.comfy_url:
        args.object_info = _default_object_info()
    try:
        paths, object_info, source = _templates_and_schemas(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(source)
    bad = 0
    for path in paths:
        twin = ui_path(path)
        shown = f"{path.parent.name}/ui/{twin.name}"
        if args.check:
            problems = check_in_step(path, object_info)
            if not problems:
                print(f"ok    {shown}")
                continue
            bad += 1
            print(f"FAIL  {shown}: {len(problems)} difference(s); regenerate it with "
                  f"`ltx-worker templates ui --template {path.stem}`")
            for problem in problems[:20]:
                print(f"      {problem}")
            continue
        try:
            ui = ui_for_template(path, object_info, root=PROJECT_ROOT)
        except (OSError, ValueError, KeyError) as err:
            print(f"error: {path.name}: {err}", file=sys.stderr)
            return 2
        write_ui(twin, ui)
        graph = json.loads(path.read_text(encoding="utf-8"))
        added = added_by_editor(graph, object_info)
        extra = ("; the editor adds " + ", ".join(f"{t!r}.{'/'.join(i)}" for t, i in sorted(added.items()))
                 if added else "")
        print(f"wrote {shown} ({len(ui['nodes']) - 1} nodes, {len(ui['groups'])} groups{extra})")
    if args.check:
        print(f"{len(paths)} UI file(s): {len(paths) - bad} in step, {bad} not")
    return 1 if bad else 0
