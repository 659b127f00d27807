"""The RunPod handler: one job from input to MP4 (SPEC.md, "What the worker does for a job").

`JobHandler` is built once per worker process (`JobHandler.start` waits for ComfyUI and checks
the templates against its ``/object_info``) and is then called by the RunPod SDK for every job.
It is an async callable: the SDK awaits it on its event loop, and the blocking ComfyUI calls run
in a worker thread so the loop stays free for the SDK's pings and stop signals.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import runpod

from .comfy_client import ComfyClient, PromptRun
from .config import Settings
from .errors import ErrorCode, WorkerError
from .inputs import fetch_image_bytes, prepare_image
from .job import CAMERA_LORAS, JobInput, parse_job_input, pick_seed
from .model_check import format_missing, missing_models
from .outputs import probe_video, write_poster
from .progress import ProgressTracker
from .storage import Storage, make_storage
from .templates import Template, TemplateRegistry
from .webhooks import EVENT_FAILED, EVENT_SUCCEEDED, WebhookSender, check_webhook_url
from .workflow_check import check_graph

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]")

#: Failures after which the worker's state is suspect: RunPod is asked to replace it.
_SUSPECT = {ErrorCode.COMFY_UNAVAILABLE, ErrorCode.INTERNAL}


def _job_tag(job: dict) -> str:
    """A file-name-safe tag for the job: its id's safe characters, or a fresh uuid."""
    tag = _SAFE_ID.sub("", str(job.get("id") or ""))[:64]
    return tag or uuid.uuid4().hex


