"""The ``ltx-worker`` command line: one entry point, one sub-command module each.

Each module named in `_COMMAND_MODULES` exposes ``register(subparsers)``, which adds its
sub-command(s) and sets ``func`` (``func(args) -> int`` exit status) on the parser. Modules are
imported only when the command line is built, so importing the package stays side-effect free.
"""

from __future__ import annotations

import argparse
import importlib

#: Sub-command modules (inside this package), in the order `--help` lists them.
_COMMAND_MODULES = ("generate", "serve", "templates", "models", "loras", "schema")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="ltx-worker", description="LTX-2 video worker for RunPod serverless (ComfyUI)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 usage error)."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


