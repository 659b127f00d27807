"""ComfyUI's pause after a prompt, alone: what a client waits for once ComfyUI says "success".

``python -m bench.protocol [--prompts 4]`` starts a local ComfyUI (CPU) and runs a trivial graph
(EmptyImage -> SaveImage: a few ms of work), timing what a client sees after ComfyUI's
``execution_success`` (its timestamp travels in the message): the ``executing``/null message
arriving, the websocket close handshake (websocket-client waits for the server's close frame),
then ``GET /history``. Two ways:

* ``spaced``: prompts more than 10 s apart. ComfyUI's prompt thread then runs ``gc.collect()``
  and ``soft_empty_cache()`` right after queueing ``executing``/null (main.py,
  ``prompt_worker``); a full collection holds the GIL, so ComfyUI's server sends and answers
  nothing until it ends. Production jobs (minutes) are always in this case.
* ``back-to-back``: prompts within 10 s of each other: no collection after them.

The last column is the collection itself, logged inside ComfyUI by the benchmark-only probe
(bench/comfy_nodes). Prints the median and maximum of each (ms). Nothing here is used by the
worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from pathlib import Path

import requests
import websocket

from .comfy_server import LocalComfy, start_local_comfy

#: ComfyUI's prompt thread collects garbage at most this often (main.py, gc_collect_interval).
GC_INTERVAL_S = 10.0
#: Columns of a measurement (ms each).
COLUMNS = ("executing/null", "ws close", "GET /history", "all", "ComfyUI gc")


def _graph(n: int) -> dict:
    return {
        "1": {"class_type": "EmptyImage",
              "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": n % 0xFFFFFF},
              "_meta": {"title": "Image"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": f"proto/{n}"},
              "_meta": {"title": "Save"}},
    }


def one_prompt(server: LocalComfy, http: requests.Session, n: int) -> tuple[float, ...]:
    """Run prompt `n`; returns ms from ``execution_success`` to: ``executing``/null received,
    then the close handshake, ``GET /history``, their sum, and ComfyUI's full collections in
    that span (see `COLUMNS`)."""
    url = server.url
    client_id = uuid.uuid4().hex
    ws = websocket.create_connection(f"ws{url[4:]}/ws?clientId={client_id}", timeout=30)
    prompt_id = http.post(f"{url}/prompt", json={"prompt": _graph(n), "client_id": client_id},
                          timeout=30).json()["prompt_id"]
    success_at = None
    while True:
        raw = ws.recv()
        if not isinstance(raw, str):
            continue
        msg = json.loads(raw)
        data = msg.get("data") or {}
        if data.get("prompt_id") != prompt_id:
            continue
        if msg.get("type") == "execution_success":
            success_at = data["timestamp"] / 1000.0
        if msg.get("type") == "executing" and data.get("node") is None:
            break
    done_at = time.time()
    ws.close()  # websocket-client's default: wait up to 3 s for the server's close frame
    closed_at = time.time()
    http.get(f"{url}/history/{prompt_id}", timeout=30).raise_for_status()
    end = time.time()
    success_at = success_at or done_at
    time.sleep(0.1)  # the probe writes its line just after the collection: let it land
    gc = sum(min(e, end) - max(s, success_at) for s, e in server.gc_intervals(success_at, end))
    return tuple(x * 1e3 for x in (done_at - success_at, closed_at - done_at, end - closed_at,
                                   end - success_at, gc))


def measure(server: LocalComfy, prompts: int) -> dict[str, list[tuple[float, ...]]]:
    """Run `prompts` spaced and `prompts` back-to-back prompts on `server`; returns the two lists
    of `one_prompt` tuples. Takes about (prompts + 2) * 10.5 s."""
    http = requests.Session()
    n = int(time.time()) % 100000 * 100
    one_prompt(server, http, n)  # warm-up
    # ComfyUI collects right after a prompt only when 10 s have passed since its last collection,
    # else later, while idle; 10.5 s after that idle collection the next prompt is "spaced".
    time.sleep(GC_INTERVAL_S + 0.5)
    results: dict[str, list[tuple[float, ...]]] = {"spaced": [], "back-to-back": []}
    for _ in range(prompts):
        time.sleep(GC_INTERVAL_S + 0.5)
        n += 1
        results["spaced"].append(one_prompt(server, http, n))
    for _ in range(prompts):
        n += 1
        results["back-to-back"].append(one_prompt(server, http, n))
    return results


def format_results(version: str, results: dict[str, list[tuple[float, ...]]]) -> str:
    """The results as a small plain-text table (ms; median / max)."""
    lines = [f"ComfyUI {version}: ms after execution_success, median / max",
             f"{'prompts':<14}" + "".join(f"{c:>18}" for c in COLUMNS)]
    for label, runs in results.items():
        cells = []
        for i in range(len(COLUMNS)):
            values = [r[i] for r in runs]
            cells.append(f"{statistics.median(values):7.1f} / {max(values):6.1f}")
        lines.append(f"{label:<14}" + "".join(f"{c:>18}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run both ways and print their medians and maxima; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.protocol", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=4, help="prompts each way (default 4)")
    parser.add_argument("--comfyui-dir", default=os.environ.get("COMFYUI_DIR"))
    args = parser.parse_args(argv)

    server = start_local_comfy(Path(args.comfyui_dir) if args.comfyui_dir else None)
    try:
        results = measure(server, args.prompts)
    finally:
        server.stop()
    print(format_results(server.version, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
