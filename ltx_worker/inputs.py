"""A job's input files: fetch them without SSRF exposure; images checked and normalised here.

Every URL field (``image_urls``, ``last_image_url``, ``keyframes[i].image_url``, ``audio_url``,
``control_video_url``) goes through `fetch_source`; audio and video are probed in `media`.
Sources (SPEC.md, "image_urls"): an http(s) URL, fetched with the RunPod SDK's SSRF-safe
`safe_get` (only globally routable addresses, DNS pinned, redirects re-checked, size capped);
a ``data:`` URI; or a bare base64 string. The bytes are decoded with Pillow (JPEG, PNG or WebP),
refused above a pixel cap (decompression bombs), turned upright by their EXIF orientation and
re-encoded as PNG under a name the worker makes, so nothing of the input becomes a file path.
"""

from __future__ import annotations

import base64
import binascii
import io
import re

import requests
from PIL import Image, ImageOps, UnidentifiedImageError
from runpod.serverless.utils import rp_ssrf

from .errors import ErrorCode, WorkerError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
_DATA_URI = re.compile(r"^data:(?P<mime>[\w/+.-]*)(?P<params>(;[\w=.+-]+)*?)(?P<b64>;base64)?,", re.I)


def input_error(field: str, message: str, code: ErrorCode = ErrorCode.INVALID_INPUT, **kw: object) -> WorkerError:
    """A `WorkerError` about job field `field` (INVALID_INPUT unless `code` says otherwise); the
    message starts with the field's name."""
    return WorkerError(code, f"{field}: {message}", **kw)  # type: ignore[arg-type]


def _decode_base64(text: str, max_bytes: int, field: str) -> bytes:
    if len(text) > (max_bytes * 4) // 3 + 8:
        raise input_error(field, f"file is larger than the {max_bytes} byte limit")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise input_error(field, "not a valid base64 string or http(s)/data: URL") from None


def fetch_source(source: str, *, field: str, max_bytes: int, timeout_s: float) -> bytes:
    """The raw bytes of one input file (`field` names the job field, for errors).

    Raises:
        WorkerError: INVALID_INPUT for a refused destination (private address, bad scheme),
            an oversized body or bad base64; INPUT_FETCH_FAILED (retryable for network errors
            and 5xx answers) when the download fails.
    """
    if source.lower().startswith(("http://", "https://")):
        try:
            resp = rp_ssrf.safe_get(source, stream=True, timeout=timeout_s, max_bytes=max_bytes)
            with resp:
                if resp.status_code >= 400:
                    raise input_error(field, 
                        f"download answered HTTP {resp.status_code}",
                        ErrorCode.INPUT_FETCH_FAILED,
                        retryable=resp.status_code >= 500 or resp.status_code == 429,
                    )
                return b"".join(rp_ssrf.iter_content_capped(resp, 1 << 16, max_bytes))
        except rp_ssrf.SSRFError as err:
            reason = "exceeds" if "size cap" in str(err) else "refused"
            if reason == "exceeds":
                raise input_error(field, f"file is larger than the {max_bytes} byte limit") from None
            raise input_error(
                field, "URL refused: only public http(s) addresses may be fetched",
                details={"reason": str(err).split(":")[0]},
            ) from None
        except requests.RequestException as err:
            raise input_error(
                field, f"download failed ({type(err).__name__})", ErrorCode.INPUT_FETCH_FAILED
            ) from None
    match = _DATA_URI.match(source)
    if match:
        if not match.group("b64"):
            raise input_error(field, "data: URIs must be base64-encoded")
        return _decode_base64(source[match.end() :], max_bytes, field)
    if ":" in source[:12]:
        raise input_error(field, "only http(s) URLs, data: URIs or base64 strings are accepted")
    return _decode_base64(source, max_bytes, field)


def prepare_image(data: bytes, *, max_bytes: int, max_pixels: int,
                  field: str = "image_urls[0]") -> tuple[bytes, tuple[int, int]]:
    """Check and normalise an image: returns (PNG bytes, (width, height)) after EXIF rotation.

    Raises:
        WorkerError: INVALID_INPUT when the bytes are over `max_bytes`, not a JPEG/PNG/WebP
            image, over `max_pixels` pixels, or fail to decode.
    """
    if len(data) > max_bytes:
        raise input_error(field, f"image is larger than the {max_bytes} byte limit")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ALLOWED_FORMATS:
                raise input_error(field, f"image format {img.format} is not one of {', '.join(ALLOWED_FORMATS)}")
            w, h = img.size
            if w * h > max_pixels:
                raise input_error(field, f"image has {w}x{h} pixels, more than the {max_pixels} pixel limit")
            img.load()
            upright = ImageOps.exif_transpose(img).convert("RGB")
    except WorkerError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        raise input_error(field, f"not a decodable image ({type(err).__name__})") from None
    buf = io.BytesIO()
    upright.save(buf, format="PNG")
    return buf.getvalue(), upright.size
