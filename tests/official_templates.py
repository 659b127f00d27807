"""Read ComfyUI's official UI-format templates as API-format graphs, and the settings of a graph.

The official templates (``../shared/reference/ltx2/native-templates/``, from
comfyui-workflow-templates-json) are UI graphs: ``nodes`` with ``type``, ``mode`` and
``widgets_values``, ``links``, and subgraphs under ``definitions.subgraphs``. `ui_to_api` flattens
one into the API format the project's templates use (``{id: {"class_type", "inputs"}}``):

* widget values are named with the node's ``/object_info`` schema: widget inputs in input order,
  ``control_after_generate`` after INT inputs flagged so, ``upload`` after ``*_upload`` combos,
  and a dynamic combo's children (``parent.child``) after it;
* links are followed through Reroutes, bypassed nodes (mode 4: an input of the output's type passes
  through) and subgraph boundaries (a subgraph input without a link takes the instance's widget
  value, in subgraph-input order); Primitive* nodes become their values;
* muted, bypassed, note and subgraph-instance nodes are left out; inner nodes get ``inst/inner`` ids.

`settings` then reads what the tests compare (identical for both kinds of graph): per stage the
sigmas, sampler, guider, model chain, image-conditioning strength and SCA output slot; the image
preprocessing, upscaler, decode, negative prompt, prompt enhancer and model files.
"""

from __future__ import annotations

from typing import Any

Graph = dict[str, dict[str, Any]]

_WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
_PRIMITIVES = {"PrimitiveInt", "PrimitiveFloat", "PrimitiveBoolean", "PrimitiveString",
               "PrimitiveStringMultiline"}
_SKIP = {"MarkdownNote", "Note", "Reroute"}
MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")


def _is_widget(spec: Any) -> bool:
    kind = spec[0] if isinstance(spec, (list, tuple)) and spec else None
    if isinstance(kind, list) or kind == "COMFY_DYNAMICCOMBO_V3":
        return True
    return isinstance(kind, str) and bool(set(kind.split(",")) & _WIDGET_TYPES)


def _sections(schema: dict) -> list[tuple[str, Any]]:
    inputs, order = schema.get("input") or {}, schema.get("input_order") or {}
    out = []
    for cat in ("required", "optional"):
        entries = inputs.get(cat) or {}
        for name in order.get(cat) or list(entries):
            out.append((name, entries[name]))
    return out


def name_widgets(schema: dict, values: list) -> dict[str, Any]:
    """Map a UI node's ``widgets_values`` to input names (see the module docstring)."""
    named: dict[str, Any] = {}
    queue = list(values or [])

    def walk(entries: list[tuple[str, Any]], prefix: str) -> None:
        for name, spec in entries:
            if not _is_widget(spec) or not queue:
                continue
            value = named[prefix + name] = queue.pop(0)
            opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if spec[0] == "INT" and opts.get("control_after_generate") and queue:
                queue.pop(0)
            if any(k.endswith("_upload") and v for k, v in opts.items()) and queue:
                queue.pop(0)
            if spec[0] == "COMFY_DYNAMICCOMBO_V3":
                for option in opts.get("options") or []:
                    if option.get("key") == value:
                        walk(_sections({"input": option.get("inputs") or {}}), f"{prefix}{name}.")

    walk(_sections(schema), "")
    return named


