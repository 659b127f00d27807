"""``python -m ltx_worker.cli ...``: the same as the ``ltx-worker`` command."""

import sys

from . import main

sys.exit(main())
