"""What the ComfyUI client hands back: progress events, the shared state of a running prompt,
saved files, and ``POST /prompt`` node errors turned into worker errors."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..errors import ErrorCode, WorkerError
from ..graph import is_model_file, title_of


@dataclass(frozen=True)
class Progress:
    """One progress event of a running prompt.

    Attributes:
        node: id of the node running (or None when only the current node changed).
        value: steps done (ComfyUI ``progress.value``), 0 when the node just started.
        max: steps of the node (``progress.max``), 0 when unknown.
    """

    node: str | None
    value: int
    max: int


@dataclass
class PromptRun:
    """State shared between `ComfyClient.run_prompt` (a worker thread) and its caller.

    Attributes:
        prompt_id: set when the prompt is sent to ComfyUI (the id it is queued under, chosen
            by the client, so a cancel reaches a prompt whose ``POST /prompt`` went unanswered).
        cancel: set by the caller to stop the prompt (RunPod cancelled the job).
        deadline: the job's end (`time.monotonic()`); the caller passes it to every client call
            of the job, and `ComfyClient.run_prompt` stops the prompt there at the latest.
    """

    prompt_id: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None


@dataclass(frozen=True)
class OutputFile:
    """A file a node saved: ComfyUI's ``{filename, subfolder, type}`` triple."""

    filename: str
    subfolder: str
    type: str


def _node_error_to_worker_error(body: dict, graph: dict) -> WorkerError:
    """Turn a ``POST /prompt`` 400 answer into MODEL_MISSING or WORKFLOW_INVALID per node."""
    node_errors = body.get("node_errors") or {}
    problems: list[str] = []
    missing: list[str] = []
    for node_id, info in node_errors.items():
        class_type = info.get("class_type") or graph.get(node_id, {}).get("class_type", "?")
        title = title_of(graph.get(node_id)) or class_type
        for err in info.get("errors", []):
            extra = err.get("extra_info") or {}
            input_name = extra.get("input_name")
            value = extra.get("received_value")
            if value is None and input_name:
                value = graph.get(node_id, {}).get("inputs", {}).get(input_name)
            if err.get("type") == "value_not_in_list" and is_model_file(value):
                missing.append(f"{value} (node {node_id} {title!r}, {class_type}.{input_name})")
            else:
                detail = err.get("details") or err.get("message") or err.get("type")
                problems.append(f"node {node_id} {title!r} ({class_type}): {detail}")
    if missing:
        return WorkerError(
            ErrorCode.MODEL_MISSING,
            "model file not found by ComfyUI: " + "; ".join(missing),
            details={"missing": missing},
        )
    if not problems:
        error = body.get("error") or {}
        problems.append(str(error.get("message") or error or "prompt rejected"))
    return WorkerError(ErrorCode.WORKFLOW_INVALID, "; ".join(problems), details={"nodes": problems})