class JobHandler:
    """Runs jobs through one ComfyUI server.

    Args:
        settings: the worker's configuration (`config.load_settings`).
        client: a `ComfyClient`; one is made from `settings` when omitted.
        storage: where files go; `storage.make_storage(settings)` when omitted.
        progress_sink: called as ``sink(job, payload)`` with each progress payload
            (`progress.ProgressTracker`); defaults to RunPod's ``progress_update`` when the
            worker runs in RunPod's worker loop (RUNPOD_WEBHOOK_POST_OUTPUT is set), else none.
    """

    def __init__(
        self,
        settings: Settings,
        client: ComfyClient | None = None,
        storage: Storage | None = None,
        progress_sink: Callable[[dict, dict], None] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or ComfyClient(settings.comfy_url, settings.comfy_request_timeout_s)
        self.storage = storage or make_storage(settings)
        if progress_sink is None and settings.runpod_webhook_post_output:
            progress_sink = runpod.serverless.progress_update
        self.progress_sink = progress_sink
        secret = settings.webhook_secret
        self.webhooks = (
            WebhookSender(
                secret.get_secret_value(),
                attempt_timeout_s=settings.webhook_attempt_timeout_s,
                max_attempts=settings.webhook_max_attempts,
                max_total_s=settings.webhook_max_total_s,
            )
            if secret
            else None
        )
        self.all_templates = TemplateRegistry.load(settings.workflows_dir)
        self.templates: TemplateRegistry | None = None
        self.missing_models: list = []
        self.comfyui_version = "unknown"

    # -- start-up -----------------------------------------------------------------------------
    def start(self) -> JobHandler:
        """Wait for ComfyUI, then keep the templates its node schemas can run.

        Templates that use node classes this ComfyUI lacks (LTX-2 on 0.3.75) are left out and
        logged; a template that names known classes but fails the schema check is an error.

        Raises:
            WorkerError: COMFY_UNAVAILABLE when ComfyUI does not answer in time;
                WORKFLOW_INVALID when a runnable template fails the schema check.
        """
        stats = self.client.wait_ready(self.settings.comfy_ready_timeout_s)
        self.comfyui_version = stats.get("system", {}).get("comfyui_version", "unknown")
        object_info = self.client.object_info()
        runnable = self.all_templates.supported_by(set(object_info))
        problems = [
            f"{t.name}: {p}" for t in runnable.templates for p in check_graph(t.graph, object_info)
        ]
        if problems:
            raise WorkerError(
                ErrorCode.WORKFLOW_INVALID,
                "templates do not match this ComfyUI's nodes: " + "; ".join(problems[:10]),
            )
        self._check_models(runnable, object_info)
        skipped = {t.name for t in self.all_templates.templates} - {t.name for t in runnable.templates}
        if skipped:
            log.warning(
                "ComfyUI %s lacks nodes for templates %s; their models are unavailable",
                self.comfyui_version,
                ", ".join(sorted(skipped)),
            )
        self.templates = runnable
        log.info("ComfyUI %s ready; templates: %s", self.comfyui_version,
                 ", ".join(t.name for t in runnable.templates))
        return self

    def _check_models(self, runnable: TemplateRegistry, object_info: dict) -> None:
        """Compare the files the templates need with those ComfyUI lists (`model_check`).

        Raises:
            WorkerError: MODEL_MISSING naming every missing file and the jobs needing it, when
                MODELS_REQUIRED is "all" (the default): the worker must not take jobs.
        """
        missing = missing_models(runnable.templates, object_info)
        self.missing_models = missing
        if not missing:
            return
        message = format_missing(missing)
        if self.settings.models_required == "all":
            raise WorkerError(ErrorCode.MODEL_MISSING, f"model files ComfyUI cannot see: {message}",
                              details={"missing": sorted({m.need.relpath for m in missing})})
        log.warning("serving without some model files (MODELS_REQUIRED=available): %s", message)

    def _check_job_models(self, spec: JobInput) -> None:
        """MODEL_MISSING for a job whose template or camera LoRA lacks a file (see `_check_models`)."""
        if not self.missing_models:
            return
        key = (spec.model, spec.quality)
        files = sorted({m.need.relpath for m in self.missing_models
                        if m.need.camera_move is None and key in m.serves})
        if spec.camera_lora:
            files += sorted({m.need.relpath for m in self.missing_models
                             if m.need.camera_move == spec.camera_lora and key in m.serves})
        if files:
            raise WorkerError(
                ErrorCode.MODEL_MISSING,
                f"{spec.model} {spec.quality}"
                + (f" with camera {spec.camera_lora}" if spec.camera_lora else "")
                + f" needs model files this worker does not have: {', '.join(files)}",
                details={"missing": files},
            )

    def warm_up(self) -> dict:
        """Run one small job (the first runnable t2v model, fast, 2 s) so the models are loaded
        before the first real job (WARMUP=true). Returns its result; a failure is logged."""
        registry = self.templates or self.all_templates
        models = [s[0] for t in registry.templates for s in t.serves if s[0].endswith("-t2v")]
        if not models:
            return {}
        t0 = time.monotonic()
        job = {"model": sorted(models)[0], "prompt": "warm-up: a calm sea at dawn", "duration": 2, "seed": 0}
        result = asyncio.run(self({"id": "warmup", "input": job}))
        if "error" in result:
            log.warning("warm-up job failed: %s", result.get("message"))
        else:
            log.info("warm-up job done in %.1f s", time.monotonic() - t0)
            for key in ("video_path", "poster_path"):
                if result.get(key):
                    Path(result[key]).unlink(missing_ok=True)
        return result

    def _template_for(self, job: JobInput) -> Template:
        registry = self.templates or self.all_templates
        try:
            return registry.get(job.model, job.quality)
        except WorkerError:
            self.all_templates.get(job.model, job.quality)  # raises when no template exists at all
            raise WorkerError(
                ErrorCode.WORKFLOW_INVALID,
                f"model {job.model} needs ComfyUI nodes this server (ComfyUI {self.comfyui_version})"
                " does not have",
                retryable=False,
            ) from None

    # -- one job ------------------------------------------------------------------------------
    async def __call__(self, job: dict) -> dict:
        """Run one RunPod job; returns the result dict, or ``WorkerError.to_output()``.

        When the job (or WEBHOOK_URL) names a webhook, the result or error is also delivered
        there, signed, within WEBHOOK_MAX_TOTAL_S; the delivery report is in ``webhook``.
        Whatever happens (success, failure, cancellation), the job's files are removed from
        ComfyUI's input and output folders and its prompt from ComfyUI's history afterwards.
        A failure that leaves the worker suspect (ComfyUI gone, an unexpected error) also
        carries ``refresh_worker: true`` so RunPod replaces the worker after this job.

        Raises:
            asyncio.CancelledError: when RunPod cancels the job (after the prompt has been
                stopped in ComfyUI and the files removed), as the SDK expects.
        """
        tracker = ProgressTracker(self._sink_for(job), self.settings.progress_interval_s)
        run = PromptRun()
        tag = _job_tag(job)
        webhook_url = None
        try:
            webhook_url = self._webhook_url(job.get("input"))
            result = await self._run(job, tag, tracker, run)
        except asyncio.CancelledError:
            log.warning("job %s cancelled; stopping its prompt in ComfyUI", job.get("id"))
            run.cancel.set()
            if run.prompt_id:
                await asyncio.to_thread(self.client.cancel, run.prompt_id)
            await asyncio.to_thread(self._cleanup, tag, run.prompt_id)
            raise
        except Exception as exc:  # the SDK must get a clean error, never a trace
            if isinstance(exc, WorkerError):
                err = exc
                log.warning("job %s failed: %r", job.get("id"), err)
            else:
                log.exception("job %s: unexpected error", job.get("id"))
                err = WorkerError(ErrorCode.INTERNAL, "unexpected worker error; see the worker log")
            result = err.to_output()
            if err.code in _SUSPECT:
                result["refresh_worker"] = True
        await asyncio.to_thread(self._cleanup, tag, run.prompt_id)
        if webhook_url and self.webhooks is not None:
            failed = "error" in result
            raw = job.get("input") if isinstance(job.get("input"), dict) else {}
            data = {"job_id": job.get("id"), "external_id": raw.get("external_id"),
                    **({"error": json.loads(result["error"])} if failed else {"output": result})}
            # one id per event, the same across its retries; a new one when RunPod reruns the job
            report = await asyncio.to_thread(
                self.webhooks.deliver, webhook_url, EVENT_FAILED if failed else EVENT_SUCCEEDED, data,
                f"msg_{tag}_{uuid.uuid4().hex[:12]}",
            )
            result["webhook"] = report.to_dict()
        return result

    def _cleanup(self, tag: str, prompt_id: str | None) -> None:
        """Remove the job's files from ComfyUI's input/output folders and its history entry.

        Only names the worker made are touched: ``ltxw-<tag>-*`` in the input folder and
        ``ltxw/<tag>_<counter>_.<ext>`` in the output folder (SaveVideo's pattern). Never raises.
        """
        if prompt_id:
            self.client.forget(prompt_id)
        input_dir, output_dir = self.settings.comfy_input_path, self.settings.comfy_output_path
        doomed: list[Path] = []
        if input_dir is not None:
            doomed += input_dir.glob(f"ltxw-{tag}-*")
        if output_dir is not None:
            pattern = re.compile(rf"{re.escape(tag)}_\d+_?\.\w+")
            doomed += [p for p in (output_dir / "ltxw").glob(f"{tag}_*") if pattern.fullmatch(p.name)]
        for path in doomed:
            try:
                path.unlink(missing_ok=True)
            except OSError as err:
                log.warning("could not remove %s: %s", path, err)

    def _sink_for(self, job: dict) -> Callable[[dict], None] | None:
        if self.progress_sink is None:
            return None
        return lambda payload: self.progress_sink(job, payload)

    def _webhook_url(self, raw: object) -> str | None:
        """The job's webhook_url (or WEBHOOK_URL), checked; None when there is none.

        Read from the raw input so that a job failing validation still gets its failure event.

        Raises:
            WorkerError: INVALID_INPUT when the URL is refused or no WEBHOOK_SECRET is set.
        """
        url = raw.get("webhook_url") if isinstance(raw, dict) else None
        if not isinstance(url, str) or not url.strip():
            return self.settings.webhook_url
        url = url.strip()
        if self.webhooks is None:
            raise WorkerError(
                ErrorCode.INVALID_INPUT,
                "webhook_url: this worker cannot sign webhooks (no WEBHOOK_SECRET configured)",
            )
        check_webhook_url(url)
        return url

    async def _run(self, job: dict, tag: str, tracker: ProgressTracker, run: PromptRun) -> dict:
        t0 = time.monotonic()
        spec = parse_job_input(job.get("input"))
        deadline_s = min(self.settings.job_deadline_s, spec.deadline_s or self.settings.job_deadline_s)
        template = self._template_for(spec)
        self._check_job_models(spec)
        if spec.camera_lora and not {"camera_lora", "camera_preset"} & set(template.params):
            raise WorkerError(
                ErrorCode.INVALID_INPUT, f"camera_lora: camera moves are not available for {spec.model}"
            )
        image_name = None
        if spec.image_urls:
            tracker.stage_started("inputs")
            image_name = await asyncio.to_thread(self._upload_start_image, spec.image_urls[0], tag)
        t_inputs = time.monotonic()

        size = spec.render()
        seed = pick_seed(spec)
        values: dict[str, Any] = {
            "prompt": spec.prompt,
            "negative_prompt": spec.negative_prompt,
            "width": size.width,
            "height": size.height,
            "half_width": size.width // 2,
            "half_height": size.height // 2,
            "frames": size.frames,
            "fps": size.fps,
            "seed": seed,
            "image": image_name,
            "image_strength": spec.image_strength,
            "camera_lora": CAMERA_LORAS[spec.camera_lora] if spec.camera_lora else None,
            "camera_preset": spec.camera_lora or "none",
            "camera_strength": spec.camera_strength,
            "filename_prefix": f"ltxw/{tag}",
            "audio": spec.audio,
        }
        graph = template.fill(values)
        if not await asyncio.to_thread(self.client.is_ready):
            # ComfyUI is restarting (its supervisor brings it back): wait a bounded time for it.
            log.warning("ComfyUI is not answering; waiting up to %.0f s", self.settings.comfy_recover_timeout_s)
            await asyncio.to_thread(self.client.wait_ready, self.settings.comfy_recover_timeout_s)
        tracker.set_graph(graph)
        tracker.stage_started("queued")
        output_id = template.node_id(graph, template.output)
        prompt_id, entry = await asyncio.to_thread(
            self.client.run_prompt, graph, timeout_s=max(0.0, deadline_s - (time.monotonic() - t0)),
            on_progress=tracker.on_comfy, run=run,
        )
        files = [f for f in self.client.output_files(entry, output_id) if f.filename.endswith(".mp4")]
        if not files:
            raise WorkerError(ErrorCode.OUTPUT_MISSING, f"prompt {prompt_id} saved no MP4")
        out_dir = Path(self.settings.output_dir)
        video_path = await asyncio.to_thread(self.client.download, files[0], out_dir / f"{tag}.mp4")
        t_generated = time.monotonic()

        tracker.stage_started("upload")
        delivered = await asyncio.to_thread(self._deliver_files, video_path, out_dir / f"{tag}.jpg", tag, spec)
        t_done = time.monotonic()
        tracker.stage_started("done")
        return {
            **delivered,
            "seed": seed,
            "settings": {
                "model": spec.model,
                "quality": spec.quality,
                "resolution": spec.resolution,
                "aspect_ratio": spec.aspect_ratio,
                "duration": spec.duration,
                "width": size.width,
                "height": size.height,
                "frames": size.frames,
                "fps": size.fps,
                "camera_lora": spec.camera_lora,
                "camera_strength": spec.camera_strength if spec.camera_lora else None,
                "image_strength": spec.image_strength if spec.image_urls else None,
                "audio": spec.audio,
                "template": template.name,
                "comfyui_version": self.comfyui_version,
            },
            "timings": {
                "inputs_s": round(t_inputs - t0, 3),
                "generation_s": round(t_generated - t_inputs, 3),
                "upload_s": round(t_done - t_generated, 3),
                "total_s": round(t_done - t0, 3),
            },
            "cost": self._cost(t_done - t0),
            "prompt_id": prompt_id,
            "external_id": spec.external_id,
        }

    def _cost(self, seconds: float) -> dict:
        """GPU seconds the job held the worker (its wall time: one job per GPU) and, when
        GPU_PRICE_PER_HOUR is set, their price in USD."""
        price = self.settings.gpu_price_per_hour
        return {
            "gpu_seconds": round(seconds, 3),
            "price_per_gpu_hour": price,
            "usd": round(seconds / 3600 * price, 6) if price is not None else None,
        }

    def _deliver_files(self, video_path: Path, poster_path: Path, tag: str, spec: JobInput) -> dict:
        """Probe the MP4, write its poster, inline it when asked, and hand both to storage.

        Returns the result's file fields: video_url/key/path, poster_url/key/path, video (the
        facts), and video_base64 or a warning when it was asked for.
        """
        facts = probe_video(video_path)
        write_poster(video_path, poster_path)
        out: dict[str, Any] = {}
        if spec.return_base64:
            cap = self.settings.inline_max_bytes
            if facts.bytes <= cap:
                out["video_base64"] = base64.b64encode(video_path.read_bytes()).decode()
            else:
                out["warnings"] = [
                    f"return_base64: the video ({facts.bytes} bytes) is over the inline cap "
                    f"({cap} bytes, INLINE_MAX_BYTES); use video_url"
                ]
        video = self.storage.put(video_path, f"{tag}.mp4", facts.content_type)
        poster = self.storage.put(poster_path, f"{tag}.jpg", "image/jpeg")
        return {
            "video_url": video.url,
            "video_key": video.key,
            "video_path": video.path,
            "poster_url": poster.url,
            "poster_key": poster.key,
            "poster_path": poster.path,
            "video": facts.to_dict(),
            **out,
        }

    def _upload_start_image(self, source: str, tag: str) -> str:
        raw = fetch_image_bytes(
            source, max_bytes=self.settings.max_image_bytes, timeout_s=self.settings.image_fetch_timeout_s
        )
        png, _ = prepare_image(
            raw, max_bytes=self.settings.max_image_bytes, max_pixels=self.settings.max_image_pixels
        )
        return self.client.upload_image(png, f"ltxw-{tag}-start.png")
