"""All of the worker's configuration, read from the environment in one place.

`load_settings()` validates every value at start and raises `ConfigError` with one line per
wrong variable, naming it. Nothing else in the package reads ``os.environ`` for settings
(the RunPod SDK reads its own RUNPOD_* variables).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository root (handler.py, workflows/ and custom_nodes/ live here).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration value is wrong; the message names each variable at fault."""


class Settings(BaseSettings):
    """Worker settings; each field is the environment variable of the same name, upper-cased."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    comfy_host: str = Field("127.0.0.1", description="ComfyUI server host")
    comfy_port: int = Field(8188, ge=1, le=65535, description="ComfyUI server port")
    comfy_ready_timeout_s: float = Field(
        180.0, gt=0, description="how long to wait for ComfyUI to answer at start (seconds)"
    )
    comfy_request_timeout_s: float = Field(
        30.0, gt=0, description="timeout of one HTTP request to ComfyUI (seconds)"
    )
    job_deadline_s: float = Field(
        3600.0, gt=0, description="longest a job may run in ComfyUI before it fails (seconds)"
    )
    workflows_dir: Path = Field(PROJECT_ROOT / "workflows", description="API-format templates")
    output_dir: Path = Field(
        PROJECT_ROOT / "output", description="where finished videos are written (no storage)"
    )
    max_image_bytes: int = Field(
        25 * 1024 * 1024, gt=0, description="largest start image accepted (bytes)"
    )
    max_image_pixels: int = Field(
        40_000_000, gt=0, description="largest start image accepted (pixels, decompression bombs)"
    )
    image_fetch_timeout_s: float = Field(30.0, gt=0, description="start image download timeout")
    log_level: str = Field("INFO", pattern=r"(?i)^(DEBUG|INFO|WARNING|ERROR)$")

    @property
    def comfy_url(self) -> str:
        """Base HTTP URL of the ComfyUI server, e.g. ``http://127.0.0.1:8188``."""
        return f"http://{self.comfy_host}:{self.comfy_port}"


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings from the environment (keyword overrides win).

    Raises:
        ConfigError: one line per wrong variable, e.g. ``COMFY_PORT: Input should be ...``.
    """
    try:
        return Settings(**overrides)
    except ValidationError as err:
        lines = [
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in err.errors(include_url=False)
        ]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
