"""Regenerate ``src/ltx_video_client/rules.json`` from the worker of this repository.

    python clients/python/tools/generate_rules.py           # write it
    python clients/python/tools/generate_rules.py --check   # exit 1 when the shipped file differs

It runs ``python -m ltx_worker.cli schema --part models`` (the worker's per-model rules, from
``workflows/*/family.json`` and models.txt) in the repository root with the given interpreter
(default: this one; it needs the worker installed, e.g. the repository's ``.venv``) and stores
its output as it is.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
RULES_JSON = HERE.parent / "src" / "ltx_video_client" / "rules.json"


def worker_models_json(python: str = sys.executable, repo_root: Path = REPO_ROOT) -> str:
    """What the worker prints for ``ltx-worker schema --part models`` (JSON text, indent 2, newline-ended).

    Raises:
        subprocess.CalledProcessError: the worker's command failed (its stderr is in the exception).
    """
    done = subprocess.run([python, "-m", "ltx_worker.cli", "schema", "--part", "models"], cwd=repo_root,
                          check=True, capture_output=True, text=True)
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when rules.json is stale")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that has ltx_worker")
    args = parser.parse_args(argv)
    text = worker_models_json(args.python)
    if args.check:
        if RULES_JSON.read_text() != text:
            print(f"{RULES_JSON} differs from `ltx-worker schema --part models`; run {Path(__file__).name}",
                  file=sys.stderr)
            return 1
        return 0
    RULES_JSON.write_text(text)
    print(f"wrote {RULES_JSON} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