def ui_to_api(ui: dict, object_info: dict) -> Graph:
    """Flatten an official UI-format template into an API-format graph (module docstring)."""
    subgraphs = {s["id"]: s for s in (ui.get("definitions") or {}).get("subgraphs") or []}
    graph: Graph = {}

    def link_table(links: list) -> dict:
        table = {}
        for link in links or []:
            if isinstance(link, dict):
                table[link["id"]] = (link["origin_id"], link["origin_slot"])
            else:
                table[link[0]] = (link[1], link[2])
        return table

    def make_scope(nodes, links, prefix, parent=None, instance=None, sub=None) -> dict:
        return {"nodes": {n["id"]: n for n in nodes}, "links": link_table(links),
                "prefix": prefix, "parent": parent, "instance": instance, "sub": sub}

    def inner(scope: dict, node: dict) -> dict:
        sub = subgraphs[node["type"]]
        return make_scope(sub["nodes"], sub.get("links"), f"{scope['prefix']}{node['id']}/",
                          scope, node, sub)

    def follow(scope: dict, link_id: Any) -> Any:
        """What a link delivers: ``[node_id, slot]``, a literal value, or None."""
        if link_id is None or link_id not in scope["links"]:
            return None
        origin, slot = scope["links"][link_id]
        if origin == -10:  # a subgraph input
            sub, inst, parent = scope["sub"], scope["instance"], scope["parent"]
            name = sub["inputs"][slot]["name"]
            for entry in inst.get("inputs") or []:
                if entry["name"] == name and entry.get("link") is not None:
                    return follow(parent, entry["link"])
            widget_names = [i["name"] for i in sub["inputs"]
                            if str(i.get("type")) in _WIDGET_TYPES]
            values = dict(zip(widget_names, inst.get("widgets_values") or [], strict=False))
            return values.get(name)
        return output(scope, origin, slot)

    def output(scope: dict, node_id: Any, slot: int) -> Any:
        node = scope["nodes"][node_id]
        if node["type"] in subgraphs:
            child = inner(scope, node)
            out_link = subgraphs[node["type"]]["outputs"][slot]["linkIds"][0]
            return follow(child, out_link)
        if node.get("mode") == 4:
            out_type = node["outputs"][slot]["type"]
            for entry in node.get("inputs") or []:
                if entry.get("type") == out_type and entry.get("link") is not None:
                    return follow(scope, entry["link"])
            return None
        if node.get("mode") == 2:
            return None
        if node["type"] == "Reroute":
            return follow(scope, node["inputs"][0]["link"])
        if node["type"] in _PRIMITIVES:
            return (node.get("widgets_values") or [None])[0]
        return [f"{scope['prefix']}{node_id}", slot]

    def visit(scope: dict) -> None:
        for node_id, node in scope["nodes"].items():
            if node.get("mode") in (2, 4) or node["type"] in _SKIP | _PRIMITIVES:
                continue
            if node["type"] in subgraphs:
                visit(inner(scope, node))
                continue
            schema = object_info.get(node["type"])
            if schema is None:
                raise KeyError(f"{node['type']} (node {node_id}) is not in object_info")
            inputs = name_widgets(schema, node.get("widgets_values") or [])
            for entry in node.get("inputs") or []:
                if entry.get("link") is not None:
                    value = follow(scope, entry["link"])
                    if value is not None:
                        inputs[(entry.get("widget") or {}).get("name", entry["name"])] = value
            graph[f"{scope['prefix']}{node_id}"] = {"class_type": node["type"], "inputs": inputs}

    visit(make_scope(ui["nodes"], ui.get("links"), ""))
    return graph


# ---------------------------------------------------------------------------------------------
# settings of a graph (API format)
# ---------------------------------------------------------------------------------------------

def _src(graph: Graph, node: dict, name: str) -> tuple[str, dict] | tuple[None, None]:
    value = node["inputs"].get(name)
    if isinstance(value, list) and len(value) == 2 and str(value[0]) in graph:
        return str(value[0]), graph[str(value[0])]
    return None, None


def _of(graph: Graph, cls: str) -> list[tuple[str, dict]]:
    return [(k, n) for k, n in graph.items() if n["class_type"] == cls]


def _model_chain(graph: Graph, node: dict | None) -> list[tuple]:
    chain: list[tuple] = []
    while node is not None:
        cls, ins = node["class_type"], node["inputs"]
        if cls == "LoraLoaderModelOnly":
            chain.append((cls, ins["lora_name"], float(ins["strength_model"])))
        elif cls in ("CheckpointLoaderSimple", "UNETLoader"):
            chain.append((cls,) + tuple(v for v in ins.values() if not isinstance(v, list)))
            break
        elif cls != "LTXWCameraLoRAPreset":  # the project's camera slot (a no-op "static")
            chain.append((cls,) + tuple(sorted((k, v) for k, v in ins.items()
                                               if not isinstance(v, list))))
        node = _src(graph, node, "model")[1]
    return chain


def _sigmas(node: dict) -> tuple:
    ins = node["inputs"]
    if node["class_type"] == "ManualSigmas":
        return ("ManualSigmas",) + tuple(float(s) for s in ins["sigmas"].split(","))
    return ("LTXVScheduler", ins["steps"], ins["max_shift"], ins["base_shift"], ins["stretch"],
            ins["terminal"], "latent" in ins)


