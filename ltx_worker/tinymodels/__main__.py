"""``python -m ltx_worker.tinymodels --comfyui-dir DIR --models-dir DIR [--family ltxv ltx2 ltx23 ltx25]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import GENERATORS, write_tiny_models


def main(argv: list[str] | None = None) -> int:
    """Write the tiny models and print each file written."""
    parser = argparse.ArgumentParser(prog="python -m ltx_worker.tinymodels", description=__doc__)
    parser.add_argument("--comfyui-dir", type=Path, required=True, help="the ComfyUI tree to build with")
    parser.add_argument("--models-dir", type=Path, required=True, help="ComfyUI-style models folder")
    parser.add_argument("--family", nargs="+", choices=list(GENERATORS),
                        help="families to write (default: every one the tree supports)")
    args = parser.parse_args(argv)
    families = tuple(args.family) if args.family else None
    for path in write_tiny_models(args.comfyui_dir, args.models_dir, families):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
