"""The loud failure every part of the PyAV stand-in ends in (see bench/gpu_cost/stubs/README.md)."""

from __future__ import annotations

import os
import traceback


def called(what: str) -> RuntimeError:
    """Log that `what` was used (to $GPU_COST_STUB_LOG, when set) and return the error to raise."""
    msg = (
        f"stub av (bench/gpu_cost/stubs/av): {what} was used, but PyAV is not carried to the GPU machine; "
        "the benchmark's measured path must never encode or decode media"
    )
    log = os.environ.get("GPU_COST_STUB_LOG")
    if log:
        with open(log, "a") as f:
            f.write(msg + "\n" + "".join(traceback.format_stack(limit=8)) + "\n")
    return RuntimeError(msg)


def module_getattr(module: str):
    """A module ``__getattr__`` that fails loudly for any name but dunders (probes stay AttributeError)."""

    def __getattr__(name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        raise called(f"{module}.{name}")

    return __getattr__


class Loud:
    """A class that exists for ``isinstance`` and annotations; making one fails loudly."""

    def __init__(self, *args, **kwargs) -> None:
        raise called(f"{type(self).__module__}.{type(self).__name__}()")
