"""Named LoRAs: the LoRAs a job can ask for by name (``"loras": [{"name": "ltx2-squish"}]``).

A named LoRA is a models.txt line in ``loras/`` with ``lora=<name>`` and ``trigger=<words>``
(`models.manifest`), under a profile that a family lists as its ``"loras"`` profile
(``workflows/<family>/family.json``): ``ltx2-effects`` (LTX-2, the official effect template
``video_ltx2_i2v_lora``'s squish LoRA), ``ltx23-transition`` (LTX-2.3,
``template_ltx2_3_style_transition``'s transition LoRA). The worker serves a name when ComfyUI
lists its file among its loras (the image or the volume holds it; `ltx-worker models download
--profile ltx2-effects`). A named LoRA is the operator's file, not the job's: it is not fetched
nor header-checked per job (`fetch.fetch_lora` is for URLs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..families import FamilyRegistry
from ..models.manifest import ModelFile, load_models_txt
from ..paths import MODELS_TXT, WORKFLOWS_DIR


@dataclass(frozen=True)
class NamedLora:
    """One named LoRA.

    Attributes:
        name: the name jobs use (``ltx2-squish``).
        family: the id of the family it was made for (``ltx2``).
        filename: its file in ComfyUI's loras folders (``ltx2-squish.safetensors``).
        trigger: its trigger word(s), or None.
        profile: the models.txt profile that fetches it.
    """

    name: str
    family: str
    filename: str
    trigger: str | None
    profile: str

    def prompt_with_trigger(self, prompt: str) -> tuple[str, bool]:
        """`prompt` with the trigger word in front (``"<trigger>, <prompt>"``) unless it has it
        already (case-insensitive, as whole words); returns (prompt, whether it was added)."""
        if not self.trigger or re.search(rf"(?<!\w){re.escape(self.trigger)}(?!\w)", prompt, re.IGNORECASE):
            return prompt, False
        return f"{self.trigger}, {prompt}", True


def named_loras(entries: list[ModelFile], families: FamilyRegistry) -> dict[str, NamedLora]:
    """The named LoRAs of models.txt `entries`, by name; each one's family is the family whose
    ``profiles["loras"]`` holds one of its profiles (entries under no family's loras profile are
    left out)."""
    owners = {p: f.id for f in families.families for p in f.profiles.get("loras", [])}
    found = {}
    for entry in entries:
        if entry.lora is None:
            continue
        profile = next((p for p in sorted(entry.profiles) if p in owners), None)
        if profile is not None:
            found[entry.lora] = NamedLora(entry.lora, owners[profile], entry.filename, entry.trigger, profile)
    return found


@cache
def default_named_loras(models_txt: Path = MODELS_TXT, workflows_dir: Path = WORKFLOWS_DIR) -> dict[str, NamedLora]:
    """`named_loras` of the repository's models.txt and families (read once)."""
    return named_loras(load_models_txt(models_txt), FamilyRegistry.load(workflows_dir))
