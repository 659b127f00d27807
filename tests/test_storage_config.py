"""BUCKET_* settings checked as a whole when they are loaded (issue 13, finding 5).

An empty BUCKET_ENDPOINT_URL means AWS S3, whose regions are never "auto": the region default is
derived (AWS_REGION, AWS_DEFAULT_REGION, us-east-1; the region in an AWS or OCI endpoint host;
"auto" for other endpoints such as R2), and combinations that cannot work are refused at load
with a ConfigError naming the variables (the worker exits 2 with it). Uploads go to the real moto
S3 server (the session's `s3` fixture); AWS S3 itself is reached through botocore's own
AWS_ENDPOINT_URL_S3, so the code path with no BUCKET_ENDPOINT_URL is the one exercised.
"""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import requests

from ltx_worker.config import PROJECT_ROOT, ConfigError, load_settings
from ltx_worker.delivery.storage import S3Storage

KEYS = {"bucket_access_key_id": "test", "bucket_secret_access_key": "test"}
R2 = "https://0123abcd.r2.cloudflarestorage.com"
OCI = "https://mynamespace.compat.objectstorage.eu-frankfurt-1.oraclecloud.com"
GCS = "https://storage.googleapis.com"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No BUCKET_*/AWS_* variable of the test runner's environment leaks into the settings."""
    for name in list(os.environ):
        if name.startswith(("BUCKET_", "AWS_")):
            monkeypatch.delenv(name)


def settings(**kwargs):
    return load_settings(**kwargs)


# -- the region default -----------------------------------------------------------------------


def test_aws_defaults_resolve_to_a_real_aws_region_and_host():
    s = settings(bucket_name="videos", **KEYS)
    assert s.bucket_region == "us-east-1"
    storage = S3Storage(s)
    assert storage.client.meta.endpoint_url == "https://s3.us-east-1.amazonaws.com"
    assert urlsplit(storage.url_for("k.mp4")).hostname == "videos.s3.amazonaws.com"


@pytest.mark.parametrize("env, region", [
    ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),
    ({"AWS_DEFAULT_REGION": "ap-southeast-2"}, "ap-southeast-2"),
    ({"AWS_REGION": "af-south-1", "AWS_DEFAULT_REGION": "eu-west-1"}, "af-south-1"),
])
def test_aws_region_comes_from_the_aws_variables(monkeypatch, env, region):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = settings(bucket_name="videos", **KEYS)
    assert s.bucket_region == region
    storage = S3Storage(s)
    assert storage.client.meta.endpoint_url == f"https://s3.{region}.amazonaws.com"
    # presigned URLs name the bucket's region (the global host is refused by newer regions)
    assert urlsplit(storage.url_for("k.mp4")).hostname == f"videos.s3.{region}.amazonaws.com"


@pytest.mark.parametrize("endpoint, region", [
    (R2, "auto"),
    (GCS, "auto"),
    (OCI, "eu-frankfurt-1"),
    ("https://s3.eu-central-1.amazonaws.com", "eu-central-1"),
    ("https://s3.dualstack.us-west-2.amazonaws.com", "us-west-2"),
    ("http://127.0.0.1:9000", "auto"),
])
def test_endpoint_region_defaults(endpoint, region):
    assert settings(bucket_name="videos", bucket_endpoint_url=endpoint, **KEYS).bucket_region == region


def test_an_explicit_region_is_kept():
    assert settings(bucket_name="videos", bucket_region="eu-west-3", **KEYS).bucket_region == "eu-west-3"
    assert settings(bucket_name="videos", bucket_endpoint_url=R2, bucket_region="weur",
                    **KEYS).bucket_region == "weur"
    assert settings(bucket_name="videos", bucket_endpoint_url=GCS, bucket_region="us-central1",
                    **KEYS).bucket_region == "us-central1"


def test_storage_off_ignores_a_form_default_region():
    """The RunPod Hub form sends BUCKET_REGION=auto with every other field empty."""
    s = settings(bucket_region="auto", bucket_key_prefix="ltx-worker/")
    assert not s.storage_enabled


