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
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .config_rules import HOST_PATTERN, host_matches, resolve_bucket_region, storage_problems
from .paths import PROJECT_ROOT, WORKFLOWS_DIR


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
        "available",
        description='"available": serve every model whose files are there (baked in or on the volume), '
        'fail the other jobs with MODEL_MISSING, refuse to start only when nothing can be served; '
        '"all": refuse to start when any template\'s model file is missing',
    )
    warmup: bool = Field(False, description="run one small job at start so models are loaded")
    workflows_dir: Path = Field(WORKFLOWS_DIR, description="API-format templates")
    output_dir: Path = Field(
        PROJECT_ROOT / "output", description="where finished videos are written (no storage)"
    )
    max_image_bytes: int = Field(
        25 * 1024 * 1024, gt=0, description="largest start image accepted (bytes)"
    )
    max_image_pixels: int = Field(
        40_000_000, gt=0, description="largest start image accepted (pixels, decompression bombs)"
    )
    image_fetch_timeout_s: float = Field(30.0, gt=0, description="download timeout of each input file (s)")
    max_audio_bytes: int = Field(50 * 1024 * 1024, gt=0, description="largest audio_url file (bytes)")
    max_audio_s: float = Field(60.0, gt=0, description="longest audio_url file (seconds)")
    min_audio_s: float = Field(1.0, gt=0, description="shortest audio the video may follow (seconds)")
    max_video_bytes: int = Field(200 * 1024 * 1024, gt=0, description="largest control_video_url file (bytes)")
    max_video_s: float = Field(120.0, gt=0, description="longest control video (seconds, as declared)")
    max_video_frames: int = Field(3000, gt=0, description="most frames a control video may declare or decode")
    max_video_pixels: int = Field(
        3840 * 2160, gt=0, description="largest control video frame (pixels, as declared in its stream)"
    )
    log_level: str = Field("INFO", pattern=r"(?i)^(DEBUG|INFO|WARNING|ERROR)$")

    # -- object storage (SPEC.md "Configuration"; unset BUCKET_NAME = files stay in OUTPUT_DIR) --
    bucket_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint (R2, GCS interop, OCI...); unset = AWS S3"
    )
    bucket_name: str | None = Field(None, min_length=3, max_length=63)
    bucket_access_key_id: SecretStr | None = None
    bucket_secret_access_key: SecretStr | None = None
    bucket_region: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description='region; unset = derived (`resolve_bucket_region`): AWS_REGION, AWS_DEFAULT_REGION '
        'or us-east-1 for AWS S3, the region in an AWS or OCI endpoint\'s host, else "auto" (R2, GCS)',
    )
    bucket_key_prefix: str = Field(
        "ltx-worker/", pattern=r"^[A-Za-z0-9!_.*'()/-]*$", description="prefix of every object key"
    )
    bucket_public_base_url: str | None = Field(
        None, description="public URL of the bucket; presigned URLs if unset"
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
    webhook_allowed_hosts: str | None = Field(
        None, description="hosts a job's webhook_url may name, comma-separated (exact, any case; *.example.com: "
        "any name below example.com); unset = WEBHOOK_URL's host, else any public host (issue 23, finding 6)")

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

    # -- models fetched at start (docs/deploy.md "Models fetched at start") ---------------------
    models_fetch_profiles: str | None = Field(
        None, description="models.txt profiles to download at start when missing, comma-separated "
        "(e.g. fast,camera); unset = fetch nothing"
    )
    models_fetch_dir: Path = Field(
        Path("/runpod-volume/models"),
        description="a ComfyUI models/ folder on the network volume that the fetch fills",
    )
    models_fetch_unpinned: bool = Field(
        False, description="also fetch models.txt entries without a size and sha256 (checked against "
        "the Hub's own hash at the named revision only); default: such entries are refused by name"
    )
    # -- a job's own LoRAs (docs/loras.md) -------------------------------------------------------
    lora_max_bytes: int = Field(2 << 30, gt=0, description="largest LoRA file a job's url may give (bytes)")
    lora_fetch_timeout_s: float = Field(600.0, gt=0, description="download timeout of each LoRA file (s)")
    lora_cache_dir: Path | None = Field(
        None, description="the LoRA cache, shared by the workers on a volume; default: loras-cache beside "
        "MODELS_FETCH_DIR when that volume is mounted, else ~/.cache/ltx-worker/loras"
    )
    lora_cache_bytes: int = Field(50 << 30, gt=0, description="size the LoRA cache is evicted down to (bytes)")
    lora_cache_min_age_s: float = Field(
        600.0, ge=0, description="a cached LoRA used more recently than this is never evicted (s)"
    )
    runpod_init_timeout: float = Field(
        420.0, gt=0, description="RunPod's start-up limit (its own variable, 7 min by default); "
        "the worker only reads it to warn when a fetch at start will not fit in it (seconds)"
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

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _host_list(cls, value: str | None) -> str | None:
        """Lower-cased names (or ``*.suffix`` patterns), each once; no scheme, port, path or ``*``."""
        if value is None:
            return None
        names = []
        for raw in value.split(","):
            name = raw.strip().lower().rstrip(".")
            if not name:
                continue
            if not HOST_PATTERN.fullmatch(name.strip("[]")):
                raise ValueError(f"{raw.strip()!r} is not a host name or *.suffix pattern (no scheme, port or "
                                 "path; for any public host leave WEBHOOK_ALLOWED_HOSTS and WEBHOOK_URL unset)")
            names.append(name.strip("[]"))
        return ",".join(dict.fromkeys(names)) or None

    @field_validator("bucket_endpoint_url", "bucket_public_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL (https://host[/path])")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r} has a query or fragment; give the plain URL")
        return value

    @field_validator("models_fetch_profiles")
    @classmethod
    def _profile_list(cls, value: str | None) -> str | None:
        """Names only, comma-separated, each once; whether models.txt knows them is checked where
        models.txt is read (`models.prefetch.check_fetch_profiles`), not here."""
        if value is None:
            return None
        names = dict.fromkeys(p.strip() for p in value.split(",") if p.strip())
        return ",".join(names) or None

    @model_validator(mode="after")
    def _storage_settings_agree(self) -> Settings:
        problems = storage_problems(self)
        self.bucket_region = resolve_bucket_region(self.bucket_endpoint_url, self.bucket_region)
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_URL is set but WEBHOOK_SECRET is not: webhooks are always signed")
        host = urlsplit(self.webhook_url).hostname if self.webhook_url else None
        if host and not host_matches(host, self.webhook_allowed_host_list):
            raise ValueError(f"WEBHOOK_URL's host {host} is not in WEBHOOK_ALLOWED_HOSTS: add it there")
        return self

    @property
    def webhook_allowed_host_list(self) -> list[str]:
        """The hosts (or ``*.suffix`` patterns) a job's webhook_url may name: WEBHOOK_ALLOWED_HOSTS,
        else WEBHOOK_URL's host; empty (any public host, logged as a warning at start) when
        neither is set. Matched by `host_matches`."""
        if self.webhook_allowed_hosts:
            return self.webhook_allowed_hosts.split(",")
        host = urlsplit(self.webhook_url).hostname if self.webhook_url else None
        return [host.lower()] if host else []

    @property
    def models_fetch_profile_list(self) -> list[str]:
        """The profiles of MODELS_FETCH_PROFILES (empty: nothing is fetched at start)."""
        return self.models_fetch_profiles.split(",") if self.models_fetch_profiles else []

    @property
    def lora_cache_path(self) -> Path:
        """LORA_CACHE_DIR, else ``loras-cache`` beside MODELS_FETCH_DIR when its parent (the
        network volume) exists, else ``~/.cache/ltx-worker/loras``."""
        if self.lora_cache_dir is not None:
            return self.lora_cache_dir
        volume = self.models_fetch_dir.parent
        return volume / "loras-cache" if volume.is_dir() and volume != Path("/") else (
            Path.home() / ".cache" / "ltx-worker" / "loras")

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
