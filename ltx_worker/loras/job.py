"""A job's ``loras``: each entry to a file ComfyUI can load, held for the job, and what the result says.

`JobLoraSet.resolve` takes the job's entries in order (``loras[0]`` .. ``loras[3]``):

* ``name``: a named LoRA (`named.NamedLora`) of the job's family whose file ComfyUI lists in its
  loras folders; its trigger word goes in front of the prompt unless the prompt has it.
* ``url`` (and ``sha256``): `fetch.fetch_lora` into the worker's cache (`cache.LoraCache`), checked
  against the header of the model file the job's graph loads (found where ComfyUI looks for it:
  ``GET /experiment/models``). The cache must be one of ComfyUI's loras folders (entrypoint.sh
  registers it; `resolve_job_loras` asks ComfyUI on each LoRA job), so the file's ``lora_name`` is
  its cache name.

Each file is held (`cache.LoraCache.hold`, a shared lock that eviction respects) until the
handler calls `JobLoraSet.release`, however the job ends. Refusals are INVALID_INPUT naming ``loras[i]`` and come
before ComfyUI sees anything; a refused download leaves nothing in the cache.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

from ..comfy.client import ComfyClient
from ..config import Settings
from ..contract.job import JobInput, LoraEntry
from ..errors import ErrorCode, WorkerError
from ..graph import Graph
from ..input_budget import InputBudget
from ..inputs import input_error
from .cache import LoraCache
from .fetch import fetch_lora
from .graph import JobLora, model_loader
from .named import NamedLora, default_named_loras

#: The named LoRA of the official style-transition template (template_ltx2_3_style_transition).
TRANSITION_LORA = "ltx23-transition"


class JobLoraSet:
    """The resolved LoRAs of one job (empty until `resolve`); `release` lets go of the files it
    holds (the handler calls it when the job ends, however it ends).

    Attributes:
        applied: what `graph.apply_loras` chains, in the job's order.
        report: the result's ``settings.loras``, one dict per entry: ``name`` or ``url_host``,
            ``strength``, ``sha256`` and ``bytes`` (URL LoRAs), ``cache`` ("sha256": found by
            hash, no request; "revalidated": a 304; "fetched"), ``trigger`` and
            ``trigger_added`` (named LoRAs with a trigger word).
        prompt: the job's prompt with the named LoRAs' trigger words put in front.
    """

    def __init__(self) -> None:
        self.applied: list[JobLora] = []
        self.report: list[dict] = []
        self.prompt = ""
        self._holds = ExitStack()

    def release(self) -> None:
        """Let go of the held files (eviction may take them once LORA_CACHE_MIN_AGE_S passed)."""
        self._holds.close()

    def resolve(self, entries: list[tuple[str, LoraEntry]], prompt: str, *, family: str, family_name: str, graph: Graph,
                named: dict[str, NamedLora], comfy_loras: set[str], model_folders: dict[str, list[str]],
                cache: LoraCache | None, max_bytes: int, timeout_s: float, budget: InputBudget) -> None:
        """Resolve `entries` for a job of `family` whose template graph is `graph`.

        Args:
            entries: (field, entry) pairs: the job's ``loras`` as ``("loras[i]", entry)``, after the
                LoRA a job option adds (``("transition", ...)``).
            prompt: the job's prompt (trigger words are added to it).
            family, family_name: the job's family id and display name.
            graph: the job's template graph (its LTX model loader names the model file).
            named: the named LoRAs (`named.default_named_loras`).
            comfy_loras: the files ComfyUI lists in its loras folders (LoraLoaderModelOnly's
                ``lora_name`` options).
            model_folders: ComfyUI's model folders (`ComfyClient.model_folders`).
            cache: the worker's LoRA cache, None when ComfyUI does not search it.
            max_bytes, timeout_s: LORA_MAX_BYTES and LORA_FETCH_TIMEOUT_S.
            budget: the job's deadline and cancel.

        Raises:
            WorkerError: INVALID_INPUT naming ``loras[i]`` (unknown name, another family's LoRA,
                a file that is not a LoRA for this model, a wrong sha256, a refused URL);
                MODEL_MISSING (a named LoRA's file or the model file is not there);
                WORKFLOW_INVALID (URL LoRAs on a worker whose cache ComfyUI does not search);
                INPUT_FETCH_FAILED, TIMEOUT, CANCELLED from the download.
        """
        self.prompt = prompt
        model_file: Path | None = None
        for field, entry in entries:
            budget.check(field, "resolving it")
            if entry.name is not None:
                lora = self._named(field, entry, named, family, family_name, comfy_loras)
                self.applied.append(JobLora(lora.filename, entry.strength))
                continue
            if cache is None:
                raise WorkerError(ErrorCode.WORKFLOW_INVALID, f"{field}: this worker cannot take LoRA URLs: its "
                                  "LoRA cache (LORA_CACHE_DIR) is not one of ComfyUI's loras folders "
                                  "(docs/deploy.md, LoRA cache)", retryable=False)
            if model_file is None:
                model_file = _model_file(graph, model_folders)
            cached, _ = fetch_lora(cache, field=field, url=entry.url, sha256=entry.sha256, family=family,
                                   model_file=model_file, max_bytes=max_bytes, timeout_s=timeout_s, budget=budget)
            try:
                self._holds.enter_context(cache.hold(cached))
            except FileNotFoundError:
                raise input_error(field, "the cached LoRA was evicted as the job took it; try again",
                                  ErrorCode.INPUT_FETCH_FAILED) from None
            self.applied.append(JobLora(cached.name, entry.strength))
            self.report.append({"url_host": urlsplit(entry.url or "").hostname, "strength": entry.strength,
                                "sha256": cached.sha256, "bytes": cached.bytes, "cache": cached.hit})

    def _named(self, field: str, entry: LoraEntry, named: dict[str, NamedLora], family: str, family_name: str,
               comfy_loras: set[str]) -> NamedLora:
        lora = named.get(entry.name or "")
        if lora is None:
            known = ", ".join(sorted(n for n, x in named.items() if x.family == family)) or "none"
            raise input_error(f"{field}.name", f"no LoRA named {entry.name!r}; {family_name} has: {known} "
                              "(`ltx-worker loras list`)")
        if lora.family != family:
            raise input_error(f"{field}.name", f"{lora.name} is a LoRA for another family ({lora.family}), "
                              f"not {family_name}")
        if lora.filename not in comfy_loras:
            raise WorkerError(ErrorCode.MODEL_MISSING, f"{field}: the named LoRA {lora.name} needs "
                              f"loras/{lora.filename}, which this worker does not have (models.txt profile "
                              f"{lora.profile})", details={"missing": [f"loras/{lora.filename}"]})
        self.prompt, added = lora.prompt_with_trigger(self.prompt)
        self.report.append({"name": lora.name, "strength": entry.strength, "file": lora.filename,
                            **({"trigger": lora.trigger, "trigger_added": added} if lora.trigger else {})})
        return lora


def job_lora_entries(spec: JobInput) -> list[tuple[str, LoraEntry]]:
    """The LoRAs job `spec` brings, as ``(field, entry)``: the job's ``loras`` as ``loras[i]``,
    after ``transition``'s named LoRA `TRANSITION_LORA` at 1.0 (the official style-transition
    template is the first+last-frame graph plus that LoRA). Empty when the job brings none."""
    entries = [(f"loras[{i}]", entry) for i, entry in enumerate(spec.loras or [])]
    if spec.transition:
        entries.insert(0, ("transition", LoraEntry(name=TRANSITION_LORA, strength=1.0)))
    return entries


def resolve_job_loras(loras: JobLoraSet, spec: JobInput, entries: list[tuple[str, LoraEntry]], graph: Graph,
                      client: ComfyClient, settings: Settings, budget: InputBudget) -> None:
    """`JobLoraSet.resolve` of `entries` (`job_lora_entries`) for the handler's job `spec` whose
    template graph is `graph`, with what ComfyUI says of its folders: URL LoRAs need the LoRA cache
    (`Settings.lora_cache_path`) to be one of ComfyUI's loras folders (entrypoint.sh registers it).

    Raises:
        WorkerError: as `JobLoraSet.resolve`; COMFY_UNAVAILABLE when ComfyUI does not answer.
    """
    folders = client.model_folders()
    root = settings.lora_cache_path.resolve()
    registered = any(Path(p).resolve() == root for p in folders.get("loras", []))
    cache = LoraCache.from_settings(settings) if registered and any(e.url for _, e in entries) else None
    listed = set(client.model_files("loras")) if any(e.name for _, e in entries) else set()
    loras.resolve(entries, spec.prompt, family=spec.family, family_name=spec.plan.family.name, graph=graph,
                  named=default_named_loras(), comfy_loras=listed, model_folders=folders, cache=cache,
                  max_bytes=settings.lora_max_bytes, timeout_s=settings.lora_fetch_timeout_s, budget=budget)


def _model_file(graph: Graph, model_folders: dict[str, list[str]]) -> Path:
    """The model file `graph`'s LTX model loader reads, found as ComfyUI finds it (the first of
    its folders that has it).

    Raises:
        WorkerError: MODEL_MISSING when no folder has it.
    """
    _, folder, name = model_loader(graph)
    for root in model_folders.get(folder, []):
        path = Path(root) / name
        if path.is_file():
            return path
    raise WorkerError(ErrorCode.MODEL_MISSING, f"the LoRA fit check needs {folder}/{name}, which none of "
                      f"ComfyUI's {folder} folders has", details={"missing": [f"{folder}/{name}"]})
