"""The rules settings are checked by, beside their own types: host patterns, S3 endpoints and
regions, and whether the BUCKET_* settings agree. Part of the configuration (`config` uses them
while loading); split from it to keep each module small. Reads no setting of its own but
AWS_REGION / AWS_DEFAULT_REGION, as AWS tools do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .config import Settings

__all__ = ["HOST_PATTERN", "host_matches", "resolve_bucket_region", "storage_problems"]


#: An entry of WEBHOOK_ALLOWED_HOSTS (lower-cased): a host name or IPv4 address, optionally
#: ``*.``-prefixed, or an IPv6 address (brackets stripped).
HOST_PATTERN = re.compile(r"(?:\*\.)?[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|[0-9a-f]*:[0-9a-f:.]*:[0-9a-f.]*")


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
