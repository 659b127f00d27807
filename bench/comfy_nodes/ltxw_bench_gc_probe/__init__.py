"""Benchmark-only ComfyUI "node pack" without nodes: logs ComfyUI's full garbage collections.

Loaded by bench/comfy_server.py into the benchmark's own ComfyUI only. When LTXW_BENCH_GC_LOG
names a file, every generation-2 collection in the ComfyUI process (ComfyUI's own
``gc.collect()`` after a prompt included) appends a line ``<start epoch s> <end epoch s>`` to it.
"""

import gc
import os
import time

NODE_CLASS_MAPPINGS: dict = {}
NODE_DISPLAY_NAME_MAPPINGS: dict = {}

_LOG = os.environ.get("LTXW_BENCH_GC_LOG")
_started: list[float] = []


def _on_gc(phase: str, info: dict) -> None:
    if info.get("generation") != 2:
        return
    if phase == "start":
        _started[:] = [time.time()]
    elif _started:
        with open(_LOG, "a") as fh:
            fh.write(f"{_started.pop():.6f} {time.time():.6f}\n")


if _LOG:
    gc.callbacks.append(_on_gc)
