"""The contract as data: JSON Schemas of the job input and output (`ltx-worker schema`).

Generated from the pydantic models that validate jobs (`contract.job.JobInput`) and describe
results (`contract.output`), with the model ids and per-family rules of the families this worker
serves (``workflows/<family>/family.json``) filled in, so a backend can validate a job before
sending it.
"""

from __future__ import annotations

from typing import Any

from ..families import VARIANTS, FamilyRegistry
from ..loras.named import named_loras
from ..models.manifest import load_models_txt
from ..paths import MODELS_TXT
from .job import JobInput
from .output import ErrorOutput, JobOutput


def family_rules(families: FamilyRegistry) -> dict[str, Any]:
    """Per model id: its family, mode, qualities, resolutions, fps, duration range, limits,
    the longest video in seconds (``max_seconds``: the frame cap), features, variants (keyframes
    with its ``max_keyframes``) (``{variant: {"qualities": [...]}}`` for those it serves, ``{variant:
    {"refused": reason}}`` for those its family declines; what `families.FamilyRegistry.plan`
    checks) and the named LoRAs of its family (``{name: {"trigger": ...}}``, `loras.named`)."""
    named = named_loras(load_models_txt(MODELS_TXT), families)
    rules = {}
    for family in families.families:
        for model, mode in family.models.items():
            rules[model] = {
                "family": family.id, "family_name": family.name, "mode": mode,
                "qualities": list(family.qualities), "resolutions": list(family.resolutions),
                "fps": family.fps, "duration_s": family.duration_s,
                "limits": [limit.model_dump(exclude_defaults=True) for limit in family.limits],
                "features": [f for f, on in family.features.items() if on],
                "max_seconds": family.max_seconds,
                "variants": {
                    name: ({"refused": v.refused} if v.refused else
                           {"qualities": v.qualities_for(model), **({"max_keyframes": v.max_keyframes}
                                                         if VARIANTS.get(name) == "keyframes" else {})})
                    for name, v in family.variants.items() if v.refused or model in v.models
                },
                "loras": {n: {"trigger": x.trigger} for n, x in sorted(named.items()) if x.family == family.id},
            }
    return rules


def job_schemas(families: FamilyRegistry) -> dict[str, Any]:
    """``{"input", "output", "error", "models"}``: JSON Schemas (draft 2020-12, as pydantic writes
    them) and the per-model rules. The input's ``model`` is an enum of `families`' model ids."""
    job = JobInput.model_json_schema()
    job["properties"]["model"]["enum"] = families.model_ids
    job["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return {
        "input": job,
        "output": JobOutput.model_json_schema(),
        "error": ErrorOutput.model_json_schema(),
        "models": family_rules(families),
    }
