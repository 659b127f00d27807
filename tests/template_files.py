"""Where the tests find the templates, the official templates and the node schemas, and two
small readers (plain functions, no package import: the official-settings tests use them too).

* `WORKFLOWS`: the project's templates; `OFFICIAL`: ComfyUI's official LTX templates
  (``../shared/reference/ltx2/native-templates/``); `OI_033`: the ComfyUI 0.33.0 ``/object_info``
  snapshot; `PACK_OBJECT_INFO`: the node pack's entry for it.
* `snapshot_033`: the snapshot with the node pack's entry (the conftest ``object_info`` fixture).
* `ids_by_title`: title -> node id of an API graph, asserting titles are unique.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
PACK_OBJECT_INFO = REPO / "custom_nodes" / "ltx_worker_nodes" / "object_info.json"
SHARED = next((p for p in (REPO.parent / "shared", REPO / "shared") if (p / "comfyui").is_dir()),
              REPO.parent / "shared")
OI_033 = SHARED / "comfyui" / "object_info-0.33.0.json"
OFFICIAL = SHARED / "reference" / "ltx2" / "native-templates"


def load_json(path: Path) -> dict:
    """A JSON file (UTF-8)."""
    return json.loads(path.read_text(encoding="utf-8"))


def snapshot_033() -> dict:
    """ComfyUI 0.33.0's ``/object_info`` with the node pack's entry added; fails the test when
    the snapshot is not there."""
    if not OI_033.is_file():
        pytest.fail(f"no object_info snapshot at {OI_033}")
    return {**load_json(OI_033), **load_json(PACK_OBJECT_INFO)}


def ids_by_title(graph: dict) -> dict[str, str]:
    """Title (``_meta.title``) -> node id of an API-format graph; asserts every title is unique."""
    ids: dict[str, str] = {}
    for node_id, node in graph.items():
        title = node["_meta"]["title"]
        assert title not in ids, f"title {title!r} is not unique"
        ids[title] = node_id
    return ids
