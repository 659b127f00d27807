"""The files a job leaves in ComfyUI's folders and OUTPUT_DIR, and their removal."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from .config import Settings

log = logging.getLogger(__name__)


def remove_job_files(settings: Settings, tag: str, keep: frozenset[Path] = frozenset()) -> None:
    """Remove the files of the job tagged `tag` from ComfyUI's input/output folders and the
    worker's OUTPUT_DIR, whatever way the job ended.

    Only names the worker made are touched: ``ltxw-<tag>-*`` in the input folder,
    ``ltxw/<tag>-<run>_<counter>_.<ext>`` in the output folder (SaveVideo's pattern; ``<run>``
    is 8 hex digits new for every run of the job) and
    ``<tag>.mp4`` / ``<tag>.jpg`` in OUTPUT_DIR, except the files in `keep`: the video and
    poster a successful job delivers as local paths (no bucket configured; SPEC.md
    "Configuration"). After an upload that failed, a probe or poster that failed, a cancel
    or SIGTERM nothing of the job stays on the disk (issue 23, finding 8). Never raises.
    """
    input_dir, output_dir = settings.comfy_input_path, settings.comfy_output_path
    doomed: list[Path] = []
    if input_dir is not None:
        doomed += input_dir.glob(f"ltxw-{tag}-*")
    if output_dir is not None:
        pattern = re.compile(rf"{re.escape(tag)}-[0-9a-f]{{8}}_\d+_?\.\w+")
        doomed += [p for p in (output_dir / "ltxw").glob(f"{tag}-*") if pattern.fullmatch(p.name)]
    out_dir = Path(settings.output_dir)
    doomed += [p for p in (out_dir / f"{tag}.mp4", out_dir / f"{tag}.jpg") if p.resolve() not in keep]
    for path in doomed:
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            log.warning("could not remove %s: %s", path, err)
