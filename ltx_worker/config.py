"""All of the worker's configuration, read from the environment in one place.

`load_settings()` validates every value at start and raises `ConfigError` with one line per
wrong variable, naming it. Nothing else in the package reads ``os.environ`` for settings
(the RunPod SDK reads its own RUNPOD_* variables).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository root (handler.py, workflows/ and custom_nodes/ live here).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration value is wrong; the message names each variable at fault."""


class Settings(BaseSettings):
    """Worker settings; each field is the environment variable of the same name, upper-cased."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", env_ignore_empty=True)

    comfy_host: str = Field("127.0.0.1", description="ComfyUI server host")
    comfy_port: int = Field(8188, ge=1, le=65535, description="ComfyUI server port")
    comfy_ready_timeout_s: float = Field(
        180.0, gt=0, description="how long to wait for ComfyUI to answer at start (seconds)"
    )
    comfy_recover_timeout_s: float = Field(
        60.0, gt=0, description="how long a job waits for a restarting ComfyUI (seconds)"
    )
    comfy_request_timeout_s: float = Field(
        30.0, gt=0, description="timeout of one HTTP request to ComfyUI (seconds)"
    )
    job_deadline_s: float = Field(
        3600.0, gt=0, description="longest a job may run in ComfyUI before it fails (seconds)"
    )
    comfyui_dir: Path | None = Field(None, description="ComfyUI's tree (set by entrypoint.sh)")
    comfy_input_dir: Path | None = Field(None, description="ComfyUI's input folder if not <tree>/input")
    comfy_output_dir: Path | None = Field(None, description="ComfyUI's output folder if not <tree>/output")
    models_required: Literal["all", "available"] = Field(
        "all",
        description='"all": refuse to start when a template\'s model file is missing; "available": '
        "serve what the files allow and fail the other jobs with MODEL_MISSING",
    )
    warmup: bool = Field(False, description="run one small job at start so models are loaded")
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

    # -- object storage (SPEC.md "Configuration"; unset BUCKET_NAME = files stay in OUTPUT_DIR) --
    bucket_endpoint_url: str | None = Field(
        None, pattern=r"^https?://", description="S3-compatible endpoint (R2, GCS interop, OCI...)"
    )
    bucket_name: str | None = Field(None, min_length=3, max_length=63)
    bucket_access_key_id: SecretStr | None = None
    bucket_secret_access_key: SecretStr | None = None
    bucket_region: str = Field("auto", description='region; "auto" for R2')
    bucket_key_prefix: str = Field(
        "ltx-worker/", pattern=r"^[A-Za-z0-9!_.*'()/-]*$", description="prefix of every object key"
    )
    bucket_public_base_url: str | None = Field(
        None, pattern=r"^https?://", description="public URL of the bucket; presigned URLs if unset"
    )
    bucket_presign_expiry_s: int = Field(
        7 * 24 * 3600, ge=60, le=7 * 24 * 3600, description="lifetime of presigned URLs (seconds)"
    )
    bucket_path_style: bool = Field(False, description="path-style addressing (MinIO, OCI, moto)")
    bucket_max_attempts: int = Field(
        4, ge=1, le=10, description="attempts per S3 request (botocore standard retries)"
    )
    bucket_multipart_threshold_mb: int = Field(
        64, ge=5, description="files above this size are uploaded in parts (MiB)"
    )

    # -- webhooks (Standard Webhooks) -----------------------------------------------------------
    webhook_url: str | None = Field(
        None, pattern=r"^https?://", description="default backend webhook for every job"
    )
    webhook_secret: SecretStr | None = Field(
        None, description="Standard Webhooks secret, whsec_<base64>; required to send webhooks"
    )
    webhook_attempt_timeout_s: float = Field(10.0, gt=0, description="timeout of one attempt")
    webhook_max_attempts: int = Field(5, ge=1, le=20, description="attempts per delivery")
    webhook_max_total_s: float = Field(
        30.0, gt=0, description="bound on one delivery, retries included (seconds)"
    )

    # -- progress and output --------------------------------------------------------------------
    progress_interval_s: float = Field(
        0.25, ge=0, description="least time between two progress updates to RunPod (seconds)"
    )
    inline_max_bytes: int = Field(
        10 * 1024 * 1024, ge=0, description="largest video returned as base64 when asked (bytes)"
    )
    gpu_price_per_hour: float | None = Field(
        None, ge=0, description="price of this worker's GPU per hour (USD); the result then carries the job's cost"
    )
    runpod_webhook_post_output: str | None = Field(
        None, description="set by RunPod in its worker loop; progress updates go there"
    )

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_is_base64(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        raw = value.get_secret_value().removeprefix("whsec_")
        try:
            if len(base64.b64decode(raw, validate=True)) < 16:
                raise ValueError("the secret must hold at least 16 bytes")
        except (binascii.Error, ValueError):
            raise ValueError("must be whsec_ followed by base64 of at least 16 bytes") from None
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_URL is set but WEBHOOK_SECRET is not: webhooks are always signed")
        return self

    @property
    def storage_enabled(self) -> bool:
        """Whether results go to object storage (BUCKET_NAME is set)."""
        return bool(self.bucket_name)

    @property
    def comfy_input_path(self) -> Path | None:
        """ComfyUI's input folder (where uploads land), or None when unknown."""
        return self.comfy_input_dir or (self.comfyui_dir / "input" if self.comfyui_dir else None)

    @property
    def comfy_output_path(self) -> Path | None:
        """ComfyUI's output folder (where SaveVideo writes), or None when unknown."""
        return self.comfy_output_dir or (self.comfyui_dir / "output" if self.comfyui_dir else None)

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
            (f"{'.'.join(str(p) for p in e['loc']).upper()}: " if e["loc"] else "")
            + e["msg"].removeprefix("Value error, ")
            for e in err.errors(include_url=False)
        ]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
