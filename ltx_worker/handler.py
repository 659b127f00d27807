"""The RunPod handler: one job from input to MP4 (SPEC.md, "What the worker does for a job").

`JobHandler` is built once per worker process (`JobHandler.start` waits for ComfyUI and checks
the templates against its ``/object_info``) and is then called by the RunPod SDK for every job.
It is an async callable: the SDK awaits it on its event loop, and the blocking ComfyUI calls run
in a worker thread so the loop stays free for the SDK's pings and stop signals.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from .comfy.client import ComfyClient, PromptRun
from .compiler import JobFiles, check_fits, compile_job
from .config import Settings
from .contract.job import JobInput, parse_job_input, pick_seed
from .delivery.result import build_result, deliver_files, job_cost, job_settings, webhook_event
from .delivery.storage import Storage, make_storage
from .delivery.webhooks import PendingDelivery, check_webhook_url, make_sender
from .edit_splice import splice_edit
from .errors import ErrorCode, WorkerError
from .families import FamilyRegistry
from .input_budget import InputBudget
from .job_files import remove_job_files
from .job_inputs import fetch_inputs
from .job_threads import JobThreads
from .loras.graph import apply_loras
from .loras.job import JobLoraSet, job_lora_entries, resolve_job_loras
from .models.check import blocked_serves, format_missing, job_missing_files, missing_models, serves_label
from .progress import ProgressTracker
from .progress_sender import OrderedProgressSender
from .templates import Template, TemplateRegistry
from .workflow_check import check_graph

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]")

#: Failures after which the worker's state is suspect: RunPod is asked to replace it.
_SUSPECT = {ErrorCode.COMFY_UNAVAILABLE, ErrorCode.INTERNAL}
#: Longest wait for a job's unsent progress updates before its output is returned.
_PROGRESS_DRAIN_S = 5.0


def _job_tag(job: dict) -> str:
    """A file-name-safe tag for the job: its id's safe characters, or a fresh uuid."""
    tag = _SAFE_ID.sub("", str(job.get("id") or ""))[:64]
    return tag or uuid.uuid4().hex


def _delivered_paths(result: dict) -> frozenset[Path]:
    """The local files a successful result hands over (``video_path``/``poster_path``, set when
    no bucket is configured), resolved; empty for an error result."""
    paths = () if "error" in result else (result.get("video_path"), result.get("poster_path"))
    return frozenset(Path(p).resolve() for p in paths if p)


