"""Bad jobs get a field-named error from the handler without reaching ComfyUI.

The handler here points at a port where nothing listens: any job that reached ComfyUI would
fail with COMFY_UNAVAILABLE instead of the expected INVALID_INPUT.
"""

import asyncio
import base64

import pytest

I2V = {"model": "ltx-2-i2v", "prompt": "a lighthouse at dusk", "image_urls": ["https://example.com/x.png"]}


@pytest.mark.parametrize(
    ("job_input", "field"),
    [
        ({"model": "wan-2", "prompt": "a cat"}, "model"),
        ({"model": "ltx-2-t2v", "prompt": "a cat", "image_urls": ["https://example.com/a.png"]}, "image_urls"),
        ({"model": "ltx-2-t2v", "prompt": "a cat", "duration": 0}, "duration"),
        ({"model": "ltx-2-t2v", "prompt": "p" * 5000}, "prompt"),
        ({"model": "ltx-2-t2v", "prompt": "a cat", "frobnicate": True}, "frobnicate"),
        ({**I2V, "image_urls": ["http://127.0.0.1:9/secret.png"]}, "image_urls[0]"),
        ({**I2V, "image_urls": ["http://169.254.169.254/latest/meta-data"]}, "image_urls[0]"),
        ({**I2V, "image_urls": ["file:///etc/passwd"]}, "image_urls"),
        ({**I2V, "image_urls": ["data:image/png;base64,bm90IGFuIGltYWdl"]}, "image_urls[0]"),
        ({**I2V, "image_urls": [base64.b64encode(b"GIF89a" + b"\0" * 40).decode()]}, "image_urls[0]"),
        ({"model": "ltxv-t2v", "prompt": "a cat", "camera_lora": "static"}, "camera_lora"),
    ],
)
def test_bad_input_is_refused_before_comfyui(offline_handler, monkeypatch, job_input, field):
    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    out = asyncio.run(offline_handler({"id": "bad", "input": job_input}))
    assert out["error_code"] == "INVALID_INPUT", out
    assert out["retryable"] is False
    assert field in out["message"], out["message"]
    assert "Traceback" not in out["error"]
