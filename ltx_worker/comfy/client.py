"""A client of one local ComfyUI server: HTTP (requests) and the websocket (websocket-client).

One `ComfyClient` serves the worker for its whole life (one HTTP session, one client_id).
`run_prompt` follows ComfyUI's protocol as clients have learned it (FACTS.md): connect the
websocket first, ``POST /prompt`` with the client_id, read messages until ``executing`` with
``node: null`` for our prompt_id (the history entry is only written after
``execution_success``), then read ``/history/<prompt_id>``.

All calls are blocking; the async handler runs them in a worker thread. Every call takes an
optional `deadline` (a `time.monotonic()` instant, the job's end): its timeout is the client's
request timeout cut to the time left, so no call to ComfyUI outlives a job's deadline, whatever
ComfyUI does (even frozen). The calls that stop or clean up a prompt (``/queue`` delete,
``/interrupt``, ``/history`` delete, ``/free``) get `CANCEL_GRACE_S` more. A failed call is a
`WorkerError` in our own words; a library's exception text is logged, never returned.

The client is three modules: `http` (deadline-bounded HTTP calls), `run` (following a prompt
over the websocket) and this one (ComfyUI's endpoints); `types` holds what they hand back.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from ..errors import ErrorCode, WorkerError
from .http import CANCEL_GRACE_S, ComfyHttp, _Reply
from .run import PromptFollower
from .types import OutputFile, Progress, PromptRun, _node_error_to_worker_error

__all__ = ["CANCEL_GRACE_S", "ComfyClient", "OutputFile", "Progress", "PromptRun"]

log = logging.getLogger(__name__)

#: Seconds one cancel call (queue delete, interrupt) waits outside a deadline (a RunPod cancel).
CANCEL_TIMEOUT_S = 5.0


class ComfyClient(PromptFollower, ComfyHttp):
    """Client of the ComfyUI server at `base_url` (e.g. ``http://127.0.0.1:8188``).

    Args:
        base_url: HTTP base URL; the websocket URL is derived from it.
        request_timeout_s: the most one HTTP request or websocket handshake may take, seconds
            (less when a call's deadline is nearer).
    """

    def __init__(self, base_url: str, request_timeout_s: float = 30.0) -> None:
        super().__init__(base_url, request_timeout_s)
        self.ws_url = "ws" + self.base_url[len("http") :] + "/ws"
        self.client_id = uuid.uuid4().hex

    def _get(self, path: str, *, deadline: float | None = None) -> _Reply:
        resp = self._request("GET", path, deadline=deadline)
        if not resp.ok:
            raise WorkerError(
                ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI answered {resp.what} with HTTP {resp.status_code}"
            )
        return resp

    def is_ready(self, *, deadline: float | None = None) -> bool:
        """Whether ``GET /system_stats`` answers 200 now (within 2 s and before `deadline`)."""
        try:
            return self._request("GET", "/system_stats", deadline=deadline, cap=2.0, quiet=True).ok
        except WorkerError:
            return False

    def wait_ready(self, timeout_s: float, *, deadline: float | None = None) -> dict:
        """Poll ``/system_stats`` until ComfyUI answers; returns its JSON.

        Raises:
            WorkerError: COMFY_UNAVAILABLE after `timeout_s` seconds without an answer; TIMEOUT
                (``refresh_worker``) when `deadline` comes first.
        """
        if deadline is not None:
            self.call_timeout(deadline)  # TIMEOUT (ComfyUI not at fault) when it passed already
        give_up = time.monotonic() + timeout_s
        by_deadline = deadline is not None and deadline < give_up
        end = deadline if by_deadline else give_up
        while time.monotonic() < end:
            if self.is_ready(deadline=end):
                try:
                    return self._get("/system_stats", deadline=end).json()
                except WorkerError:
                    pass
            time.sleep(min(0.25, max(0.0, end - time.monotonic())))
        if by_deadline:
            raise WorkerError(
                ErrorCode.TIMEOUT, "ComfyUI did not answer before the job deadline", refresh_worker=True
            )
        raise WorkerError(
            ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI did not answer within {timeout_s:.0f} s"
        )

    def object_info(self) -> dict:
        """``GET /object_info``: every node class's schema, by class_type."""
        return self._get("/object_info").json()

    def model_folders(self) -> dict[str, list[str]]:
        """``GET /experiment/models`` (ComfyUI's model manager, app/model_manager.py): every model
        folder name and the directories ComfyUI searches for it, in its search order, e.g.
        ``{"loras": ["/comfy/models/loras", "/runpod-volume/models/loras"]}``.

        Raises:
            WorkerError: COMFY_UNAVAILABLE when ComfyUI does not answer 200.
        """
        folders = self._get("/experiment/models").json()
        return {str(f["name"]): [str(p) for p in f.get("folders") or []] for f in folders}

    def model_files(self, folder: str) -> list[str]:
        """``GET /models/<folder>``: the file names ComfyUI lists in a model folder (``loras``), as
        a loader's input takes them.

        Raises:
            WorkerError: COMFY_UNAVAILABLE when ComfyUI does not answer 200 (404: no such folder).
        """
        return [str(name) for name in self._get(f"/models/{folder}").json()]

    def upload_input(
        self, data: bytes, filename: str, content_type: str = "image/png", *, deadline: float | None = None
    ) -> str:
        """``POST /upload/image`` (ComfyUI's upload route for any input file: image, audio,
        video) into the input folder; returns the name to put in LoadImage's ``image``,
        LoadAudio's ``audio`` or LoadVideo's ``file`` input.

        Raises:
            WorkerError: COMFY_UNAVAILABLE when ComfyUI does not take the file; TIMEOUT past
                `deadline`.
        """
        resp = self._request(
            "POST", "/upload/image", deadline=deadline, what="the input upload",
            files={"image": (filename, data, content_type)},
            data={"overwrite": "true", "type": "input"},
        )
        if not resp.ok:
            raise WorkerError(
                ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI refused the upload of {filename} ({resp.status_code})"
            )
        body = resp.json()
        sub = body.get("subfolder") or ""
        return f"{sub}/{body['name']}" if sub else body["name"]

    def history(self, prompt_id: str, *, deadline: float | None = None) -> dict | None:
        """``GET /history/<prompt_id>``: the entry, or None while it is not written yet."""
        return self._get(f"/history/{prompt_id}", deadline=deadline).json().get(prompt_id)

    def download(self, file: OutputFile, dest: Path, *, deadline: float | None = None) -> Path:
        """Stream an output file from ``GET /view`` to `dest`; returns `dest`.

        Raises:
            WorkerError: OUTPUT_MISSING when ComfyUI does not have the file; COMFY_UNAVAILABLE
                or TIMEOUT (past `deadline`) when it does not send it.
        """
        params = {"filename": file.filename, "subfolder": file.subfolder, "type": file.type}
        resp = self._request("GET", "/view", deadline=deadline, params=params, to_file=dest)
        if not resp.ok:
            raise WorkerError(
                ErrorCode.OUTPUT_MISSING, f"could not read {file.filename} from ComfyUI (HTTP {resp.status_code})"
            )
        return dest

    # -- running a prompt ---------------------------------------------------------------------
    def submit(self, graph: dict, *, prompt_id: str | None = None, deadline: float | None = None) -> str:
        """``POST /prompt`` with this client's client_id; returns the prompt_id.

        Args:
            graph: a filled API-format prompt.
            prompt_id: the id to queue it under (a UUID; ComfyUI 0.3.75 and 0.33 take one), so
                that a prompt whose ``POST`` went unanswered can still be cancelled.
            deadline: the job's end.

        Raises:
            WorkerError: MODEL_MISSING / WORKFLOW_INVALID for a graph ComfyUI rejects (naming
                each node and file), COMFY_UNAVAILABLE when it does not answer, TIMEOUT when it
                does not answer before `deadline`.
        """
        body: dict[str, Any] = {"prompt": graph, "client_id": self.client_id}
        if prompt_id is not None:
            body["prompt_id"] = prompt_id
        resp = self._request("POST", "/prompt", deadline=deadline, json=body)
        if resp.status_code == 400:
            try:
                answer = json.loads(resp.content)
            except ValueError:
                answer = {}
            raise _node_error_to_worker_error(answer if isinstance(answer, dict) else {}, graph)
        if not resp.ok:
            raise WorkerError(ErrorCode.COMFY_UNAVAILABLE, f"ComfyUI /prompt answered {resp.status_code}")
        return resp.json()["prompt_id"]

    def queue(self, *, deadline: float | None = None) -> tuple[list[str], list[str]]:
        """``GET /queue``: the prompt ids (running, pending)."""
        body = self._get("/queue", deadline=deadline).json()
        ids = lambda items: [str(item[1]) for item in items or [] if len(item) > 1]  # noqa: E731
        return ids(body.get("queue_running")), ids(body.get("queue_pending"))

    def cancel(self, prompt_id: str, *, deadline: float | None = None) -> bool:
        """Stop `prompt_id` in ComfyUI: drop it from the queue and interrupt it if it runs.

        ``POST /queue {"delete": [id]}`` then ``POST /interrupt {"prompt_id": id}`` (ComfyUI
        0.33 interrupts only that prompt; 0.3.75 ignores the body and interrupts what runs,
        which on a one-job worker is the same prompt). Both together take at most
        `CANCEL_GRACE_S` past `deadline` (or past now, when the deadline has passed); without
        a deadline each waits `CANCEL_TIMEOUT_S`. When the first is not answered the second is
        not sent. Best effort: never raises.

        Returns:
            Whether ComfyUI answered both (False: it is frozen or gone).
        """
        end = None if deadline is None else max(deadline, time.monotonic()) + CANCEL_GRACE_S
        for path, body in (("/queue", {"delete": [prompt_id]}), ("/interrupt", {"prompt_id": prompt_id})):
            cap = CANCEL_TIMEOUT_S if end is None else min(CANCEL_TIMEOUT_S, end - time.monotonic())
            try:
                if cap <= 0:
                    raise WorkerError(ErrorCode.TIMEOUT, f"no time left to send POST {path}")
                self._request("POST", path, cap=cap, json=body)
            except WorkerError as err:
                log.warning("ComfyUI %s for %s failed: %s", path, prompt_id, err.message)
                return False
        return True

    def forget(self, prompt_id: str, *, deadline: float | None = None) -> None:
        """Delete the prompt's history entry (``POST /history {"delete": [id]}``); never raises.

        Waits `CANCEL_GRACE_S` at most (a healthy ComfyUI answers in milliseconds), so the
        clean-up after a deadline cannot hold the job; skipped when ComfyUI left the last call
        unanswered (the worker is being replaced).
        """
        if self.unanswered:
            log.warning("ComfyUI did not answer its last call; history entry of %s left", prompt_id)
            return
        try:
            self._request("POST", "/history", deadline=deadline, grace=CANCEL_GRACE_S, cap=CANCEL_GRACE_S,
                          json={"delete": [prompt_id]})
        except WorkerError as err:
            log.warning("ComfyUI history delete of %s failed: %s", prompt_id, err.message)

    def free(self, *, deadline: float | None = None) -> bool:
        """Unload models and free memory (``POST /free``), e.g. after out-of-memory; never raises."""
        if self.unanswered:
            return False
        try:
            return self._request(
                "POST", "/free", deadline=deadline, grace=CANCEL_GRACE_S, cap=10.0,
                json={"unload_models": True, "free_memory": True},
            ).ok
        except WorkerError:
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
