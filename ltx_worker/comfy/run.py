"""Following one prompt to its end: ComfyUI's websocket protocol, with deadline and cancel.

`PromptFollower.run_prompt` connects the websocket first, posts the prompt with the client_id,
reads messages until ``executing`` with ``node: null`` for the prompt (the history entry is only
written after ``execution_success``; FACTS.md), then reads ``/history/<prompt_id>``. A dropped
websocket is reopened and the prompt's state read from ``/history`` and ``/queue``. It is a mixin
of `client.ComfyClient`, whose HTTP calls (submit, history, queue, cancel, free) it uses.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable

import websocket

from ..errors import ErrorCode, WorkerError
from ..graph import title_of
from .types import Progress, PromptRun

log = logging.getLogger(__name__)

#: Seconds one websocket read waits; cancel and deadline are checked this often.
WS_POLL_S = 0.25
#: Seconds without a websocket message after which /history is read (a missed completion).
HISTORY_POLL_S = 5.0
#: Seconds to get the websocket back after it dropped before ComfyUI counts as gone.
RECONNECT_S = 3.0


class PromptFollower:
    """`run_prompt` and the websocket protocol behind it (a mixin of `client.ComfyClient`)."""

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
        Every call to ComfyUI is bounded by the deadline (`timeout_s` from now, or
        `run.deadline` when nearer), so a frozen ComfyUI cannot hold the job past it.

        Args:
            graph: a filled API-format prompt.
            timeout_s: seconds the prompt may take; past them it is cancelled in ComfyUI.
            on_progress: called from this thread with each `Progress` event.
            run: shared state with the caller: receives the prompt_id, and its `cancel` event
                stops the prompt in ComfyUI (the async handler sets it when RunPod cancels).

        Raises:
            WorkerError: see `submit`; GENERATION_FAILED (or OUT_OF_MEMORY, after ``/free``) on
                ``execution_error`` naming the node; TIMEOUT past the deadline and CANCELLED on
                `run.cancel` (both after removing the prompt from ComfyUI; a TIMEOUT whose
                interrupt ComfyUI did not answer carries ``refresh_worker``); COMFY_UNAVAILABLE
                when ComfyUI goes away or comes back without the prompt (it restarted).
        """
        run = run or PromptRun()
        deadline = time.monotonic() + timeout_s
        if run.deadline is not None:
            deadline = min(deadline, run.deadline)
        ws = self._connect_ws(deadline)
        # our id, set before the POST: a cancel can reach a prompt whose POST is unanswered
        run.prompt_id = asked_id = str(uuid.uuid4())
        try:
            prompt_id = self.submit(graph, prompt_id=asked_id, deadline=deadline)
            run.prompt_id = prompt_id
            self._follow(ws, prompt_id, graph, deadline, on_progress, run)
            entry = self.history(prompt_id, deadline=deadline)
        except WorkerError as err:
            if err.code is not ErrorCode.TIMEOUT:
                raise
            # the deadline passed (or a call ran into it): stop the prompt, unanswered POST /prompt included
            stopped = self.cancel(run.prompt_id, deadline=deadline)
            raise WorkerError(
                ErrorCode.TIMEOUT,
                f"prompt {run.prompt_id} did not finish before the job deadline"
                + ("" if stopped else "; ComfyUI did not answer its interrupt, so this worker is replaced"),
                refresh_worker=not stopped,
            ) from None
        finally:
            ws.close(timeout=0)
        if entry is None:
            raise WorkerError(ErrorCode.OUTPUT_MISSING, f"prompt {prompt_id} has no history entry")
        return prompt_id, entry

    def _connect_ws(self, deadline: float | None = None, *, cap: float | None = None) -> websocket.WebSocket:
        """Open the websocket within the client's timeout (or `cap`), before `deadline`.

        Raises:
            WorkerError: COMFY_UNAVAILABLE when ComfyUI does not take it; TIMEOUT
                (``refresh_worker``) when it did not answer before `deadline`.
        """
        limit, by_deadline = self.call_timeout(deadline, cap=cap)
        ws = websocket.WebSocket()
        what = "the websocket handshake"
        try:
            ws.connect(f"{self.ws_url}?clientId={self.client_id}", timeout=limit)
        except websocket.WebSocketBadStatusException as err:
            ws.close(timeout=0)
            log.warning("ComfyUI websocket refused: %s", err)
            raise WorkerError(
                ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI refused the websocket (HTTP {err.status_code})"
            ) from None
        except (OSError, websocket.WebSocketException) as err:
            ws.close(timeout=0)
            raise self._failure(err, what, limit, by_deadline) from None
        self.unanswered = False
        ws.settimeout(WS_POLL_S)
        return ws

    def _state(self, prompt_id: str, deadline: float | None = None) -> tuple[str, dict | None]:
        """The prompt's state and history entry: "done", "error", "interrupted", "queued" or
        "lost" (ComfyUI does not know it); the entry is None unless the prompt has ended."""
        entry = self.history(prompt_id, deadline=deadline)
        if entry is not None:
            status = entry.get("status") or {}
            if status.get("status_str") == "error":
                kinds = {m[0] for m in status.get("messages", []) if m}
                return ("interrupted" if "execution_interrupted" in kinds else "error"), entry
            return "done", entry
        running, pending = self.queue(deadline=deadline)
        return ("queued" if prompt_id in running or prompt_id in pending else "lost"), None

    def _reconnect(self, prompt_id: str, deadline: float) -> websocket.WebSocket:
        """Reopen the websocket within `RECONNECT_S` (COMFY_UNAVAILABLE when ComfyUI is gone;
        TIMEOUT when the deadline comes first)."""
        give_up = time.monotonic() + RECONNECT_S
        while True:
            try:
                return self._connect_ws(deadline, cap=max(0.05, give_up - time.monotonic()))
            except WorkerError as err:
                if err.code is ErrorCode.TIMEOUT:
                    raise
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
                    raise WorkerError(
                        ErrorCode.TIMEOUT, f"prompt {prompt_id} did not finish before the job deadline"
                    )
                if now - last_check > HISTORY_POLL_S:
                    last_check = now
                    if self._settled(prompt_id, graph, deadline):
                        return
                try:
                    raw = ws.recv()
                except websocket.WebSocketTimeoutException:
                    continue
                except (OSError, websocket.WebSocketException) as err:
                    log.warning("ComfyUI websocket dropped (%s: %s); reconnecting", type(err).__name__, err)
                    ws.close(timeout=0)
                    ws = self._reconnect(prompt_id, deadline)
                    last_check = time.monotonic()
                    if self._settled(prompt_id, graph, deadline):
                        return
                    continue
                if not isinstance(raw, str):
                    continue  # binary preview images
                last_check = time.monotonic()
                if self._handle(json.loads(raw), prompt_id, graph, on_progress, deadline):
                    return
        finally:
            ws.close(timeout=0)

    def _settled(self, prompt_id: str, graph: dict, deadline: float | None = None) -> bool:
        """Whether the prompt has finished per /history (raises for errors and lost prompts)."""
        state, entry = self._state(prompt_id, deadline)
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
                self._handle({"type": kind, "data": data}, prompt_id, graph, None, deadline)
        raise WorkerError(ErrorCode.GENERATION_FAILED, f"prompt {prompt_id} failed in ComfyUI")

    def _handle(
        self,
        msg: dict,
        prompt_id: str,
        graph: dict,
        on_progress: Callable[[Progress], None] | None,
        deadline: float | None = None,
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
                freed = self.free(deadline=deadline)
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
