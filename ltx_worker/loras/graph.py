"""A job's LoRAs put into a filled graph: a LoraLoaderModelOnly chain on the LTX model.

Every official LTX template loads its diffusion model in one node, titled "Load Checkpoint"
(CheckpointLoaderSimple: LTX-2, LTX-2.3, LTX-Video) or "Load Diffusion Model" (UNETLoader:
LTX-2.5's split files), and every stage's model descends from it: the family's own LoRAs
(distilled, camera, IC-LoRA), the guidance patches and the guiders. `apply_loras` puts the job's
LoRAs right behind that node, so each stage's model carries them, as the effect template
(``video_ltx2_i2v_lora``) applies its LoRA in both stages. LoRA weights add up (each patch adds
``strength * B @ A`` to a weight), so their place among the family's own LoRAs changes nothing.
Other model loaders (the depth templates' Lotus UNETLoader) and the text encoder are untouched.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from ..graph import Graph, GraphError, consumers, node_ids_by_title

#: Titles of the node that loads the LTX diffusion model in every template, and the input that
#: names its file.
MODEL_LOADERS: dict[str, str] = {"Load Checkpoint": "ckpt_name", "Load Diffusion Model": "unet_name"}
#: The models folder each loader class reads.
LOADER_FOLDERS: dict[str, str] = {"CheckpointLoaderSimple": "checkpoints", "UNETLoader": "diffusion_models"}
NODE = "LoraLoaderModelOnly"
#: Title of the i-th job LoRA node (1-based), for logs and the UI.
TITLE = "Job LoRA {index}"


@dataclass(frozen=True)
class JobLora:
    """One LoRA to apply: its ``lora_name`` (a file in one of ComfyUI's loras folders) and strength."""

    lora_name: str
    strength: float


def model_loader(graph: Graph) -> tuple[str, str, str]:
    """The LTX model loader of a graph: ``(node id, models folder, file name)``.

    Raises:
        GraphError: the graph has not exactly one node titled like a `MODEL_LOADERS` entry, or
            its class is not a loader of `LOADER_FOLDERS`.
    """
    found = [(nid, title) for title in MODEL_LOADERS for nid in node_ids_by_title(graph, title)]
    if len(found) != 1:
        raise GraphError(f"{len(found)} nodes titled {' or '.join(map(repr, MODEL_LOADERS))}, need 1")
    nid, title = found[0]
    node = graph[nid]
    folder = LOADER_FOLDERS.get(node.get("class_type"))
    if folder is None:
        raise GraphError(f"node {title!r} is a {node.get('class_type')}, not a model loader")
    return nid, folder, str(node["inputs"][MODEL_LOADERS[title]])


def apply_loras(graph: Graph, loras: list[JobLora]) -> Graph:
    """A copy of `graph` with `loras` chained (in order) behind its LTX model loader: every input
    that took the loader's MODEL output (slot 0) takes the chain's end instead.

    Raises:
        GraphError: no single LTX model loader (`model_loader`).
    """
    out = copy.deepcopy(graph)
    if not loras:
        return out
    loader, _, _ = model_loader(out)
    takers = [(nid, name) for nid, name, slot in consumers(out, loader) if slot == 0]
    next_id = max((int(n) for n in out if str(n).isdigit()), default=0) + 1
    source = [loader, 0]
    for index, lora in enumerate(loras, start=1):
        nid = str(next_id)
        next_id += 1
        out[nid] = {"class_type": NODE,
                    "inputs": {"model": source, "lora_name": lora.lora_name, "strength_model": float(lora.strength)},
                    "_meta": {"title": TITLE.format(index=index)}}
        source = [nid, 0]
    for nid, name in takers:
        out[nid]["inputs"][name] = list(source)
    return out