class JobHandler:
    """Runs jobs through one ComfyUI server.

    Args:
        settings: the worker's configuration (`config.load_settings`).
        client: a `ComfyClient`; one is made from `settings` when omitted.
        storage: where files go; `storage.make_storage(settings)` when omitted.
        progress_sink: called as ``sink(job, payload)`` with each progress payload
            (`progress.ProgressTracker`); defaults to RunPod's progress update, sent in order
            (`progress_sender.OrderedProgressSender`), when the worker runs in RunPod's worker
            loop (RUNPOD_WEBHOOK_POST_OUTPUT is set), else none. A sink with a ``drain(timeout_s)``
            method is drained before each job's output is returned, so that no progress update
            reaches RunPod after the output.
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
            progress_sink = OrderedProgressSender()  # runpod's progress_update, in order
        self.progress_sink = progress_sink
        self.webhooks = make_sender(settings)  # None without WEBHOOK_SECRET
        #: A cancelled job's error when not RunPod's plain cancel (`worker.Shutdown.wrap` sets it).
        self.stop_reason: Callable[[], WorkerError | None] = lambda: None
        self.families = FamilyRegistry.load(settings.workflows_dir)
        self.all_templates = TemplateRegistry.load(settings.workflows_dir)
        self.templates: TemplateRegistry | None = None
        self.missing_models: list = []
        self.served: list[tuple[str, str]] = []
        self.served_variants: list[tuple[str, str, str]] = []
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
        modes: dict[str, list[str]] = {}
        for model, quality, variant in self.served_variants:
            modes.setdefault(variant, []).append(f"{model} {quality}")
        log.info("ComfyUI %s ready; serving %s%s", self.comfyui_version, serves_label(self.served, "nothing"),
                 "".join(f"; {v}: {', '.join(m)}" for v, m in modes.items()))
        return self

    def _check_models(self, runnable: TemplateRegistry, object_info: dict) -> None:
        """Compare the files the templates need with those ComfyUI lists (`models.check`) and
        decide what this worker serves: every (model, quality) whose files are all there (SPEC.md:
        an image serves what it holds, baked in or on the network volume). Jobs for the rest, and
        camera moves or the prompt enhancer whose files are missing, fail with MODEL_MISSING
        naming the files (`_check_job_models`).

        Raises:
            WorkerError: MODEL_MISSING naming every missing file and the jobs needing it, when
                nothing at all can be served, or when MODELS_REQUIRED is "all" and any file is
                missing: the worker must not take jobs.
        """
        missing = missing_models(runnable.templates, object_info)
        self.missing_models = missing
        blocked = blocked_serves(missing)
        self.served = sorted({s for t in runnable.templates if t.variant is None for s in t.serves} - blocked)
        self.served_variants = sorted(k for t in runnable.templates if t.variant for k in t.keys
                                      if not job_missing_files(missing, k[0], k[1], variant=k[2]))
        if not missing:
            return
        message = format_missing(missing)
        details = {"missing": sorted({m.need.relpath for m in missing})}
        if self.settings.models_required == "all":
            raise WorkerError(ErrorCode.MODEL_MISSING, f"model files ComfyUI cannot see (MODELS_REQUIRED=all): "
                              f"{message}", details=details)
        if not self.served and not self.served_variants:
            raise WorkerError(ErrorCode.MODEL_MISSING, f"no model can be served; model files ComfyUI cannot see: "
                              f"{message}", details=details)
        log.warning("not served for lack of model files: %s", message)

    def _check_job_models(self, spec: JobInput) -> None:
        """MODEL_MISSING for a job whose template, camera LoRA or enhancer lacks a file
        (see `_check_models`)."""
        if not self.missing_models:
            return
        features = ["enhance_prompt"] if spec.enhance_prompt else []
        files = job_missing_files(self.missing_models, spec.model, spec.quality, spec.camera_lora, features,
                                  spec.variant)
        if files:
            raise WorkerError(
                ErrorCode.MODEL_MISSING,
                f"{spec.model} {spec.quality}"
                + (f" ({spec.variant})" if spec.variant else "")
                + (f" with camera {spec.camera_lora}" if spec.camera_lora else "")
                + (" with the prompt enhancer" if features else "")
                + f" needs model files this worker does not have: {', '.join(files)}",
                details={"missing": files},
            )

    def warm_up(self) -> dict:
        """Run one small job (the first runnable t2v model, fast, 2 s) so the models are loaded
        before the first real job (WARMUP=true). Returns its result; a failure is logged."""
        served = [(m, q) for m, q in self.served if self.families.family_of(m).models[m] == "t2v"]
        if not served:
            return {}
        t0 = time.monotonic()
        model, quality = served[0]
        job = {"model": model, "quality": quality, "prompt": "warm-up: a calm sea at dawn", "duration": 2, "seed": 0}
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
            return registry.get(job.model, job.quality, job.variant)
        except WorkerError:
            self.all_templates.get(job.model, job.quality, job.variant)  # raises when no template exists at all
            raise WorkerError(
                ErrorCode.WORKFLOW_INVALID,
                f"model {job.model}" + (f" ({job.variant})" if job.variant else "")
                + f" needs ComfyUI nodes this server (ComfyUI {self.comfyui_version}) does not have",
                retryable=False,
            ) from None

    # -- one job ------------------------------------------------------------------------------
    async def __call__(self, job: dict) -> dict:
        """Run one RunPod job; returns the result dict, or ``WorkerError.to_output()``.

        When the job (or WEBHOOK_URL) names a webhook, the result or error is also delivered
        there, signed; the result waits for it at most WEBHOOK_MAX_TOTAL_S (+ 0.5 s), whatever
        the backend does, and carries the delivery report in ``webhook``. A cancelled job sends
        video.failed with CANCELLED (within the same bound) before the CancelledError goes on.
        Whatever happens (success, failure, cancellation), the job's files are removed from
        ComfyUI's input and output folders and its prompt from ComfyUI's history afterwards.
        A failure that leaves the worker suspect (ComfyUI gone, an unexpected error) also
        carries ``refresh_worker: true`` so RunPod replaces the worker after this job.

        Raises:
            asyncio.CancelledError: when RunPod cancels the job (after the prompt has been
                stopped in ComfyUI and the files removed), as the SDK expects.
        """
        tracker = ProgressTracker(self._sink_for(job), self.settings.progress_interval_s)
        loras = JobLoraSet()  # the job's LoRA files, held until it ends
        run = PromptRun()
        threads = JobThreads()
        tag = _job_tag(job)
        webhook_url = None
        try:
            webhook_url = self._webhook_url(job.get("input"))
            result = await self._run(job, tag, tracker, run, threads, loras)
        except asyncio.CancelledError:
            log.warning("job %s cancelled; stopping its prompt in ComfyUI", job.get("id"))
            run.cancel.set()
            cancelled = self.stop_reason() or WorkerError(ErrorCode.CANCELLED, "the job was cancelled")
            pending = self._start_webhook(webhook_url, job, cancelled.to_output(), tag)  # meanwhile:
            if run.prompt_id:
                await asyncio.to_thread(self.client.cancel, run.prompt_id)
            await asyncio.to_thread(self._cleanup, tag, run.prompt_id)
            # a call still running (an upload, the MP4's download) may write after that: again then
            threads.after_last(lambda: self._cleanup(tag, None))
            if not threads.after_last(loras.release):  # once ComfyUI stopped; a LoRA fetch may still hold
                loras.release()
            if pending is not None:
                await pending.report()  # awaiting works again once the CancelledError is caught
            raise
        except Exception as exc:  # the SDK must get a clean error, never a trace
            if isinstance(exc, WorkerError):
                err = exc
                log.warning("job %s failed: %r", job.get("id"), err)
            else:
                log.exception("job %s: unexpected error", job.get("id"))
                err = WorkerError(ErrorCode.INTERNAL, "unexpected worker error; see the worker log")
            result = err.to_output()
            if err.code in _SUSPECT or err.refresh_worker:
                result["refresh_worker"] = True
        loras.release()
        await asyncio.to_thread(self._cleanup, tag, run.prompt_id, _delivered_paths(result))
        pending = self._start_webhook(webhook_url, job, result, tag)
        if pending is not None:
            result["webhook"] = (await pending.report()).to_dict()
        drain = getattr(self.progress_sink, "drain", None)
        if drain is not None and not await asyncio.to_thread(drain, _PROGRESS_DRAIN_S):
            log.warning("job %s: progress updates still unsent after %.0f s", job.get("id"), _PROGRESS_DRAIN_S)
        return result

    def _start_webhook(self, url: str | None, job: dict, result: dict, tag: str) -> PendingDelivery | None:
        """Begin delivering `result`'s event to `url` (None: no webhook); one id per event, the
        same across its retries, a new one when RunPod reruns the job."""
        if not url or self.webhooks is None:
            return None
        event, data = webhook_event(job, result)
        return self.webhooks.start(url, event, data, f"msg_{tag}_{uuid.uuid4().hex[:12]}")

    def _cleanup(self, tag: str, prompt_id: str | None, keep: frozenset[Path] = frozenset()) -> None:
        """Remove the job's prompt from ComfyUI's history and its files (`job_files.remove_job_files`,
        sparing `keep`), whatever way the job ended. Never raises."""
        if prompt_id:
            self.client.forget(prompt_id)
        remove_job_files(self.settings, tag, keep)

    def _sink_for(self, job: dict) -> Callable[[dict], None] | None:
        if self.progress_sink is None:
            return None
        return lambda payload: self.progress_sink(job, payload)

    def _webhook_url(self, raw: object) -> str | None:
        """The job's webhook_url (or WEBHOOK_URL), checked; None when there is none.

        Read from the raw input so that a job failing validation still gets its failure event.

        Raises:
            WorkerError: INVALID_INPUT naming webhook_url when the URL is refused (its host not
                in WEBHOOK_ALLOWED_HOSTS, not public) or no WEBHOOK_SECRET is set.
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
        check_webhook_url(url, allowed_hosts=self.settings.webhook_allowed_host_list)
        return url

    async def _run(self, job: dict, tag: str, tracker: ProgressTracker, run: PromptRun, threads: JobThreads,
                   loras: JobLoraSet) -> dict:
        t0 = time.monotonic()
        spec = parse_job_input(job.get("input"), self.families)
        deadline_s = min(self.settings.job_deadline_s, spec.deadline_s or self.settings.job_deadline_s)
        run.deadline = deadline = t0 + deadline_s  # every ComfyUI call of the job ends by then
        template = self._template_for(spec)
        self._check_job_models(spec)
        seed = pick_seed(spec)
        check_fits(template, spec)  # refuse what the template cannot do before any fetch
        files, edit = JobFiles(), None
        input_facts: dict = {}
        if spec.image_urls or spec.variant or spec.video_url:
            tracker.stage_started("inputs", "source video" if spec.video_url else spec.variant or "start image")
            # bounded by the deadline; stops (and uploads nothing more) once run.cancel is set
            checked = await threads.run(fetch_inputs, spec, self.settings, deadline=deadline, cancel=run.cancel)
            spec.replan(checked.plan)  # the length may follow the audio or control video
            tracker.stage_started("inputs", f"uploading {checked.describe()}")
            files = await threads.run(checked.upload, self.client, tag, deadline, run.cancel)
            input_facts, edit = checked.facts, checked.edit
        lora_entries = job_lora_entries(spec)
        if lora_entries:
            count = len(lora_entries)
            tracker.stage_started("loras", f"{count} LoRA{'s' if count > 1 else ''}")
            await threads.run(resolve_job_loras, loras, spec, lora_entries, template.graph, self.client,
                              self.settings, InputBudget(deadline, run.cancel))
            spec.prompt = loras.prompt  # with the named LoRAs' trigger words
        t_inputs = time.monotonic()

        # a name of this run: ComfyUI caches a prompt it ran before, and would answer RunPod's rerun
        # of the same job (same id, same input) with the earlier run's MP4, which clean-up removed
        compiled = compile_job(template, spec, seed, files, f"{tag}-{uuid.uuid4().hex[:8]}")
        if loras.applied:
            compiled = dataclasses.replace(compiled, graph=apply_loras(compiled.graph, loras.applied))
        if not await asyncio.to_thread(self.client.is_ready, deadline=deadline):
            # ComfyUI is restarting (its supervisor brings it back): wait a bounded time for it.
            log.warning("ComfyUI is not answering; waiting up to %.0f s", self.settings.comfy_recover_timeout_s)
            await asyncio.to_thread(self.client.wait_ready, self.settings.comfy_recover_timeout_s, deadline=deadline)
        tracker.set_graph(compiled.graph)
        tracker.stage_started("queued")
        prompt_id, entry = await asyncio.to_thread(
            self.client.run_prompt, compiled.graph, timeout_s=max(0.0, deadline - time.monotonic()),
            on_progress=tracker.on_comfy, run=run,
        )
        files = [f for f in self.client.output_files(entry, compiled.output_id) if f.filename.endswith(".mp4")]
        if not files:
            raise WorkerError(ErrorCode.OUTPUT_MISSING, f"prompt {prompt_id} saved no MP4")
        if compiled.control_output_id is not None and "control_video" in input_facts:
            shown = (entry.get("outputs") or {}).get(compiled.control_output_id) or {}
            input_facts["control_video"]["control_images"] = len(shown.get("images") or [])
        prompt_used = spec.prompt
        if compiled.enhanced_prompt_id is not None:
            prompt_used = self.client.output_text(entry, compiled.enhanced_prompt_id) or spec.prompt
        out_dir = Path(self.settings.output_dir)
        video_path = await threads.run(self.client.download, files[0], out_dir / f"{tag}.mp4", deadline=deadline)
        if edit is not None:  # only the new frames and samples go into the source
            tracker.stage_started("splice", f"{edit.window.new_frames} new frames into the source")
            await threads.run(splice_edit, edit, video_path, video_path, InputBudget(deadline, run.cancel))
        t_generated = time.monotonic()

        tracker.stage_started("upload")
        delivered = await threads.run(
            deliver_files, self.storage, video_path, out_dir / f"{tag}.jpg", tag,
            spec.return_base64, self.settings.inline_max_bytes,
        )
        t_done = time.monotonic()
        tracker.stage_started("done")
        timings = {"inputs_s": t_inputs - t0, "generation_s": t_generated - t_inputs,
                   "upload_s": t_done - t_generated, "total_s": t_done - t0}
        settings = job_settings(spec, compiled, prompt_used, self.comfyui_version, input_facts, loras.report)
        settings.update(edit.output_settings() if edit is not None else {})
        return build_result(
            delivered, seed, settings, timings,
            job_cost(t_done - t0, self.settings.gpu_price_per_hour), prompt_id, spec.external_id,
        )
