"""``ltx-worker generate``: one video from the command line, through a running ComfyUI.

The job runs through the worker's own `JobHandler` (the same validation, template, ComfyUI
protocol, probe and poster as a RunPod job), with a live progress bar fed by its progress sink,
then the MP4 and its poster are moved to ``--output`` (and ``<output>.jpg``) and the video's
measured facts are printed.

    ltx-worker generate --prompt "a lighthouse at dusk" --duration 5 --output dusk.mp4
    ltx-worker generate --prompt "waves roll in" --image photo.jpg --camera dolly_in --seed 7
    ltx-worker generate --prompt "day turns to night" --image day.jpg --last-image night.jpg
    ltx-worker generate --prompt "she sings" --image face.jpg --audio song.wav
    ltx-worker generate --prompt "a robot dances" --control-video dance.mp4 --control canny
    ltx-worker generate --prompt "she turns and waves" --edit-video shot.mp4 --retake 4:3
    ltx-worker generate --prompt "the car drives off" --edit-video shot.mp4 --extend 5 --at end

ComfyUI is ``--comfy-url``, else COMFY_HOST/COMFY_PORT (default http://127.0.0.1:8188); start
one with ``./entrypoint.sh`` or ComfyUI's ``main.py`` (with the project's node pack for LTX-2).
The model defaults to the newest family's i2v model with ``--image`` (t2v without) that this
ComfyUI can run in the asked mode (keyframes, audio, control); when the ComfyUI cannot run the
model asked for, the error names the models it can run. Files stay local: object storage
and webhooks settings are ignored here. Ctrl-C stops the prompt in ComfyUI.

Exit status: 0 done, 1 the job failed (the error code and message are printed), 2 bad usage or
configuration, 130 cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from ..contract.job import default_families
from .job_options import CAMERAS, camera, cli_variant, image_source, input_files, job_input, keyframe, lora, retake_span


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``generate`` command."""
    p = subparsers.add_parser(
        "generate", help="make one video with a running ComfyUI (live progress)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--prompt", required=True, help="what the video shows (3..2000 characters)")
    p.add_argument("--image", metavar="PATH_OR_URL",
                   help="start image (image-to-video): a file, an http(s) URL or a data: URI")
    p.add_argument("--model", choices=default_families().model_ids,
                   help="default ltx-2-i2v with --image, else ltx-2-t2v (families: workflows/*/family.json)")
    p.add_argument("--quality", default="fast",
                   help="fast or pro where the model's family has it (default fast; `ltx-worker schema "
                        "--part models` lists them)")
    p.add_argument("--resolution", choices=("720p", "1080p", "1440p", "2160p"),
                   help="1440p/2160p where the family renders them (LTX-2.5)")
    p.add_argument("--aspect-ratio", choices=("16:9", "9:16", "1:1"), default="16:9")
    p.add_argument("--duration", type=int, metavar="SECONDS",
                   help="2..20 seconds (default 5, or the length of --audio / --control-video)")
    p.add_argument("--last-image", metavar="PATH_OR_URL",
                   help="the video ends on this image (with --image; LTX-2.3, LTX-2.5)")
    p.add_argument("--keyframe", action="append", type=keyframe, default=[], metavar="IMAGE@POS[:STRENGTH]",
                   help="an image the video passes through; POS is seconds with an s (2.5s) or a frame "
                        "index (40, -1 = last); repeatable")
    p.add_argument("--audio", metavar="PATH_OR_URL",
                   help="audio to video: the sound track the video is made to, with --image or without "
                        "(LTX-2.3; pro only without --image)")
    p.add_argument("--audio-start", type=float, default=0.0, metavar="S",
                   help="where in the audio the video starts (seconds)")
    p.add_argument("--control-video", metavar="PATH_OR_URL",
                   help="video-to-video: the video whose motion to follow (with --control)")
    p.add_argument("--control", choices=("canny", "depth", "pose"),
                   help="how --control-video guides the video (IC-LoRA)")
    p.add_argument("--reference-audio", metavar="PATH_OR_URL",
                   help="ID-LoRA (LTX-2.3 i2v, with --image): the person speaks in this voice (~5 s clip)")
    p.add_argument("--lora", action="append", type=lora, default=[], metavar="URL_OR_NAME[@STRENGTH]",
                   help="a LoRA of the job, repeatable (at most 4): an http(s) URL of a .safetensors file or a "
                        "name of `ltx-worker loras list`, strength -2..2 (default 1)")
    p.add_argument("--transition", action="store_true",
                   help="LTX-2.3 with --image and --last-image: the official style-transition LoRA")
    edit = p.add_argument_group("editing a video (ltx-2.3-edit)")
    edit.add_argument("--edit-video", metavar="PATH_OR_URL", help="the source video to retake or extend")
    how = edit.add_mutually_exclusive_group()
    how.add_argument("--retake", type=retake_span, metavar="START:DURATION",
                     help="regenerate DURATION seconds from START (at least 2 s)")
    how.add_argument("--extend", type=float, metavar="SECONDS", help="add 2..20 seconds to the source")
    edit.add_argument("--replace", choices=("audio_and_video", "video", "audio"),
                      help="with --retake: what is made anew (default both, or the picture of a silent source)")
    edit.add_argument("--at", choices=("end", "start"), default="end", help="with --extend: where (default end)")
    edit.add_argument("--context", type=float, metavar="SECONDS",
                      help="with --extend: seconds of the source to continue from (default as much as fits)")
    p.add_argument("--fps", type=int, choices=(24, 25, 48, 50), default=24, help="48/50 on LTX-2.5")
    p.add_argument("--camera", type=camera, metavar="MOVE",
                   help=f"camera move: {', '.join(CAMERAS)} (dolly-in spellings too)")
    p.add_argument("--camera-strength", type=float, default=1.0, metavar="S", help="0..2 (default 1)")
    p.add_argument("--image-strength", type=float, metavar="S",
                   help="0..1 (default: the family's official value)")
    p.add_argument("--negative-prompt", help="default: the family's official one")
    p.add_argument("--enhance-prompt", action="store_true",
                   help="let the family's prompt enhancer rewrite the prompt (LTX-2.3, LTX-2.5)")
    p.add_argument("--no-audio", action="store_true", help="a silent MP4 (LTX-2 makes sound by default)")
    p.add_argument("--seed", type=int, help="0..2^32-1 (default random; the one used is printed)")
    p.add_argument("--output", "-o", type=Path,
                   help="the MP4 to write (default ./ltx-<date>-<time>.mp4); the poster goes beside "
                        "it as .jpg")
    p.add_argument("--comfy-url", help="ComfyUI's URL (default from COMFY_HOST/COMFY_PORT)")
    p.add_argument("--ready-timeout", type=float, default=15.0, metavar="S",
                   help="seconds to wait for ComfyUI to answer (default 15)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="longest the job may run (default JOB_DEADLINE_S, 3600)")
    p.add_argument("--verbose", "-v", action="store_true", help="show the worker's log")
    p.set_defaults(func=cmd_generate)


class _ProgressView:
    """The progress sink: a rich progress bar on a terminal, one line per stage otherwise."""

    def __init__(self, console) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description:<10}"), BarColumn(),
            TaskProgressColumn(), TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
            console=console, transient=False, disable=not self.live,
        )
        self.task = self.progress.add_task("starting", total=100.0, detail="")
        self.last_stage: str | None = None
        self.last_message: str | None = None

    def __enter__(self) -> _ProgressView:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, job: dict, payload: dict) -> None:
        """`JobHandler`'s progress_sink: ``payload`` is {stage, step, steps, percent, message}."""
        stage = str(payload.get("stage", ""))
        label = stage.replace("_", " ")
        steps = payload.get("steps") or 0
        message = str(payload.get("message") or label)
        detail = f"step {payload.get('step', 0)}/{steps}" if steps else message.partition(": ")[2]
        percent = float(payload.get("percent", 0.0))
        if self.live:
            self.progress.update(self.task, completed=percent, description=label, detail=detail)
        elif stage != self.last_stage or (not steps and message != self.last_message):
            line = message if not steps else label
            self.console.print(f"[{percent:5.1f}%] {line}", markup=False, highlight=False)
        self.last_stage, self.last_message = stage, message


