"""Where the repository's own files are: the one module that knows the checkout's layout.

It imports nothing of the package, so any module (config, models.manifest, the CLI) can take
its paths from here without an import cycle (tests/test_imports.py).
"""

from __future__ import annotations

from pathlib import Path

#: The repository root (handler.py, workflows/, custom_nodes/ and models.txt live here).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The family folders (``workflows/<family>/family.json``, templates and bindings).
WORKFLOWS_DIR = PROJECT_ROOT / "workflows"
#: The list of every real model file (SPEC.md "Models and deployment").
MODELS_TXT = PROJECT_ROOT / "models.txt"
