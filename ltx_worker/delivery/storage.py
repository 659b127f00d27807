"""Where finished files go: S3-compatible object storage (boto3), or a local folder.

SPEC.md "Job output" and the delivery issue: the MP4 and its poster are uploaded under keys that
carry the job id (``<BUCKET_KEY_PREFIX><job id>.mp4`` / ``.jpg``) with the right Content-Type;
large files go up in parts (boto3's managed transfer); the URL returned is public
(``BUCKET_PUBLIC_BASE_URL/<key>``) or presigned (``BUCKET_PRESIGN_EXPIRY_S``). R2, S3, GCS
interop and OCI work through the endpoint URL, region and path-style option. The settings are
checked as a whole when they are loaded (``config_rules.storage_problems``: credentials, endpoint,
region), and ``settings.bucket_region`` is already resolved there: unset, it is AWS_REGION /
AWS_DEFAULT_REGION / us-east-1 for AWS S3 (no endpoint), the region in an AWS or OCI endpoint's
host, else "auto" (R2, GCS); so a client built here never asks for ``s3.auto.amazonaws.com``.

Retries are botocore's own ("standard" mode: connection errors, throttling and 5xx answers,
with backoff, ``BUCKET_MAX_ATTEMPTS`` attempts); when they are spent the upload fails with
UPLOAD_FAILED (retryable) and the caller keeps its local file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from ..config import Settings
from ..errors import ErrorCode, WorkerError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredFile:
    """A delivered file.

    Attributes:
        key: object key in the bucket (None for local storage).
        url: where a backend fetches it (None for local storage).
        path: local path (None once uploaded: the local copy is deleted after a good upload).
    """

    key: str | None
    url: str | None
    path: str | None


class Storage(Protocol):
    """Somewhere to put a finished file."""

    def put(self, path: Path, name: str, content_type: str) -> StoredFile:
        """Deliver the local file `path` under `name` (e.g. ``<job id>.mp4``)."""
        ...


class LocalStorage:
    """No bucket configured: files stay where the worker wrote them (OUTPUT_DIR)."""

    def put(self, path: Path, name: str, content_type: str) -> StoredFile:
        """Returns the local path only; nothing is copied."""
        return StoredFile(key=None, url=None, path=str(path))


def addressing_style(settings: Settings) -> str:
    """botocore's S3 addressing style for these settings.

    "path" when BUCKET_PATH_STYLE is set; "virtual" on AWS S3 (no endpoint) for a bucket name
    without dots, so presigned URLs name the bucket's region
    (``<bucket>.s3.<region>.amazonaws.com``: botocore's "auto" presigns on the global
    ``<bucket>.s3.amazonaws.com``, which regions opened since 2019 refuse); else "auto"
    (botocore picks; path style on custom endpoints and for dotted names, whose virtual host
    would not match AWS's TLS certificate).
    """
    if settings.bucket_path_style:
        return "path"
    if not settings.bucket_endpoint_url and "." not in (settings.bucket_name or ""):
        return "virtual"
    return "auto"


class S3Storage:
    """An S3-compatible bucket reached with boto3.

    Args:
        settings: BUCKET_* settings; `settings.bucket_name` must be set.
    """

    def __init__(self, settings: Settings) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.settings = settings
        self.bucket = settings.bucket_name
        config = Config(
            region_name=settings.bucket_region,  # resolved by load_settings, never None
            signature_version="s3v4",
            s3={"addressing_style": addressing_style(settings)},
            retries={"mode": "standard", "total_max_attempts": settings.bucket_max_attempts},
            connect_timeout=5,
            read_timeout=60,
        )
        secret = settings.bucket_secret_access_key
        key_id = settings.bucket_access_key_id
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.bucket_endpoint_url,
            aws_access_key_id=key_id.get_secret_value() if key_id else None,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=config,
        )
        log.info("storage: bucket %r at %s, region %s", self.bucket, self.client.meta.endpoint_url,
                 settings.bucket_region)
        mib = 1024 * 1024
        self.transfer = TransferConfig(
            multipart_threshold=settings.bucket_multipart_threshold_mb * mib,
            multipart_chunksize=max(8, settings.bucket_multipart_threshold_mb // 4) * mib,
            max_concurrency=4,
        )

    def key_for(self, name: str) -> str:
        """The object key of `name`: ``BUCKET_KEY_PREFIX + name``."""
        return f"{self.settings.bucket_key_prefix}{name}"

    def url_for(self, key: str) -> str:
        """A public URL under BUCKET_PUBLIC_BASE_URL, else a presigned GET URL."""
        base = self.settings.bucket_public_base_url
        if base:
            return f"{base.rstrip('/')}/{quote(key)}"
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self.settings.bucket_presign_expiry_s,
        )

    def put(self, path: Path, name: str, content_type: str) -> StoredFile:
        """Upload `path` as ``key_for(name)`` with `content_type`; deletes the local file after.

        Raises:
            WorkerError: UPLOAD_FAILED (retryable) when the upload fails after botocore's
                retries; the local file is left to the caller (the handler removes every
                file of a failed job). The message names the bucket and key, never the
                credentials or a signed URL.
        """
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key_for(name)
        try:
            self.client.upload_file(
                str(path), self.bucket, key,
                ExtraArgs={"ContentType": content_type}, Config=self.transfer,
            )
        except (BotoCoreError, ClientError, S3UploadFailedError) as err:
            log.warning("upload of %s to %s/%s failed: %s", path, self.bucket, key, err)
            raise WorkerError(
                ErrorCode.UPLOAD_FAILED,
                f"upload to bucket {self.bucket!r} key {key!r} failed: {type(err).__name__}",
                details={"bucket": self.bucket, "key": key},
            ) from None
        url = self.url_for(key)
        Path(path).unlink(missing_ok=True)
        return StoredFile(key=key, url=url, path=None)


def make_storage(settings: Settings) -> Storage:
    """S3Storage when BUCKET_NAME is set, else LocalStorage."""
    return S3Storage(settings) if settings.storage_enabled else LocalStorage()