def _facts_table(result: dict, video: Path, poster: Path | None):
    from rich.table import Table

    facts, settings, timings = result["video"], result.get("settings", {}), result.get("timings", {})
    table = Table(title="Video", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("video", str(video)),
        ("poster", str(poster) if poster else "-"),
        ("size", f"{facts['width']}x{facts['height']}"),
        ("frames", f"{facts['frames']} at {facts['fps']:g} fps ({facts['duration_s']:g} s)"),
        ("audio", "yes" if facts.get("has_audio") else "no"),
        ("bytes", f"{facts['bytes']:,}"),
        ("sha256", facts.get("sha256", "")),
        ("seed", str(result.get("seed"))),
        ("model", f"{settings.get('model')} {settings.get('quality')} "
                  f"(template {settings.get('template')}, ComfyUI {settings.get('comfyui_version')})"),
        ("camera", str(settings.get("camera_lora") or "none")),
        *([("prompt", str(result.get("prompt")))] if settings.get("enhance_prompt") else []),
        ("time", ", ".join(f"{k.removesuffix('_s')} {v:.1f} s" for k, v in timings.items())),
    ]
    for key, value in rows:
        table.add_row(key, value)
    return table


def _comfy_base(args: argparse.Namespace, settings) -> str:
    url = (args.comfy_url or settings.comfy_url).rstrip("/")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ValueError(f"--comfy-url: expected http(s)://host:port, got {url!r}")
    return url


