"""The job options of ``ltx-worker generate``: command-line values -> the job's ``input`` dict.

Files given as paths become data: URIs (`image_source`); ``--keyframe IMAGE@POS[:STRENGTH]``
becomes a ``keyframes`` entry; the mode options (``--last-image``, ``--keyframe``, ``--audio``,
``--control-video``/``--control``, ``--reference-audio``) pick the job's variant (`cli_variant`);
``--lora URL_OR_NAME[@STRENGTH]`` becomes a ``loras`` entry and ``--transition`` the style
transition of a first+last-frame job.
"""

from __future__ import annotations

import argparse
import base64
import mimetypes
from pathlib import Path

from ..contract.job import CAMERA_LORAS

CAMERAS = tuple(CAMERA_LORAS)


def camera(value: str) -> str:
    """``--camera``: a camera move, ``dolly-in`` spellings too."""
    name = value.strip().lower().replace("-", "_")
    if name not in CAMERA_LORAS:
        raise argparse.ArgumentTypeError(f"unknown camera move {value!r} (one of {', '.join(CAMERAS)})")
    return name


def keyframe(value: str) -> dict:
    """``IMAGE@POS[:STRENGTH]`` -> ``{"image": IMAGE, "at_s" or "frame": POS, "strength"?}``."""
    image, sep, where = value.rpartition("@")
    if not sep or not image:
        raise argparse.ArgumentTypeError(f"{value!r}: expected IMAGE@POS[:STRENGTH], e.g. mid.png@2.5s:0.8")
    position, _, strength = where.partition(":")
    try:
        key: dict = ({"at_s": float(position[:-1])} if position.lower().endswith("s")
                     else {"frame": int(position)})
        if strength:
            key["strength"] = float(strength)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: POS is seconds (2.5s) or a frame (40); "
                                         f"STRENGTH a number") from None
    return {"image": image, **key}


def lora(value: str) -> dict:
    """``--lora URL_OR_NAME[@STRENGTH]`` -> a ``loras`` entry: ``{"url"|"name": ..., "strength"?}``
    (an http(s) URL, else a name of ``ltx-worker loras list``)."""
    head, sep, tail = value.rpartition("@")
    try:
        source, strength = (head, float(tail)) if sep else (value, None)
    except ValueError:  # an '@' of the URL itself
        source, strength = value, None
    if not source:
        raise argparse.ArgumentTypeError(f"{value!r}: expected URL_OR_NAME[@STRENGTH], e.g. ltx2-squish@0.8")
    entry: dict = {"url": source} if source.startswith(("http://", "https://")) else {"name": source}
    return entry if strength is None else {**entry, "strength": strength}


def image_source(value: str, option: str = "--image") -> str:
    """What a URL field gets for a file option (`option`, for errors): an http(s) URL or data:
    URI as given, a file as a ``data:<mime>;base64,...`` URI.

    Raises:
        ValueError: `value` is neither a URL nor a readable file.
    """
    if value.startswith(("http://", "https://", "data:")):
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValueError(f"{option}: no such file: {value}")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def cli_variant(args: argparse.Namespace) -> str | None:
    """The job variant the options ask for (`families.VARIANTS`), or None."""
    if getattr(args, "edit_video", None):
        return "edit"
    if args.last_image or args.keyframe:
        return "keyframes"
    if args.audio:
        return "audio"
    if getattr(args, "reference_audio", None):
        return "id-lora"
    if args.control_video or args.control:
        return f"control-{args.control}"
    return None


def input_files(args: argparse.Namespace) -> dict:
    """The URL fields for the file options (files become data: URIs); empty when none.

    Raises:
        ValueError: a named file does not exist.
    """
    fields: dict = {}
    if args.last_image:
        fields["last_image_url"] = image_source(args.last_image, "--last-image")
    if args.keyframe:
        fields["keyframes"] = [
            {"image_url": image_source(k["image"], "--keyframe"), **{x: k[x] for x in k if x != "image"}}
            for k in args.keyframe
        ]
    if args.audio:
        fields["audio_url"] = image_source(args.audio, "--audio")
        if args.audio_start:
            fields["audio_start_s"] = args.audio_start
    if args.control_video:
        fields["control_video_url"] = image_source(args.control_video, "--control-video")
    if args.control:
        fields["control"] = args.control
    if getattr(args, "reference_audio", None):
        fields["reference_audio_url"] = image_source(args.reference_audio, "--reference-audio")
    if getattr(args, "edit_video", None):
        fields["video_url"] = image_source(args.edit_video, "--edit-video")
    return fields


def retake_span(text: str) -> dict:
    """``--retake START:DURATION`` (seconds) as the job's ``retake`` (without ``replace``).

    Raises:
        argparse.ArgumentTypeError: not two numbers.
    """
    try:
        start, duration = (float(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give START:DURATION in seconds, e.g. 4:2.5") from None
    return {"start_s": start, "duration_s": duration}


def edit_input(args: argparse.Namespace, model: str, files: dict) -> dict:
    """An edit job's ``input`` (SPEC.md, version 3): the source (``--edit-video``), ``--retake``
    (with ``--replace``) or ``--extend`` (with ``--at``, ``--context``), and the fields an edit
    takes; ``--resolution`` only when given (the family's largest otherwise)."""
    spec: dict = {"model": model, "prompt": args.prompt, "quality": args.quality, **files}
    if args.retake is not None:
        spec["retake"] = {**args.retake, **({"replace": args.replace} if args.replace else {})}
    if args.extend is not None:
        spec["extend"] = {"duration_s": args.extend, "at": args.at,
                          **({"context_s": args.context} if args.context is not None else {})}
    for name in ("seed", "negative_prompt", "resolution"):
        if getattr(args, name, None) is not None:
            spec[name] = getattr(args, name)
    if args.enhance_prompt:
        spec["enhance_prompt"] = True
    if getattr(args, "lora", None):
        spec["loras"] = list(args.lora)
    return spec


def job_input(args: argparse.Namespace, model: str, image: str | None, files: dict | None = None) -> dict:
    """The job's ``input`` dict (SPEC.md, versions 1 to 3) from the command line; `files` are
    the URL fields of `input_files`. ``duration`` is left out when the video follows an audio or
    control video and ``--duration`` was not given (5 s otherwise). An edit (``--edit-video``)
    is `edit_input`."""
    files = files or {}
    if "video_url" in files:
        return edit_input(args, model, files)
    follows = "audio_url" in files or "control_video_url" in files
    spec: dict = {
        "model": model, "prompt": args.prompt, "quality": args.quality,
        "resolution": args.resolution or "720p", "aspect_ratio": args.aspect_ratio,
        "fps": args.fps, "audio": not args.no_audio, **files,
    }
    if args.duration is not None or not follows:
        spec["duration"] = args.duration if args.duration is not None else 5
    if args.enhance_prompt:
        spec["enhance_prompt"] = True
    if image is not None:
        spec["image_urls"] = [image]
        if args.image_strength is not None:
            spec["image_strength"] = args.image_strength
    if args.camera:
        spec["camera_lora"] = args.camera
        spec["camera_strength"] = args.camera_strength
    if args.seed is not None:
        spec["seed"] = args.seed
    if args.negative_prompt is not None:
        spec["negative_prompt"] = args.negative_prompt
    if getattr(args, "lora", None):
        spec["loras"] = list(args.lora)
    if getattr(args, "transition", False):
        spec["transition"] = True
    return spec
