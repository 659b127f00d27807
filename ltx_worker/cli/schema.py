"""``ltx-worker schema``: print the JSON Schema of the job input and output (`contract.schema`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``schema`` sub-command."""
    p = subparsers.add_parser("schema", help="JSON Schema of the job input and output",
                              description="Print the JSON Schemas of the job input, output and error, "
                                          "generated from the models that validate jobs, with each model "
                                          "id's family rules.")
    p.add_argument("--part", choices=["all", "input", "output", "error", "models"], default="all",
                   help="print only this part (default: all, one JSON object)")
    p.add_argument("--workflows", type=Path, default=None,
                   help="the workflows folder whose families to describe (default WORKFLOWS_DIR)")
    p.set_defaults(func=cmd_schema)


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the schema; returns 0."""
    from ..contract.schema import job_schemas
    from ..families import FamilyRegistry
    from ..paths import WORKFLOWS_DIR

    schemas = job_schemas(FamilyRegistry.load(args.workflows or WORKFLOWS_DIR))
    print(json.dumps(schemas if args.part == "all" else schemas[args.part], indent=2))
    return 0
