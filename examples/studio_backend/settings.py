"""The studio backend's settings, read from the environment (pydantic-settings; names are case-insensitive).

| variable          | default                      | meaning                                                     |
|-------------------|------------------------------|-------------------------------------------------------------|
| DATABASE_URL      | ``sqlite:///./studio.db``    | SQLAlchemy URL; ``postgresql+psycopg://...`` works the same |
| LTX_ENDPOINT_ID   | (required)                   | the RunPod endpoint running ltx-worker                      |
| RUNPOD_API_KEY    | (required)                   | a RunPod API key that may use it                            |
| RUNPOD_BASE_URL   | ``https://api.runpod.ai/v2`` | RunPod's endpoint API (a stand-in in tests)                 |
| WEBHOOK_SECRET    | (required)                   | the worker's WEBHOOK_SECRET, ``whsec_<base64>``             |
| PUBLIC_URL        | ``http://localhost:8000``    | this app's public base URL; webhooks go to ``/webhooks/ltx``  |
| QUOTE_GPU         | ``H100``                     | the GPU quotes are priced on (`ltx_video_client.GPU_PRICES`) |
| HOST, PORT        | ``127.0.0.1``, ``8000``      | where ``python -m examples.studio_backend`` listens         |
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

RUNPOD_API = "https://api.runpod.ai/v2"


class Settings(BaseSettings):
    """The app's configuration (module docstring); pass values as keyword arguments to override the environment."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = "sqlite:///./studio.db"
    ltx_endpoint_id: str
    runpod_api_key: str
    runpod_base_url: str = RUNPOD_API
    webhook_secret: str
    public_url: str = "http://localhost:8000"
    quote_gpu: str = "H100"
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def webhook_url(self) -> str:
        """Where the worker posts each job's signed event: ``<PUBLIC_URL>/webhooks/ltx``."""
        return f"{self.public_url.rstrip('/')}/webhooks/ltx"
