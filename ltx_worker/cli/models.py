"""``ltx-worker models list|download|verify``: the model files of models.txt, per profile.

* ``list``: what the chosen profiles need, each file's size and whether it is in the models
  folder (present / missing / wrong size; no hashing), and the bytes still to download.
* ``download``: fetch what is missing from the Hugging Face Hub (ltx_worker.models.download),
  ``--jobs`` files at a time, check size and sha256; exit 1 when any file fails.
* ``verify``: hash every file of the profiles; exit 1 when one is missing or has the wrong size or
  hash ("unverified", a file models.txt has no hash for, is reported but does not fail).

Common options: ``--profile fast,pro`` (comma-separated, repeatable; default fast), ``--models-dir``
(a ComfyUI models/ folder; default $COMFYUI_DIR/models, else ./models) and ``--models-txt``
(default the repository's models.txt). Output is plain aligned text, readable in logs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..models.manifest import (
    MISSING,
    SIZE_MISMATCH,
    UNVERIFIED,
    ModelFile,
    check_file,
    human_size,
    load_models_txt,
    parse_profiles,
    profile_names,
    select,
    verify_file,
)
from ..paths import MODELS_TXT


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``models`` command and its ``list``, ``download`` and ``verify`` sub-commands."""
    models = subparsers.add_parser("models", help="list, download or verify the model files",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    for name, func, text in (
        ("list", cmd_list, "what the profiles need and what is missing"),
        ("download", cmd_download, "download missing files and check them"),
        ("verify", cmd_verify, "check size and sha256 of every file"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--profile", action="append", metavar="NAMES",
                       help=f"comma-separated profiles, repeatable ({', '.join(profile_names())}; default fast)")
        p.add_argument("--models-dir", type=Path, default=None,
                       help="a ComfyUI models/ folder (default $COMFYUI_DIR/models, else ./models)")
        p.add_argument("--models-txt", type=Path, default=MODELS_TXT,
                       help="the models list (default: the repository's models.txt)")
        if name == "download":
            p.add_argument("--jobs", type=int, default=4, help="files downloaded at once (default 4)")
        p.set_defaults(func=func)


def _entries(args: argparse.Namespace) -> tuple[list[ModelFile], Path, list[str]]:
    """The selected entries, the models folder and the profile names.

    Raises:
        SystemExit: 2 (after printing the error) for an unknown profile, an unreadable
            models.txt or a malformed line (``models.txt:<n>: ...``).
    """
    try:
        profiles = parse_profiles(args.profile or ["fast"])
        entries = select(load_models_txt(args.models_txt), profiles)
    except (ValueError, OSError) as err:  # ModelsFileError (a ValueError) names file and line
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    models_dir = args.models_dir
    if models_dir is None:
        comfyui = os.environ.get("COMFYUI_DIR")  # a CLI default, not a worker setting
        models_dir = Path(comfyui) / "models" if comfyui else Path("models")
    return entries, models_dir, sorted(profiles, key=profile_names().index)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def cmd_list(args: argparse.Namespace) -> int:
    """Print the files the profiles need with size and presence; returns 0."""
    entries, models_dir, profiles = _entries(args)
    rows = [("FILE", "SIZE", "STATUS", "PROFILES")]
    missing_bytes, unknown, missing = 0, 0, 0
    for e in entries:
        check = check_file(e, models_dir / e.relpath, hash_it=False)
        status = {MISSING: "missing", SIZE_MISMATCH: "wrong size"}.get(check.status, "present")
        if status != "present":
            missing += 1
            if e.size is None:
                unknown += 1
            else:
                missing_bytes += e.size
        rows.append((e.relpath, human_size(e.size), status, ",".join(sorted(e.profiles & set(profiles)))))
    print(f"profiles: {','.join(profiles)}   models dir: {models_dir}")
    print(_table(rows))
    extra = f" (+{unknown} of unknown size)" if unknown else ""
    print(f"{len(entries)} files, {missing} missing: {human_size(missing_bytes)} to download{extra}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Hash every file of the profiles; returns 1 when any is missing or wrong, else 0."""
    entries, models_dir, profiles = _entries(args)
    print(f"profiles: {','.join(profiles)}   models dir: {models_dir}", flush=True)
    failed = 0
    for e in entries:
        check = verify_file(e, models_dir)
        failed += check.failed
        detail = f" ({check.detail})" if check.detail else ""
        print(f"{check.status.upper():<14} {e.relpath}{detail}", flush=True)
    unverified = sum(1 for e in entries if e.sha256 is None)
    print(f"{len(entries)} files: {failed} failed"
          + (f", {unverified} without a sha256 in models.txt ({UNVERIFIED})" if unverified else ""))
    return 1 if failed else 0


def cmd_download(args: argparse.Namespace) -> int:
    """Download what is missing and check it; returns 1 when any file fails, else 0."""
    from ..models.download import ERROR, download_all  # huggingface_hub only when needed

    entries, models_dir, profiles = _entries(args)
    if args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    if not sys.stderr.isatty():
        from huggingface_hub.utils import disable_progress_bars
        disable_progress_bars()
    print(f"profiles: {','.join(profiles)}   models dir: {models_dir}   jobs: {args.jobs}", flush=True)

    def report(r) -> None:
        print(f"{r.status.upper():<10} {r.entry.relpath}: {r.message}", flush=True)

    results = download_all(entries, models_dir, args.jobs, report)
    errors = [r for r in results if r.status == ERROR]
    pins = [r.pin_line for r in results if r.pin_line]
    if pins:
        print("\nNot pinned in models.txt; what the Hub served (paste into models.txt to pin):")
        print("\n".join(pins))
    print(f"\n{len(results)} files: {len(results) - len(errors)} ok, {len(errors)} failed")
    for r in errors:
        print(f"error: {r.entry.relpath}: {r.message}", file=sys.stderr)
    return 1 if errors else 0
