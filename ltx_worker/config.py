"""All of the worker's configuration, read from the environment in one place.

`load_settings()` validates every value at start and raises `ConfigError` with one line per
wrong variable, naming it. Nothing else in the package reads ``os.environ`` for settings
(the RunPod SDK reads its own RUNPOD_* variables).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
            if not _HOST_NAME.fullmatch(name.strip("[]")):
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


#: An entry of WEBHOOK_ALLOWED_HOSTS (lower-cased): a host name or IPv4 address, optionally
#: ``*.``-prefixed, or an IPv6 address (brackets stripped).
_HOST_NAME = re.compile(r"(?:\*\.)?[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|[0-9a-f]*:[0-9a-f:.]*:[0-9a-f.]*")


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """Whether `host` is allowed by `patterns` (WEBHOOK_ALLOWED_HOSTS's entries).

    An entry matches its exact name, case-insensitively, a trailing dot and IPv6 brackets
    ignored; ``*.example.com`` matches any name below example.com (``a.example.com``,
    ``a.b.example.com``) but not example.com itself, nor ``evil-example.com``.
    """
    host = host.strip("[]").rstrip(".").lower()
    patterns = [p.strip("[]").rstrip(".").lower() for p in patterns]
    return any(host == p or (p.startswith("*.") and host.endswith(p[1:]) and len(host) > len(p) - 1)
               for p in patterns)


#: AWS S3 regional endpoint hosts (``s3.eu-west-1.amazonaws.com``, ``s3-eu-west-1...``,
#: ``s3.dualstack.eu-west-1...``, ``bucket.s3.eu-west-1...``, China ``.amazonaws.com.cn``).
_AWS_HOST = re.compile(r"(?:^|\.)s3(?:[.-]dualstack)?[.-](?P<region>[a-z]{2,5}(?:-[a-z]+)+-\d+)"
                       r"\.amazonaws\.com(?:\.cn)?$")
#: OCI's S3 compatibility host: ``<namespace>.compat.objectstorage.<region>.oraclecloud.com``.
_OCI_HOST = re.compile(r"\.compat\.objectstorage\.(?P<region>[a-z0-9-]+)\.oraclecloud\.com$")
#: What an AWS region looks like (us-east-1, eu-central-2, us-gov-west-1, eusc-de-east-1...).
_AWS_REGION = re.compile(r"^[a-z]{2,5}(?:-[a-z]+)+-\d+$")


def _endpoint_host(endpoint_url: str | None) -> str:
    return (urlsplit(endpoint_url).hostname or "").lower() if endpoint_url else ""


def _region_in_host(host: str) -> str | None:
    """The region an AWS regional or OCI endpoint host names, else None."""
    m = _AWS_HOST.search(host) or _OCI_HOST.search(host)
    return m["region"] if m else None


def _aws_default_region() -> str:
    """The region AWS tools default to: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def resolve_bucket_region(endpoint_url: str | None, region: str | None) -> str:
    """BUCKET_REGION, or its default for BUCKET_ENDPOINT_URL when unset.

    * no endpoint (AWS S3): ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else ``us-east-1``;
    * an AWS regional endpoint (``s3.<region>.amazonaws.com``) or OCI's
      (``<ns>.compat.objectstorage.<region>.oraclecloud.com``): the region in the host;
    * any other endpoint (R2, GCS interop, MinIO...): ``auto``.
    """
    if region:
        return region
    if not endpoint_url:
        return _aws_default_region()
    return _region_in_host(_endpoint_host(endpoint_url)) or "auto"


def storage_problems(settings: Settings) -> list[str]:
    """What is wrong in the combination of BUCKET_* settings, one line each naming the variables.

    Each field is already well-formed on its own; this checks that they make one usable
    bucket: a bucket name with both credentials, an endpoint without the bucket in its path, a
    region the endpoint (or AWS S3, without one) accepts. BUCKET_* values set without
    BUCKET_NAME are refused too: storage would be silently off and the videos lost with the
    worker.
    """
    s = settings
    key_id, secret = s.bucket_access_key_id, s.bucket_secret_access_key
    has_key = bool(key_id and key_id.get_secret_value())
    has_secret = bool(secret and secret.get_secret_value())
    if not s.bucket_name:
        stray = [name for name, value in (
            ("BUCKET_ENDPOINT_URL", s.bucket_endpoint_url), ("BUCKET_ACCESS_KEY_ID", has_key),
            ("BUCKET_SECRET_ACCESS_KEY", has_secret), ("BUCKET_PUBLIC_BASE_URL", s.bucket_public_base_url),
        ) if value]
        if not stray:
            return []
        return [f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} set but BUCKET_NAME is not: "
                "storage would be off and the videos would stay on the worker; set BUCKET_NAME "
                f"or unset {'it' if len(stray) == 1 else 'them'}"]
    problems = []
    if not has_key and not has_secret:
        problems.append("BUCKET_NAME is set but BUCKET_ACCESS_KEY_ID and BUCKET_SECRET_ACCESS_KEY are "
                        "not: the bucket needs an access key")
    elif not has_secret:
        problems.append("BUCKET_ACCESS_KEY_ID is set but BUCKET_SECRET_ACCESS_KEY is not")
    elif not has_key:
        problems.append("BUCKET_SECRET_ACCESS_KEY is set but BUCKET_ACCESS_KEY_ID is not")
    endpoint = s.bucket_endpoint_url
    host = _endpoint_host(endpoint)
    if endpoint and urlsplit(endpoint).path.strip("/").split("/")[-1] == s.bucket_name:
        problems.append(f"BUCKET_ENDPOINT_URL ends with the bucket name {s.bucket_name!r}: give the "
                        "service endpoint only (e.g. https://<account>.r2.cloudflarestorage.com) and "
                        "the bucket in BUCKET_NAME")
    region = s.bucket_region
    if region is None:
        return problems
    if not endpoint:
        if region.lower() == "auto":
            problems.append(
                "BUCKET_REGION=auto needs BUCKET_ENDPOINT_URL: with no endpoint the bucket is on AWS "
                "S3, which has no region \"auto\" (s3.auto.amazonaws.com does not exist); unset "
                "BUCKET_REGION (it then defaults to AWS_REGION, AWS_DEFAULT_REGION or us-east-1) or "
                "set it to the bucket's AWS region, or set BUCKET_ENDPOINT_URL (R2, GCS, OCI, MinIO)")
        elif not _AWS_REGION.match(region):
            problems.append(f"BUCKET_REGION={region} is not an AWS region (e.g. eu-west-1) and "
                            "BUCKET_ENDPOINT_URL is unset, which means AWS S3")
        return problems
    in_host = _region_in_host(host)
    if in_host and region != in_host:
        problems.append(f"BUCKET_REGION={region} does not match the region {in_host} in "
                        f"BUCKET_ENDPOINT_URL ({host}): requests would be signed for the wrong "
                        "region; unset BUCKET_REGION or make them agree")
    elif region.lower() == "auto" and (host == "amazonaws.com" or host.endswith(".amazonaws.com")):
        problems.append(f"BUCKET_REGION=auto with an AWS endpoint ({host}): AWS S3 has no region "
                        "\"auto\"; set the bucket's AWS region")
    return problems


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