def _stage(graph: Graph, key: str, sca: dict) -> tuple[int, dict]:
    sig = _src(graph, sca, "sigmas")[1]
    sigmas = _sigmas(sig)
    stage = 2 if sigmas[0] == "ManualSigmas" and len(sigmas) <= 5 else 1
    guider = _src(graph, sca, "guider")[1]
    cfg = {k: float(v) for k, v in guider["inputs"].items() if k in ("cfg", "video_cfg", "audio_cfg")}
    consumers = sorted({v[1] for n in graph.values() for v in n["inputs"].values()
                        if isinstance(v, list) and len(v) == 2 and str(v[0]) == key})
    video = _src(graph, _src(graph, sca, "latent_image")[1], "video_latent")[1]
    strength = None
    if video and video["class_type"] == "LTXVImgToVideoInplace" and not video["inputs"]["bypass"]:
        strength = float(video["inputs"]["strength"])
    positive = _src(graph, guider, "positive")[1]
    return stage, {
        "sigmas": sigmas,
        "sampler": _src(graph, sca, "sampler")[1]["inputs"].get("sampler_name"),
        "guider": (guider["class_type"], cfg),
        "guides_cropped": positive["class_type"] == "LTXVCropGuides",
        "model": _model_chain(graph, _src(graph, guider, "model")[1]),
        "image_strength": strength,
        "sca_outputs": consumers,
    }


def _enhancer(graph: Graph) -> dict | None:
    found = _of(graph, "TextGenerateLTX2Prompt")
    if not found:
        return None
    _, node = found[0]
    widgets = {k: v for k, v in node["inputs"].items() if not isinstance(v, list) and k != "prompt"}
    clip, chain = _src(graph, node, "clip")[1], []
    while clip is not None:
        chain.append((clip["class_type"],) + tuple(v for k, v in sorted(clip["inputs"].items())
                                                   if not isinstance(v, list)))
        clip = _src(graph, clip, "clip")[1]
    image = _src(graph, node, "image")[1]
    return {"widgets": widgets, "clip": chain, "image_from": image and image["class_type"]}


def _image_path(graph: Graph) -> list[tuple]:
    """The resize/preprocess chain from the stage-1 conditioning image back to LoadImage."""
    path = []
    for _, node in _of(graph, "LTXVImgToVideoInplace"):
        if node["inputs"]["bypass"]:
            continue
        image = _src(graph, node, "image")[1]
        while image is not None and image["class_type"] != "LoadImage":
            ins = image["inputs"]
            path.append((image["class_type"],) + tuple(
                (k, v) for k, v in sorted(ins.items()) if not isinstance(v, list)
                and not k.endswith((".width", ".height"))))
            image = _src(graph, image, "input" if "input" in ins else "image")[1]
        break
    return path


def settings(graph: Graph) -> dict:
    """The settings the family tests hold against the official templates (module docstring)."""
    stages = dict(_stage(graph, k, n) for k, n in _of(graph, "SamplerCustomAdvanced"))
    conditioning = [n for _, n in _of(graph, "LTXVConditioning")][0]
    positive = _src(graph, conditioning, "positive")[0]
    neg_key, negative = _src(graph, conditioning, "negative")
    negative_text = None
    if negative is not None and neg_key != positive and negative["class_type"] == "CLIPTextEncode":
        negative_text = negative["inputs"]["text"]
    created = [n for _, n in _of(graph, "CreateVideo")][0]
    decode = _src(graph, created, "images")[1]
    upsamplers = [n for _, n in _of(graph, "LTXVLatentUpsampler")]
    files = {(n["class_type"], k, v) for n in graph.values() for k, v in n["inputs"].items()
             if isinstance(v, str) and v.endswith(MODEL_SUFFIXES)}
    return {
        "stages": stages,
        "image_path": _image_path(graph),
        "upscaler": sorted({n["inputs"]["model_name"] for _, n in _of(graph, "LatentUpscaleModelLoader")}),
        "upsampler_input": sorted(_src(graph, n, "samples")[1]["class_type"] for n in upsamplers),
        "decode": (decode["class_type"],) + tuple(v for v in decode["inputs"].values()
                                                  if not isinstance(v, list)),
        "negative_prompt": negative_text,
        "enhancer": _enhancer(graph),
        "files": sorted(files),
    }
