"""Start-up check: which model files each template needs that the running ComfyUI cannot see.

A template *needs*:

* every string input of its graph that names a model file (ends in .safetensors, .ckpt, .pt,
  .pth, .bin, .gguf or .sft), except inputs its bindings overwrite per job;
* when it takes a camera move (a ``camera_lora`` or ``camera_preset`` parameter), every camera
  LoRA of ``job.CAMERA_LORAS``, each needed only by jobs asking for that move.

ComfyUI *can see* a file when it is among the options of that input in ``GET /object_info``
(combo specs ``[[options...], {...}]`` up to 0.3.x, ``["COMBO", {"options": [...]}]`` in V3
nodes of 0.33). Camera LoRAs are looked up in the options of the node bound to the camera
parameter and, when that node takes no LoRA file name (a preset node of the project's node pack),
in ComfyUI's LoRA list (``LoraLoaderModelOnly`` / ``LoraLoader`` ``lora_name``).

Templates with a node class this ComfyUI lacks, and inputs its schema does not list as a combo,
are not checked here: ``TemplateRegistry.supported_by`` and ``workflow_check.check_graph`` cover
those.

Use: ``missing = missing_models(registry.templates, object_info)``, then
``format_missing(missing)`` for the log line, ``blocked_serves(missing)`` for the (model,
quality) pairs that cannot run at all and ``missing_camera_moves(missing)`` for the moves that
cannot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..contract.job import CAMERA_LORAS
from ..graph import MODEL_EXTENSIONS, input_options, is_model_file, title_of
from ..templates import Template

#: ComfyUI models/ folder of each loader input (folder_paths names); others fall back to "models".
LOADER_FOLDERS: dict[tuple[str, str], str] = {
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoints",
    ("CheckpointLoader", "ckpt_name"): "checkpoints",
    ("LTXVAudioVAELoader", "ckpt_name"): "checkpoints",
    ("LTXAVTextEncoderLoader", "ckpt_name"): "checkpoints",
    ("LTXAVTextEncoderLoader", "text_encoder"): "text_encoders",
    ("CLIPLoader", "clip_name"): "text_encoders",
    ("DualCLIPLoader", "clip_name1"): "text_encoders",
    ("DualCLIPLoader", "clip_name2"): "text_encoders",
    ("LatentUpscaleModelLoader", "model_name"): "latent_upscale_models",
    ("LoraLoaderModelOnly", "lora_name"): "loras",
    ("LoraLoader", "lora_name"): "loras",
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("VAELoader", "vae_name"): "vae",
    ("UpscaleModelLoader", "model_name"): "upscale_models",
    ("LoadMoGeModel", "model_name"): "geometry_estimation",
}
_CAMERA_PARAMS = ("camera_lora", "camera_preset")
_LORA_LISTS = (("LoraLoaderModelOnly", "lora_name"), ("LoraLoader", "lora_name"))


@dataclass(frozen=True)
class ModelNeed:
    """One model file a template's graph asks ComfyUI to load.

    Attributes:
        node_id, node_title, node_class: the loader node (the camera need names the node bound
            to the camera parameter).
        input_name: the input holding the file name.
        folder: the ComfyUI models/ folder the file belongs in.
        filename: the file name as ComfyUI lists it.
        camera_move: for a camera LoRA, the move (``dolly_in``...) that needs it; else None.
        feature: the job switch (``enhance_prompt``) whose nodes load the file, when only jobs
            asking for it need it (the node is in the bindings' ``when_false`` removals); else None.
    """

    node_id: str
    node_title: str
    node_class: str
    input_name: str
    folder: str
    filename: str
    camera_move: str | None = None
    feature: str | None = None

    @property
    def relpath(self) -> str:
        """``<folder>/<file>``, as models.txt names it."""
        return f"{self.folder}/{self.filename}"


@dataclass(frozen=True)
class MissingModel:
    """A needed file ComfyUI cannot see, and the template (and the jobs it serves) needing it."""

    template: str
    serves: tuple[tuple[str, str], ...]
    need: ModelNeed
    variant: str | None = None


def _title(node: dict, node_id: str) -> str:
    return title_of(node) or f"#{node_id}"


def template_needs(template: Template) -> list[ModelNeed]:
    """The model files `template` needs (see the module docstring), graph order, then camera.

    Inputs bound to a job parameter are skipped (their template value is replaced per job); the
    camera LoRA slot is covered by one need per camera move instead.
    """
    bound = {(title, name) for targets in template.params.values() for title, name in targets}
    switched = {title: param for param, titles in template.when_false.items() for title in titles}
    needs: list[ModelNeed] = []
    for node_id, node in template.graph.items():
        title, cls = _title(node, node_id), node.get("class_type", "")
        for name, value in (node.get("inputs") or {}).items():
            if is_model_file(value) and (title, name) not in bound:
                folder = LOADER_FOLDERS.get((cls, name), "models")
                needs.append(ModelNeed(node_id, title, cls, name, folder, value,
                                       feature=switched.get(title)))
    slot = next((template.params[p][0] for p in _CAMERA_PARAMS if template.params.get(p)), None)
    if slot is not None:
        node_id, node = next(((i, n) for i, n in template.graph.items()
                              if _title(n, i) == slot[0]), (slot[0], {}))
        for move, filename in CAMERA_LORAS.items():
            needs.append(ModelNeed(node_id, slot[0], node.get("class_type", ""), slot[1], "loras",
                                   filename, move))
    return needs


def _visible(need: ModelNeed, object_info: dict) -> list[str] | None:
    """What ComfyUI lists for the input of `need` (camera LoRAs: the LoRA list as fallback)."""
    options = input_options(object_info, need.node_class, need.input_name)
    if need.camera_move is None:
        return options
    if options is not None and all(o.lower().endswith(MODEL_EXTENSIONS) for o in options):
        return options  # the camera slot is a LoRA loader: its file list
    for cls, name in _LORA_LISTS:  # a preset node (options are move names): ComfyUI's LoRA list
        options = input_options(object_info, cls, name)
        if options is not None:
            return options
    return None


def missing_models(templates: Iterable[Template], object_info: dict) -> list[MissingModel]:
    """Every (template, needed file) whose file is not among ComfyUI's options.

    Args:
        templates: the templates to check (e.g. ``TemplateRegistry.templates``).
        object_info: ComfyUI's ``GET /object_info`` answer (class name -> node schema).

    Returns:
        One entry per template and need, in template then graph order; empty when all are there.
        Templates using a node class `object_info` lacks are skipped (they cannot run anyway;
        ``TemplateRegistry.supported_by`` drops them), as are inputs it does not list as combos.
    """
    missing = []
    for template in templates:
        if any(n.get("class_type") not in object_info for n in template.graph.values()):
            continue
        for need in template_needs(template):
            options = _visible(need, object_info)
            if options is not None and need.filename not in options:
                missing.append(MissingModel(template.name, template.serves, need, template.variant))
    return missing


def blocked_serves(missing: Iterable[MissingModel]) -> set[tuple[str, str]]:
    """The (model, quality) pairs whose plain t2v/i2v jobs cannot run at all (a file of the
    plain template other than a camera LoRA or a switched feature's missing). A variant
    template's missing file (an IC-LoRA) blocks only that variant (`job_missing_files`)."""
    return {s for m in missing if m.need.camera_move is None and m.need.feature is None and m.variant is None
            for s in m.serves}


def job_missing_files(missing: Iterable[MissingModel], model: str, quality: str,
                      camera_move: str | None = None, features: Iterable[str] = (),
                      variant: str | None = None) -> list[str]:
    """``<folder>/<file>`` of every missing file a job of (model, quality) in `variant` (None:
    plain t2v/i2v) with `camera_move` and `features` (e.g. ``enhance_prompt``) needs, sorted;
    empty when it can run."""
    key, wanted = (model, quality), set(features)
    return sorted({
        m.need.relpath for m in missing if key in m.serves and m.variant == variant
        and (m.need.camera_move is None or m.need.camera_move == camera_move)
        and (m.need.feature is None or m.need.feature in wanted)
    })


def missing_camera_moves(missing: Iterable[MissingModel]) -> set[str]:
    """The camera moves whose LoRA file ComfyUI cannot see."""
    return {m.need.camera_move for m in missing if m.need.camera_move}


def serves_label(serves: Iterable[tuple[str, str]], fallback: str = "") -> str:
    """``ltx-2-t2v fast/pro, ltx-2.5-i2v fast``: (model, quality) pairs grouped by model, in
    their order; `fallback` when there are none."""
    models: dict[str, list[str]] = {}
    for model, quality in serves:
        models.setdefault(model, []).append(quality)
    return ", ".join(f"{m} {'/'.join(q)}" for m, q in models.items()) or fallback


def format_missing(missing: list[MissingModel]) -> str:
    """One line naming every missing file, grouped by template; empty when nothing is missing.

    Example: ``missing for ltx-2-t2v fast: checkpoints/ltx-2-19b-distilled-fp8.safetensors (nodes
    'Load Checkpoint', 'Load Audio VAE'); missing for camera presets dolly_in, jib_up:
    loras/ltx-2-19b-lora-camera-control-dolly-in.safetensors, ...``
    """
    parts: list[str] = []
    per_template: dict[str, dict[str, list[str]]] = {}
    labels: dict[str, str] = {}
    for m in missing:
        if m.need.camera_move is None:
            labels[m.template] = serves_label(m.serves, m.template) + (f" ({m.variant})" if m.variant else "")
            titles = per_template.setdefault(m.template, {}).setdefault(m.need.relpath, [])
            if m.need.node_title not in titles:
                titles.append(m.need.node_title)
    for name, files in per_template.items():
        items = [f"{path} (node{'s' if len(t) > 1 else ''} {', '.join(repr(x) for x in t)})"
                 for path, t in files.items()]
        parts.append(f"missing for {labels[name]}: {', '.join(items)}")
    camera = {m.need.camera_move: m.need.relpath for m in missing if m.need.camera_move}
    if camera:
        moves = [mv for mv in CAMERA_LORAS if mv in camera]
        parts.append(f"missing for camera presets {', '.join(moves)}: "
                     f"{', '.join(dict.fromkeys(camera[mv] for mv in moves))}")
    return "; ".join(parts)
