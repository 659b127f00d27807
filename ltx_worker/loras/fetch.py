"""One LoRA of a job, from its url or sha256 to a checked file in the cache: the handler's entry.

`fetch_lora` runs the cache (`cache.LoraCache.get`) with the checks a LoRA meets before ComfyUI
sees it (`header.read_header`, `fit.check_fit` against the model file the job's template loads),
turning their refusals into INVALID_INPUT naming the job's field (``loras[i]``). The model file's
header is read once per file (it changes only with the file).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..input_budget import InputBudget
from ..inputs import input_error
from .cache import CachedLora, LoraCache
from .fit import Fit, FitError, check_fit, model_weights
from .header import HeaderError, read_header

#: A model file's header may be large: a 22B checkpoint lists thousands of tensors (~1-2 MB JSON).
MODEL_HEADER_MAX_BYTES = 100 << 20


def fetch_lora(cache: LoraCache, *, field: str, url: str | None, sha256: str | None, family: str,
               model_file: Path, max_bytes: int, timeout_s: float, budget: InputBudget) -> tuple[CachedLora, Fit]:
    """The cached, checked LoRA of (`url`, `sha256`) for a job of `family` whose template loads
    `model_file`.

    Args:
        cache: the worker's LoRA cache.
        field: the job field, e.g. ``loras[0]`` (every error names it).
        url, sha256: the job's LoRA entry (see `LoraCache.get`).
        family: the job's family id (``ltx2``, ``ltx23``, ``ltx25``, ``ltxv``).
        model_file: the checkpoint or transformer file the template's model loader reads.
        max_bytes, timeout_s: LORA_MAX_BYTES and LORA_FETCH_TIMEOUT_S.
        budget: the job's deadline and cancel.

    Raises:
        WorkerError: INVALID_INPUT naming `field` for a file that is not a safetensors LoRA or
            does not fit the model; otherwise as `LoraCache.get`.
    """
    weights = _model_weights(model_file, *_stamp(model_file))

    def check(path: Path) -> Fit:
        try:
            return check_fit(read_header(path), weights, family)
        except (HeaderError, FitError) as err:
            raise input_error(field, f"not a LoRA this job can use: {err}") from None

    return cache.get(field=field, url=url, sha256=sha256, check=check, max_bytes=max_bytes,
                     clock=budget.file_clock(field, timeout_s, setting="LORA_FETCH_TIMEOUT_S"))


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=8)
def _model_weights(path: Path, size: int, mtime_ns: int) -> dict[str, tuple[int, ...]]:
    """`fit.model_weights` of the model file at `path` (cached per size and mtime)."""
    return model_weights(read_header(path, max_header_bytes=MODEL_HEADER_MAX_BYTES, dtypes=None))
