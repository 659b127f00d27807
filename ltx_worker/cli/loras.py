"""``ltx-worker loras``: the named LoRAs a job can ask for, and where the LoRA cache is.

``loras list`` prints the named LoRAs (models.txt ``lora=`` lines, `loras.named`): name, family,
trigger word, file and the profile that downloads it (``ltx-worker models download --profile``);
with ``--models-dir`` also whether that folder holds the file. ``loras cache-dir`` prints the LoRA
cache's folder (LORA_CACHE_DIR or its default; scripts/comfy_args.sh registers it with ComfyUI as
a loras folder).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``loras`` command and its ``list`` and ``cache-dir`` sub-commands."""
    loras = subparsers.add_parser("loras", help="named LoRAs and the LoRA cache", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = loras.add_subparsers(dest="loras_command", required=True, metavar="ACTION")
    p = sub.add_parser("list", help="the LoRAs a job can name", description="the LoRAs a job can name")
    p.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    p.add_argument("--models-dir", type=Path, default=None,
                   help="a ComfyUI models/ folder: also say whether it holds each file")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("cache-dir", help="print the LoRA cache's folder",
                       description="print the LoRA cache's folder (LORA_CACHE_DIR or its default)")
    p.set_defaults(func=cmd_cache_dir)


def cmd_list(args: argparse.Namespace) -> int:
    """Print the named LoRAs; returns 0."""
    from ..loras.named import default_named_loras

    rows = []
    for lora in sorted(default_named_loras().values(), key=lambda x: (x.family, x.name)):
        row = {"name": lora.name, "family": lora.family, "trigger": lora.trigger, "file": f"loras/{lora.filename}",
               "profile": lora.profile}
        if args.models_dir is not None:
            row["present"] = (args.models_dir / "loras" / lora.filename).is_file()
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        extra = f"  {'present' if row['present'] else 'missing'}" if "present" in row else ""
        print(f"{row['name']:<20} {row['family']:<6} trigger {row['trigger'] or '-'!r:<14} {row['file']} "
              f"(profile {row['profile']}){extra}")
    return 0


def cmd_cache_dir(args: argparse.Namespace) -> int:
    """Print the LoRA cache's folder; returns 0."""
    from ..config import load_settings

    print(load_settings().lora_cache_path)
    return 0