def _default_output() -> Path:
    return Path.cwd() / time.strftime("ltx-%Y%m%d-%H%M%S.mp4")


async def _run_job(handler, job: dict, on_cancel) -> dict | None:
    """Await the job; the first Ctrl-C cancels it (the handler stops the prompt in ComfyUI),
    a second exits at once. Returns None when cancelled."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(handler(job))
    presses = 0

    def interrupt() -> None:
        nonlocal presses
        presses += 1
        if presses > 1:
            os._exit(130)
        on_cancel()
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    except (NotImplementedError, RuntimeError):  # not the main thread / no signals here
        pass
    try:
        return await task
    except asyncio.CancelledError:
        return None
    finally:
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError):
            pass


def cmd_generate(args: argparse.Namespace) -> int:
    """Run one job against ComfyUI with a progress bar; returns the exit status (module doc)."""
    from rich.console import Console

    from ..comfy.client import ComfyClient
    from ..config import ConfigError, load_settings
    from ..delivery.storage import LocalStorage
    from ..errors import WorkerError
    from ..handler import JobHandler
    from ..templates import TemplateError

    err = Console(stderr=True, soft_wrap=True)
    out = Console()
    # force: importing the RunPod SDK already configured the root logger at INFO
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s", force=True)
    output = (args.output or _default_output()).expanduser().resolve()
    if output.suffix.lower() != ".mp4":
        output = output.with_name(output.name + ".mp4")
    try:
        image = image_source(args.image) if args.image else None
        files = input_files(args)
        overrides: dict = {"output_dir": output.parent, "webhook_url": None,
                           "comfy_ready_timeout_s": args.ready_timeout}
        if args.timeout:
            overrides["job_deadline_s"] = args.timeout
        settings = load_settings(**overrides)
        url = _comfy_base(args, settings)
    except (ConfigError, ValueError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    editing = "video_url" in files
    if editing != (args.retake is not None or args.extend is not None):
        err.print("error: --edit-video goes with one of --retake or --extend", markup=False)
        return 2

    client = ComfyClient(url, settings.comfy_request_timeout_s)
    view = _ProgressView(err)
    try:
        handler = JobHandler(settings, client=client, storage=LocalStorage(), progress_sink=view)
    except TemplateError as exc:  # a broken template or bindings file in WORKFLOWS_DIR
        err.print(f"error: {exc} (ltx-worker templates check shows every problem)", markup=False)
        return 2
    try:
        with err.status(f"waiting for ComfyUI at {url}...", spinner="dots"):
            handler.start()
    except WorkerError as exc:
        err.print(f"error {exc.code.value}: {exc.message}", markup=False, highlight=False)
        if exc.code.value == "COMFY_UNAVAILABLE":
            err.print(f"Is ComfyUI running at {url}? Start it (./entrypoint.sh, or ComfyUI's main.py with "
                      "the project's custom_nodes) or pass --comfy-url.", markup=False, highlight=False)
        return 1

    served = sorted({m for t in handler.templates.templates for m, _ in t.serves})
    variant = cli_variant(args)
    model = args.model or default_model(handler, bool(image), variant, "edit" if editing else None)
    if model not in served:
        known = {m for t in handler.all_templates.templates for m, _ in t.serves}
        if model not in known:
            why = f"no workflow template in {settings.workflows_dir} serves it"
        else:
            family = handler.families.family_of(model)
            why = (f"it lacks nodes {family.name}'s workflows need (ComfyUI 0.33.0 with the project's "
                   "node pack runs every family)")
        fitting = [m for m in served if m.endswith("i2v") == bool(image)]
        hint = f" Use --model {fitting[0]}." if fitting else ""
        err.print(f"error: ComfyUI {handler.comfyui_version} at {url} cannot run {model}: {why}. "
                  f"Models it can run: {', '.join(served) or 'none'}.{hint}", markup=False, highlight=False)
        return 1
    if editing != (handler.families.family_of(model).models[model] == "edit"):
        err.print(f"error: {model} {'does not edit' if editing else 'edits'} a video: "
                  f"{'drop --edit-video' if editing else 'pass --edit-video with --retake or --extend'}", markup=False)
        return 2
    if model.endswith("i2v") and image is None:
        err.print(f"error: {model} makes a video from a start image: pass --image PATH_OR_URL", markup=False)
        return 2
    if model.endswith("t2v") and image is not None:
        i2v = model.replace("t2v", "i2v")
        err.print(f"error: {model} takes no start image: drop --image or use --model {i2v}", markup=False)
        return 2

    job_id = "cli-" + uuid.uuid4().hex[:12]
    job = {"id": job_id, "input": job_input(args, model, image, files)}
    length = f"{args.duration} s" if "duration" in job["input"] else "length of the input"
    shape = ("retake" if args.retake else f"extend at the {args.at}") if editing else \
        f"{args.resolution or '720p'} {args.aspect_ratio} {length}"
    err.print(f"{model} {args.quality}{f' ({variant})' if variant else ''} {shape} "
              f"on ComfyUI {handler.comfyui_version} at {url}", markup=False, highlight=False)
    with view:
        result = asyncio.run(_run_job(
            handler, job, lambda: err.print("cancelling: stopping the prompt in ComfyUI...", markup=False)))
    if result is None:
        err.print("cancelled", markup=False)
        return 130
    if "error" in result:
        try:
            info = json.loads(result["error"])
        except (TypeError, ValueError):
            info = {"code": result.get("error_code", "ERROR"), "message": str(result["error"])}
        retry = " (a retry may succeed)" if info.get("retryable") else ""
        err.print(f"error {info.get('code')}: {info.get('message')}{retry}", markup=False, highlight=False)
        return 1

    video, poster = _place(result, output)
    out.print(_facts_table(result, video, poster))
    return 0


def default_model(handler, i2v: bool, variant: str | None, mode: str | None = None) -> str:
    """The model ``--model`` defaults to: the newest family's i2v (or t2v, or `mode`: ``edit``)
    model this worker serves in `variant`; ``ltx-2-i2v``/``ltx-2-t2v`` when none does (the
    error then says why)."""
    mode = mode or ("i2v" if i2v else "t2v")
    if variant:
        served = {m for m, _, v in handler.served_variants if v == variant}
    else:
        served = {m for m, _ in handler.served}
    fitting = [m for m in handler.families.model_ids if m in served and handler.families.family_of(m).models[m] == mode]
    return fitting[-1] if fitting else f"ltx-2-{mode}"


def _place(result: dict, output: Path) -> tuple[Path, Path | None]:
    """Move the handler's ``<job id>.mp4``/``.jpg`` to `output` and `output` with ``.jpg``."""
    video = Path(result["video_path"])
    if video != output:
        video = video.replace(output)
    poster = Path(result["poster_path"]) if result.get("poster_path") else None
    if poster is not None and poster.is_file():
        target = output.with_suffix(".jpg")
        poster = poster.replace(target) if poster != target else poster
    return video, poster


if __name__ == "__main__":  # python -m ltx_worker.cli.generate ...
    from ltx_worker.cli import main

    sys.exit(main(["generate", *sys.argv[1:]]))
