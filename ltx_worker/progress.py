"""Job progress: ComfyUI's node and step events turned into stages and one overall percent.

Stages, in order (the delivery issue): ``inputs`` (fetching and checking the job's images, audio
or control video; the message names them), ``loras`` (the job's own LoRAs, fetched or found in
the cache), ``prepare`` (model loading and text encoding),
``preprocess`` (a control job's Canny/depth preprocessor), ``enhance_prompt`` (the family's
prompt enhancer, when the job asks for it),
``stage_1`` (sampling at half size), ``upscale`` (x2 latent upscaler),
``stage_2`` (refinement at full size), ``decode`` (VAE decode, audio, MP4 encoding), ``splice``
(an edit's new frames and sound put into its source, `edit_splice`), ``upload``
(probe, poster, storage) and ``done``. A node's stage comes from its class_type and, for the
two sampler nodes, its title ("Stage 2 ..."): the templates' stable names, not node ids.

`ProgressTracker` keeps the percent from going backwards and forwards at most one update per
PROGRESS_INTERVAL_S to a sink, except that a stage change is always sent.
The sink is `runpod.serverless.progress_update` in RunPod's worker loop, a progress bar in the
command line, or nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .comfy.types import Progress
from .graph import title_of

#: Stage -> (percent at its start, percent at its end).
STAGE_SPANS: dict[str, tuple[float, float]] = {
    "inputs": (0.0, 2.0),
    "loras": (2.0, 2.0),
    "queued": (2.0, 3.0),
    "prepare": (3.0, 8.0),
    "preprocess": (8.0, 10.0),
    "enhance_prompt": (10.0, 12.0),
    "stage_1": (12.0, 55.0),
    "upscale": (55.0, 60.0),
    "stage_2": (60.0, 80.0),
    "decode": (80.0, 94.0),
    "splice": (94.0, 95.0),
    "upload": (95.0, 100.0),
    "done": (100.0, 100.0),
}

_ORDER = {stage: i for i, stage in enumerate(STAGE_SPANS)}
_SAMPLERS = {"SamplerCustomAdvanced", "SamplerCustom", "KSampler", "KSamplerAdvanced"}
_ENHANCERS = {"TextGenerateLTX2Prompt", "TextGenerate"}
#: Control preprocessors (official IC-LoRA templates): Canny, Lotus depth, MoGe depth.
_PREPROCESSORS = {"Canny", "LotusConditioning", "MoGeInference", "MoGeRender", "LoadMoGeModel"}
_PREPROCESS_WORDS = ("control", "depth", "lotus", "moge")
_UPSCALERS = {"LTXVLatentUpsampler", "LatentUpscale", "LatentUpscaleBy"}
_DECODERS = {
    "VAEDecode", "VAEDecodeTiled", "LTXVAudioVAEDecode", "CreateVideo", "SaveVideo",
    "SaveAnimatedWEBP", "SaveWEBM",
}


def stage_of(graph: dict, node_id: str | None) -> str | None:
    """The stage a node of `graph` belongs to (see the module doc), or None for unknown ids.

    Samplers are "stage_2" when their title says "stage 2", else "stage_1"; upsamplers are
    "upscale"; decoders, CreateVideo and the save node are "decode"; anything else (loaders,
    text encoders, latents) is "prepare".
    """
    node = graph.get(str(node_id)) if node_id is not None else None
    if node is None:
        return None
    cls = node.get("class_type", "")
    title = (title_of(node) or "").lower()
    if cls in _PREPROCESSORS or (cls in _SAMPLERS and any(w in title for w in _PREPROCESS_WORDS)):
        return "preprocess"
    if cls in _SAMPLERS:
        return "stage_2" if "stage 2" in title else "stage_1"
    if cls in _ENHANCERS:
        return "enhance_prompt"
    if cls in _UPSCALERS:
        return "upscale"
    if cls in _DECODERS:
        return "decode"
    return "prepare"


class ProgressTracker:
    """Turns events into throttled progress payloads for `sink`.

    Args:
        sink: called with ``{"stage", "step", "steps", "percent", "message"}``; percent is
            0..100 with one decimal and never decreases.
        interval_s: least seconds between two payloads of the same stage.
        graph: the prompt being run (for `stage_of`); set later with `set_graph`.

    Thread-safe: ComfyUI events arrive on the client's thread, the worker's own stages on
    the event loop's.
    """

    def __init__(
        self,
        sink: Callable[[dict], None] | None,
        interval_s: float = 0.25,
        graph: dict | None = None,
    ) -> None:
        self.sink = sink
        self.interval_s = interval_s
        self.graph = graph or {}
        self.stage: str | None = None
        self.percent = 0.0
        self._last_sent = 0.0
        self._lock = threading.Lock()

    def set_graph(self, graph: dict) -> None:
        """The prompt whose node ids later events name."""
        self.graph = graph

    def stage_started(self, stage: str, detail: str | None = None) -> None:
        """The worker entered one of its own stages (inputs, queued, upload, done); `detail`
        (e.g. which inputs are fetched) goes into the payload's message."""
        self._update(stage, 0, 0, detail, force=True)

    def on_comfy(self, event: Progress) -> None:
        """A ComfyUI event (`ComfyClient.run_prompt`'s on_progress callback)."""
        stage = stage_of(self.graph, event.node)
        if stage is not None:
            self._update(stage, event.value, event.max)

    def _update(self, stage: str, step: int, steps: int, detail: str | None = None, force: bool = False) -> None:
        start, end = STAGE_SPANS[stage]
        fraction = min(1.0, step / steps) if steps > 0 else 0.0
        with self._lock:
            if self.stage is not None and _ORDER[stage] < _ORDER[self.stage]:
                return  # a helper node (e.g. a latent split) after sampling: stay in the stage
            percent = max(self.percent, round(start + (end - start) * fraction, 1))
            changed = stage != self.stage
            now = time.monotonic()
            if not changed and not force and now - self._last_sent < self.interval_s and stage != "done":
                self.percent = percent
                return
            self.stage, self.percent, self._last_sent = stage, percent, now
            label = stage.replace("_", " ")
            payload = {
                "stage": stage,
                "step": step,
                "steps": steps,
                "percent": percent,
                "message": f"{label}: step {step}/{steps}" if steps else f"{label}: {detail}" if detail else label,
            }
        if self.sink is not None:
            self.sink(payload)
