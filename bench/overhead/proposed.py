"""The changes docs/benchmarks.md recommends for ltx_worker/comfy/client.py, as a subclass.

`ProposedComfyClient` is the worker's `ComfyClient` with nothing sent to ComfyUI between the
end of a prompt and the job's result, because right after a prompt ComfyUI's prompt thread may
hold the GIL for a few hundred ms (``gc.collect()`` at most every 10 s, main.py) and anything
asked of its server meanwhile waits (``python -m bench.protocol`` shows it):

1. the websocket is closed without waiting for the server's close frame (``close(timeout=0)``;
   in ``ComfyClient`` itself since the first run, so inherited here);
2. the outputs and status come from the websocket (``executed`` messages carry each output
   node's files, ``execution_*`` messages their timestamps), so no ``GET /history`` after the
   prompt; ``/history`` stays the fallback (a missed message, a reconnect, an old ComfyUI);
3. when ComfyUI's output folder is on this machine, the MP4 is moved out of it (a rename) rather
   than streamed through ``GET /view``;
4. ``POST /history`` delete (the clean-up) runs in the background; the next prompt waits for it.

Used only by ``bench.overhead`` (its third column). Change 2 overrides the client's private
``_handle`` (the only private name used); `check_handle` refuses to build the client when that
method's parameters changed, so a refactor of the client fails the smoke test instead of
quietly measuring the fallback.
"""

from __future__ import annotations

import inspect
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from ltx_worker.comfy.client import ComfyClient, OutputFile

#: Websocket messages whose data the history entry's ``status.messages`` also holds.
_STATUS_KINDS = ("execution_start", "execution_cached", "execution_success")
#: The parameters of ``ComfyClient._handle`` this subclass was written against.
_HANDLE_PARAMS = ("self", "msg", "prompt_id", "graph", "on_progress", "deadline")


def check_handle() -> None:
    """Raise RuntimeError when ``ComfyClient._handle`` is gone or takes other parameters."""
    handle = getattr(ComfyClient, "_handle", None)
    params = tuple(inspect.signature(handle).parameters) if callable(handle) else ()
    if params != _HANDLE_PARAMS:
        raise RuntimeError(f"ComfyClient._handle{params or ' (gone)'} is not the {_HANDLE_PARAMS} that "
                           "bench/overhead/proposed.py overrides; update ProposedComfyClient")


class ProposedComfyClient(ComfyClient):
    """`ComfyClient` with the recommended changes (module doc).

    Args:
        base_url: ComfyUI's HTTP base URL.
        request_timeout_s: timeout of one HTTP request, seconds.
        output_dir: ComfyUI's output folder when it is on this machine (None: use ``/view``).
    """

    def __init__(self, base_url: str, request_timeout_s: float = 30.0,
                 output_dir: Path | None = None) -> None:
        check_handle()
        super().__init__(base_url, request_timeout_s)
        self.output_dir = Path(output_dir).resolve() if output_dir else None
        self._seen: dict[str, dict] = {}
        self._background: threading.Thread | None = None

    def run_prompt(self, graph: dict, **kwargs: Any) -> tuple[str, dict]:
        """`ComfyClient.run_prompt`, once the previous job's background clean-up has ended."""
        if self._background is not None:
            self._background.join(10)
            self._background = None
        return super().run_prompt(graph, **kwargs)

    def _handle(self, msg: dict, prompt_id: str, graph: dict, on_progress: Any,
                deadline: float | None = None) -> bool:
        kind, data = msg.get("type"), msg.get("data") or {}
        if data.get("prompt_id") == prompt_id:
            seen = self._seen.setdefault(prompt_id, {"outputs": {}, "messages": []})
            if kind in _STATUS_KINDS:
                seen["messages"].append([kind, data])
            elif kind == "executed" and isinstance(data.get("output"), dict):
                seen["outputs"][str(data.get("node"))] = data["output"]
        return super()._handle(msg, prompt_id, graph, on_progress, deadline)

    def history(self, prompt_id: str, *, deadline: float | None = None) -> dict | None:
        """The entry built from the websocket once the prompt succeeded, else ``GET /history``."""
        seen = self._seen.get(prompt_id)
        if seen and seen["outputs"] and any(k == "execution_success" for k, _ in seen["messages"]):
            del self._seen[prompt_id]
            return {"outputs": seen["outputs"],
                    "status": {"status_str": "success", "completed": True, "messages": seen["messages"]}}
        return super().history(prompt_id, deadline=deadline)

    def download(self, file: OutputFile, dest: Path, *, deadline: float | None = None) -> Path:
        """Move the file out of ComfyUI's local output folder when there is one, else ``/view``."""
        if self.output_dir is not None and file.type == "output":
            src = (self.output_dir / file.subfolder / file.filename).resolve()
            if src.is_file() and src.is_relative_to(self.output_dir):
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.replace(src, dest)
                except OSError:  # another filesystem
                    shutil.copyfile(src, dest)
                    src.unlink(missing_ok=True)
                return dest
        return super().download(file, dest, deadline=deadline)

    def forget(self, prompt_id: str, *, deadline: float | None = None) -> None:
        """``POST /history`` delete in the background (joined before the next prompt)."""
        self._background = threading.Thread(target=super().forget, args=(prompt_id,), daemon=True)
        self._background.start()
