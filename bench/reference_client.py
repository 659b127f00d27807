"""The smallest correct ComfyUI client: the yardstick the worker's overhead is measured against.

It does only what any client must do to get a video out of ComfyUI (ComfyUI's own
``script_examples/websockets_api_example.py`` protocol), and nothing else:

1. open the websocket ``/ws?clientId=<id>``;
2. ``POST /prompt`` ``{"prompt": graph, "client_id": id}``;
3. read messages until ``executing`` with ``node: null`` for that prompt;
4. ``GET /history/<prompt_id>``;
5. ``GET /view`` for the first ``.mp4`` the output node saved, written to a file.

No validation, progress, probing, poster or error mapping: errors raise.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
import websocket


@dataclass
class ReferenceRun:
    """One prompt run by `ReferenceClient.run`.

    Attributes:
        prompt_id: ComfyUI's id of the prompt.
        history: the ``/history/<prompt_id>`` entry.
        video_path: where the MP4 was written.
        wall_s: seconds from before the websocket connect to the end of the download.
        connect_s: seconds spent opening the websocket.
        submit_s: seconds spent in ``POST /prompt``.
        submitted_at: ``time.time()`` when ``POST /prompt`` answered (seconds since the epoch).
        done_at: ``time.time()`` when ``executing``/null arrived (seconds since the epoch).
        closed_at: ``time.time()`` once the websocket was closed (its close handshake done).
        history_s: seconds spent in ``GET /history``.
        download_s: seconds spent in ``GET /view`` (and writing the file).
        messages: websocket text messages received (type, wall time of receipt).
    """

    prompt_id: str
    history: dict
    video_path: Path
    wall_s: float
    connect_s: float
    submit_s: float
    submitted_at: float
    done_at: float
    closed_at: float
    history_s: float
    download_s: float
    messages: list[tuple[str, float]]


class ReferenceClient:
    """A minimal ComfyUI client (see the module doc) of the server at `base_url`.

    Args:
        base_url: ``http://host:port`` of ComfyUI.
        timeout_s: HTTP timeout of one request, seconds.
    """

    def __init__(self, base_url: str, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = "ws" + self.base_url[len("http"):] + "/ws"
        self.client_id = uuid.uuid4().hex
        self.timeout_s = timeout_s
        self.http = requests.Session()

    def run(self, graph: dict, output_node: str, dest: Path) -> ReferenceRun:
        """Run the API-format `graph` and download the MP4 saved by node `output_node` to `dest`.

        Raises:
            RuntimeError: the prompt was refused, failed, or saved no MP4.
            requests.RequestException, websocket.WebSocketException: the server is unreachable.
        """
        t0 = time.perf_counter()
        ws = websocket.create_connection(f"{self.ws_url}?clientId={self.client_id}",
                                         timeout=self.timeout_s)
        t_connected = time.perf_counter()
        messages: list[tuple[str, float]] = []
        try:
            resp = self.http.post(f"{self.base_url}/prompt",
                                  json={"prompt": graph, "client_id": self.client_id},
                                  timeout=self.timeout_s)
            if not resp.ok:
                raise RuntimeError(f"/prompt answered {resp.status_code}: {resp.text[:500]}")
            prompt_id = resp.json()["prompt_id"]
            t_submitted, submitted_at = time.perf_counter(), time.time()
            ws.settimeout(None)
            while True:
                raw = ws.recv()
                if not isinstance(raw, str):
                    continue  # binary previews
                msg = json.loads(raw)
                data = msg.get("data") or {}
                messages.append((msg.get("type", ""), time.time()))
                if msg.get("type") == "execution_error" and data.get("prompt_id") == prompt_id:
                    raise RuntimeError(f"prompt failed: {data.get('exception_message')}")
                if (msg.get("type") == "executing" and data.get("node") is None
                        and data.get("prompt_id") == prompt_id):
                    break
            done_at = time.time()
        finally:
            ws.close()
        t_done, closed_at = time.perf_counter(), time.time()
        history = self.http.get(f"{self.base_url}/history/{prompt_id}",
                                timeout=self.timeout_s).json()[prompt_id]
        t_history = time.perf_counter()
        files = [f for key in ("images", "videos", "gifs")
                 for f in history["outputs"].get(str(output_node), {}).get(key, [])
                 if str(f.get("filename", "")).endswith(".mp4")]
        if not files:
            raise RuntimeError(f"prompt {prompt_id} saved no MP4")
        params = {k: files[0].get(k, "") for k in ("filename", "subfolder", "type")}
        with self.http.get(f"{self.base_url}/view", params=params, timeout=self.timeout_s) as resp:
            resp.raise_for_status()
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(resp.content)
        t_end = time.perf_counter()
        return ReferenceRun(
            prompt_id=prompt_id, history=history, video_path=dest, wall_s=t_end - t0,
            connect_s=t_connected - t0, submit_s=t_submitted - t_connected,
            submitted_at=submitted_at, done_at=done_at, closed_at=closed_at, history_s=t_history - t_done,
            download_s=t_end - t_history, messages=messages,
        )
