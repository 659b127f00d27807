"""A client of one local ComfyUI server: HTTP (requests) and the websocket (websocket-client).

One `ComfyClient` serves the worker for its whole life (one HTTP session, one client_id).
`run_prompt` follows ComfyUI's protocol as clients have learned it (FACTS.md): connect the
websocket first, ``POST /prompt`` with the client_id, read messages until ``executing`` with
``node: null`` for our prompt_id (the history entry is only written after
``execution_success``), then read ``/history/<prompt_id>``.

All calls are blocking; the async handler runs them in a worker thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import websocket

from ..errors import ErrorCode, WorkerError
from ..graph import is_model_file, title_of

log = logging.getLogger(__name__)

#: Seconds one websocket read waits; cancel and deadline are checked this often.
WS_POLL_S = 0.25
#: Seconds without a websocket message after which /history is read (a missed completion).
HISTORY_POLL_S = 5.0
#: Seconds to get the websocket back after it dropped before ComfyUI counts as gone.
RECONNECT_S = 3.0

#: Model-file extensions: a node error on an input holding one of these is a missing model.


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
        prompt_id: set once ComfyUI has queued the prompt.
        cancel: set by the caller to stop the prompt (RunPod cancelled the job).
    """

    prompt_id: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


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


class ComfyClient:
    """Client of the ComfyUI server at `base_url` (e.g. ``http://127.0.0.1:8188``).

    Args:
        base_url: HTTP base URL; the websocket URL is derived from it.
        request_timeout_s: timeout of one HTTP request, seconds.
    """

    def __init__(self, base_url: str, request_timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = "ws" + self.base_url[len("http") :] + "/ws"
        self.client_id = uuid.uuid4().hex
        self.timeout = request_timeout_s
        self.http = requests.Session()

    # -- plain HTTP ---------------------------------------------------------------------------
    def _get(self, path: str, **kwargs: Any) -> requests.Response:
        try:
            resp = self.http.get(self.base_url + path, timeout=self.timeout, **kwargs)
            resp.raise_for_status()
            return resp
        except requests.RequestException as err:
            raise WorkerError(
                ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI GET {path.split('?')[0]} failed: {err}"
            ) from None

    def _post(self, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.http.post(self.base_url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as err:
            raise WorkerError(
                ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI POST {path} failed: {err}"
            ) from None

    def is_ready(self) -> bool:
        """Whether ``GET /system_stats`` answers 200 now."""
        try:
            return self.http.get(self.base_url + "/system_stats", timeout=2).ok
        except requests.RequestException:
            return False

    def wait_ready(self, timeout_s: float) -> dict:
        """Poll ``/system_stats`` until ComfyUI answers; returns its JSON.

        Raises:
            WorkerError: COMFY_UNAVAILABLE after `timeout_s` seconds without an answer.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.is_ready():
                return self._get("/system_stats").json()
            time.sleep(0.25)
        raise WorkerError(
            ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI did not answer within {timeout_s:.0f} s"
        )

    def object_info(self) -> dict:
        """``GET /object_info``: every node class's schema, by class_type."""
        return self._get("/object_info").json()

    def upload_image(self, data: bytes, filename: str, content_type: str = "image/png") -> str:
        """``POST /upload/image``; returns the name to put in LoadImage's ``image`` input.

        Raises:
            WorkerError: COMFY_UNAVAILABLE when ComfyUI does not take the file.
        """
        resp = self._post(
            "/upload/image",
            files={"image": (filename, data, content_type)},
            data={"overwrite": "true", "type": "input"},
        )
        if not resp.ok:
            raise WorkerError(
                ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI refused the image upload ({resp.status_code})"
            )
        body = resp.json()
        sub = body.get("subfolder") or ""
        return f"{sub}/{body['name']}" if sub else body["name"]

    def history(self, prompt_id: str) -> dict | None:
        """``GET /history/<prompt_id>``: the entry, or None while it is not written yet."""
        return self._get(f"/history/{prompt_id}").json().get(prompt_id)

    def download(self, file: OutputFile, dest: Path) -> Path:
        """Stream an output file from ``GET /view`` to `dest`; returns `dest`."""
        params = {"filename": file.filename, "subfolder": file.subfolder, "type": file.type}
        try:
            with self.http.get(
                self.base_url + "/view", params=params, stream=True, timeout=self.timeout
            ) as resp:
                resp.raise_for_status()
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "wb") as fh:
                    for chunk in resp.iter_content(1 << 20):
                        fh.write(chunk)
        except requests.RequestException as err:
            raise WorkerError(
                ErrorCode.OUTPUT_MISSING, f"could not read {file.filename} from ComfyUI: {err}"
            ) from None
        return dest

    # -- running a prompt ---------------------------------------------------------------------
    def submit(self, graph: dict) -> str:
        """``POST /prompt`` with this client's client_id; returns the prompt_id.

        Raises:
            WorkerError: MODEL_MISSING / WORKFLOW_INVALID for a graph ComfyUI rejects (naming
                each node and file), COMFY_UNAVAILABLE when it does not answer.
        """
        resp = self._post("/prompt", json={"prompt": graph, "client_id": self.client_id})
        if resp.status_code == 400:
            try:
                body = resp.json()
            except ValueError:
                body = {}
            raise _node_error_to_worker_error(body, graph)
        if not resp.ok:
            raise WorkerError(ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI /prompt answered {resp.status_code}")
        return resp.json()["prompt_id"]

    def queue(self) -> tuple[list[str], list[str]]:
        """``GET /queue``: the prompt ids (running, pending)."""
        body = self._get("/queue").json()
        ids = lambda items: [str(item[1]) for item in items or [] if len(item) > 1]  # noqa: E731
        return ids(body.get("queue_running")), ids(body.get("queue_pending"))

    def cancel(self, prompt_id: str) -> None:
        """Stop `prompt_id` in ComfyUI: drop it from the queue and interrupt it if it runs.

        ``POST /queue {"delete": [id]}`` then ``POST /interrupt {"prompt_id": id}`` (ComfyUI
        0.33 interrupts only that prompt; 0.3.75 ignores the body and interrupts what runs,
        which on a one-job worker is the same prompt). Best effort: never raises.
        """
        for path, body in (("/queue", {"delete": [prompt_id]}), ("/interrupt", {"prompt_id": prompt_id})):
            try:
                self.http.post(self.base_url + path, json=body, timeout=5)
            except requests.RequestException as err:
                log.warning("ComfyUI %s for %s failed: %s", path, prompt_id, err)

    def forget(self, prompt_id: str) -> None:
        """Delete the prompt's history entry (``POST /history {"delete": [id]}``); never raises."""
        try:
            self.http.post(self.base_url + "/history", json={"delete": [prompt_id]}, timeout=5)
        except requests.RequestException as err:
            log.warning("ComfyUI history delete of %s failed: %s", prompt_id, err)

    def free(self) -> bool:
        """Unload models and free memory (``POST /free``), e.g. after out-of-memory; never raises."""
        try:
            return self.http.post(
                self.base_url + "/free", json={"unload_models": True, "free_memory": True}, timeout=10
            ).ok
        except requests.RequestException:
            return False

    def run_prompt(
        self,
        graph: dict,
        *,
        timeout_s: float,
        on_progress: Callable[[Progress], None] | None = None,
        run: PromptRun | None = None,
    ) -> tuple[str, dict]:
        """Submit `graph` and wait until it has run; returns (prompt_id, history entry).

        The websocket is opened before the prompt is queued. If it drops, it is reopened and
        the prompt's state is read from ``/history`` and ``/queue``, so a finished prompt is
        never missed; while no message arrives, ``/history`` is polled every few seconds too.

        Args:
            graph: a filled API-format prompt.
            timeout_s: seconds the prompt may take; past them it is cancelled in ComfyUI.
            on_progress: called from this thread with each `Progress` event.
            run: shared state with the caller: receives the prompt_id, and its `cancel` event
                stops the prompt in ComfyUI (the async handler sets it when RunPod cancels).

        Raises:
            WorkerError: see `submit`; GENERATION_FAILED (or OUT_OF_MEMORY, after ``/free``) on
                ``execution_error`` naming the node; TIMEOUT past `timeout_s` and CANCELLED on
                `run.cancel` (both after removing the prompt from ComfyUI); COMFY_UNAVAILABLE
                when ComfyUI goes away or comes back without the prompt (it restarted).
        """
        run = run or PromptRun()
        deadline = time.monotonic() + timeout_s
        ws = self._connect_ws()
        try:
            prompt_id = self.submit(graph)
            run.prompt_id = prompt_id
            self._follow(ws, prompt_id, graph, deadline, on_progress, run)
        finally:
            ws.close(timeout=0)
        entry = self.history(prompt_id)
        if entry is None:
            raise WorkerError(ErrorCode.OUTPUT_MISSING, f"prompt {prompt_id} has no history entry")
        return prompt_id, entry

    def _connect_ws(self) -> websocket.WebSocket:
        ws = websocket.WebSocket()
        try:
            ws.connect(f"{self.ws_url}?clientId={self.client_id}", timeout=self.timeout)
        except (OSError, websocket.WebSocketException) as err:
            raise WorkerError(ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI websocket: {err}") from None
        ws.settimeout(WS_POLL_S)
        return ws

    def _state(self, prompt_id: str) -> tuple[str, dict | None]:
        """The prompt's state and history entry: "done", "error", "interrupted", "queued" or
        "lost" (ComfyUI does not know it); the entry is None unless the prompt has ended."""
        entry = self.history(prompt_id)
        if entry is not None:
            status = entry.get("status") or {}
            if status.get("status_str") == "error":
                kinds = {m[0] for m in status.get("messages", []) if m}
                return ("interrupted" if "execution_interrupted" in kinds else "error"), entry
            return "done", entry
        running, pending = self.queue()
        return ("queued" if prompt_id in running or prompt_id in pending else "lost"), None

    def _reconnect(self, prompt_id: str, deadline: float) -> websocket.WebSocket:
        """Reopen the websocket within `RECONNECT_S` (COMFY_UNAVAILABLE when ComfyUI is gone)."""
        give_up = min(deadline, time.monotonic() + RECONNECT_S)
        while True:
            try:
                return self._connect_ws()
            except WorkerError:
                if time.monotonic() > give_up:
                    raise WorkerError(
                        ErrorCode.COMFY_UNAVAILABLE,
                        f"ComfyUI went away while running prompt {prompt_id}",
                    ) from None
                time.sleep(0.25)

    def _follow(
        self,
        ws: websocket.WebSocket,
        prompt_id: str,
        graph: dict,
        deadline: float,
        on_progress: Callable[[Progress], None] | None,
        run: PromptRun,
    ) -> None:
        last_check = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if run.cancel.is_set():
                    self.cancel(prompt_id)
                    raise WorkerError(ErrorCode.CANCELLED, f"prompt {prompt_id} was cancelled")
                if now > deadline:
                    self.cancel(prompt_id)
                    raise WorkerError(
                        ErrorCode.TIMEOUT, f"prompt {prompt_id} did not finish before the job deadline"
                    )
                if now - last_check > HISTORY_POLL_S:
                    last_check = now
                    if self._settled(prompt_id, graph):
                        return
                try:
                    raw = ws.recv()
                except websocket.WebSocketTimeoutException:
                    continue
                except (OSError, websocket.WebSocketException) as err:
                    log.warning("ComfyUI websocket dropped (%s); reconnecting", err)
                    ws.close(timeout=0)
                    ws = self._reconnect(prompt_id, deadline)
                    last_check = time.monotonic()
                    if self._settled(prompt_id, graph):
                        return
                    continue
                if not isinstance(raw, str):
                    continue  # binary preview images
                last_check = time.monotonic()
                if self._handle(json.loads(raw), prompt_id, graph, on_progress):
                    return
        finally:
            ws.close(timeout=0)

    def _settled(self, prompt_id: str, graph: dict) -> bool:
        """Whether the prompt has finished per /history (raises for errors and lost prompts)."""
        state, entry = self._state(prompt_id)
        if state == "done":
            return True
        if state == "queued":
            return False
        if state == "lost":
            raise WorkerError(
                ErrorCode.COMFY_UNAVAILABLE,
                f"ComfyUI lost prompt {prompt_id} (it restarted while the job ran)",
            )
        if state == "interrupted":
            raise WorkerError(ErrorCode.CANCELLED, f"prompt {prompt_id} was interrupted")
        messages = (entry or {}).get("status", {}).get("messages", [])
        for kind, data in messages:
            if kind == "execution_error":
                self._handle({"type": kind, "data": data}, prompt_id, graph, None)
        raise WorkerError(ErrorCode.GENERATION_FAILED, f"prompt {prompt_id} failed in ComfyUI")

    def _handle(
        self,
        msg: dict,
        prompt_id: str,
        graph: dict,
        on_progress: Callable[[Progress], None] | None,
    ) -> bool:
        """Act on one websocket message; True when the prompt is done."""
        kind, data = msg.get("type"), msg.get("data") or {}
        if data.get("prompt_id") not in (None, prompt_id):
            return False
        if kind == "executing":
            if data.get("node") is None and data.get("prompt_id") == prompt_id:
                return True
            if on_progress:
                on_progress(Progress(data.get("node"), 0, 0))
        elif kind == "progress" and on_progress:
            on_progress(Progress(data.get("node"), int(data["value"]), int(data["max"])))
        elif kind == "execution_error":
            text = str(data.get("exception_message", "")).strip()
            node = data.get("node_id")
            where = f"node {node} {title_of(graph.get(str(node))) or ''!r} ({data.get('node_type')})"
            if "out of memory" in text.lower() or "OutOfMemory" in str(data.get("exception_type")):
                freed = self.free()
                raise WorkerError(
                    ErrorCode.OUT_OF_MEMORY,
                    f"{where} ran out of GPU memory; models were "
                    + ("unloaded, a retry can run" if freed else "not unloaded"),
                    details={"models_unloaded": freed},
                )
            raise WorkerError(ErrorCode.GENERATION_FAILED, f"{where} failed: {text[:500]}")
        elif kind == "execution_interrupted":
            raise WorkerError(ErrorCode.CANCELLED, f"prompt {prompt_id} was interrupted")
        return False

    @staticmethod
    def output_files(entry: dict, node_id: str) -> list[OutputFile]:
        """Files saved by `node_id` in a history entry (SaveVideo lists its MP4 under "images",
        with ``animated: [true]``; other nodes use "videos" or "gifs")."""
        out = entry.get("outputs", {}).get(str(node_id), {})
        files = []
        for key in ("images", "videos", "gifs"):
            for item in out.get(key, []) or []:
                if isinstance(item, dict) and "filename" in item:
                    files.append(
                        OutputFile(item["filename"], item.get("subfolder", ""), item.get("type", "output"))
                    )
        return files

    @staticmethod
    def output_text(entry: dict, node_id: str) -> str | None:
        """The text a text-showing output node (PreviewAny) put in a history entry
        (``outputs[node]["text"][0]``), or None."""
        texts = entry.get("outputs", {}).get(str(node_id), {}).get("text") or []
        return str(texts[0]) if texts else None
