"""An example studio backend on ltx-worker: FastAPI + SQLAlchemy + the ``ltx_video_client`` package.

``create_app(Settings(...))`` builds the app (nothing is created at import time); ``python -m
examples.studio_backend`` serves it with uvicorn. See README.md in this folder.
"""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