# -- wrong combinations -----------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, names", [
    ({"bucket_name": "videos", "bucket_region": "auto", **KEYS},
     ["BUCKET_REGION=auto", "BUCKET_ENDPOINT_URL", "AWS S3", "s3.auto.amazonaws.com"]),
    ({"bucket_name": "videos", "bucket_region": "AUTO", **KEYS}, ["BUCKET_REGION=auto"]),
    ({"bucket_name": "videos", "bucket_region": "weur", **KEYS},
     ["BUCKET_REGION=weur is not an AWS region", "BUCKET_ENDPOINT_URL is unset"]),
    ({"bucket_name": "videos"},
     ["BUCKET_NAME is set but BUCKET_ACCESS_KEY_ID and BUCKET_SECRET_ACCESS_KEY are not"]),
    ({"bucket_name": "videos", "bucket_access_key_id": "k"},
     ["BUCKET_ACCESS_KEY_ID is set but BUCKET_SECRET_ACCESS_KEY is not"]),
    ({"bucket_name": "videos", "bucket_secret_access_key": "s"},
     ["BUCKET_SECRET_ACCESS_KEY is set but BUCKET_ACCESS_KEY_ID is not"]),
    ({"bucket_endpoint_url": R2, **KEYS},
     ["BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY are set but BUCKET_NAME is not"]),
    ({"bucket_public_base_url": "https://cdn.example.com"},
     ["BUCKET_PUBLIC_BASE_URL is set but BUCKET_NAME is not"]),
    ({"bucket_name": "videos", "bucket_public_base_url": "ftp://cdn.example.com", **KEYS},
     ["BUCKET_PUBLIC_BASE_URL: 'ftp://cdn.example.com' is not an http(s) URL"]),
    ({"bucket_name": "videos", "bucket_public_base_url": "cdn.example.com/videos", **KEYS},
     ["BUCKET_PUBLIC_BASE_URL: 'cdn.example.com/videos' is not an http(s) URL"]),
    ({"bucket_name": "videos", "bucket_public_base_url": "https://cdn.example.com/?sig=1", **KEYS},
     ["BUCKET_PUBLIC_BASE_URL", "query or fragment"]),
    ({"bucket_name": "videos", "bucket_endpoint_url": "s3.amazonaws.com", **KEYS},
     ["BUCKET_ENDPOINT_URL: 's3.amazonaws.com' is not an http(s) URL"]),
    ({"bucket_name": "videos", "bucket_endpoint_url": f"{R2}/videos", **KEYS},
     ["BUCKET_ENDPOINT_URL ends with the bucket name 'videos'"]),
    ({"bucket_name": "videos", "bucket_endpoint_url": OCI, "bucket_region": "auto", **KEYS},
     ["BUCKET_REGION=auto does not match the region eu-frankfurt-1 in BUCKET_ENDPOINT_URL"]),
    ({"bucket_name": "videos", "bucket_endpoint_url": "https://s3.eu-west-1.amazonaws.com",
      "bucket_region": "us-east-1", **KEYS},
     ["BUCKET_REGION=us-east-1 does not match the region eu-west-1"]),
    ({"bucket_name": "videos", "bucket_endpoint_url": "https://s3.amazonaws.com", "bucket_region": "auto",
      **KEYS}, ["BUCKET_REGION=auto with an AWS endpoint"]),
    ({"bucket_name": "videos", "bucket_region": "us east 1", **KEYS}, ["BUCKET_REGION: String should match"]),
])
def test_wrong_combinations_are_refused_naming_the_variables(kwargs, names):
    with pytest.raises(ConfigError) as err:
        settings(**kwargs)
    message = str(err.value)
    assert message.startswith("invalid configuration:\n  ")
    for name in names:
        assert name in message, message
    assert "test" not in message.replace("test_", "")  # no credential value is echoed


def test_every_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as err:
        settings(bucket_name="videos", bucket_region="auto", bucket_access_key_id="k")
    lines = str(err.value).splitlines()[1:]
    assert len(lines) == 2
    assert "BUCKET_SECRET_ACCESS_KEY" in lines[0] and "BUCKET_REGION=auto" in lines[1]


def test_the_worker_exits_2_with_the_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUCKET_", "AWS_"))}
    env.update(BUCKET_NAME="videos", BUCKET_ACCESS_KEY_ID="AKIAEXAMPLE", BUCKET_SECRET_ACCESS_KEY="s3cr3t",
               BUCKET_REGION="auto", OUTPUT_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "handler.py"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "invalid configuration:" in proc.stderr
    assert "BUCKET_REGION=auto needs BUCKET_ENDPOINT_URL" in proc.stderr
    assert "s3cr3t" not in proc.stderr + proc.stdout


# -- the defaults work against a real S3 server ------------------------------------------------


def _put_and_fetch(storage: S3Storage, tmp_path, name: str, s3) -> None:
    f = tmp_path / name
    f.write_bytes(b"poster bytes " + name.encode())
    stored = storage.put(f, name, "image/jpeg")
    assert not f.exists()
    head = s3.client().head_object(Bucket="videos", Key=stored.key)
    assert head["ContentType"] == "image/jpeg"
    got = requests.get(stored.url, timeout=10)
    assert got.status_code == 200 and got.content == b"poster bytes " + name.encode()


def test_endpoint_with_the_default_region_uploads_and_presigns(s3, tmp_path):
    s = settings(bucket_name="videos", bucket_endpoint_url=s3.url, bucket_key_prefix="cfg/", **KEYS)
    assert s.bucket_region == "auto"  # as for R2
    _put_and_fetch(S3Storage(s), tmp_path, "r2-like.jpg", s3)


def test_aws_path_with_the_documented_defaults_uploads_and_presigns(s3, tmp_path, monkeypatch):
    """No BUCKET_ENDPOINT_URL and no BUCKET_REGION: boto3's AWS S3 client, pointed at moto with
    botocore's own AWS_ENDPOINT_URL_S3 (the request is signed for us-east-1)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.url)
    s = settings(bucket_name="videos", bucket_key_prefix="aws/", **KEYS)
    assert s.bucket_region == "us-east-1" and s.bucket_endpoint_url is None
    storage = S3Storage(s)
    assert storage.client.meta.endpoint_url == s3.url
    _put_and_fetch(storage, tmp_path, "aws.jpg", s3)
    url = storage.url_for("aws/aws.jpg")
    assert "us-east-1" in url  # the credential scope: X-Amz-Credential=test/<date>/us-east-1/s3/...
