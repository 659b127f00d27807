"""ltx-video-client: call an ltx-worker RunPod endpoint from a studio backend.

    from ltx_video_client import LTXClient, quote, verify_webhook

    client = LTXClient(endpoint_id, api_key)
    handle = client.submit({"model": "ltx-2.3-i2v", "prompt": "...", "image_urls": ["https://..."]})
    output = handle.wait(on_progress=print)          # typed JobOutput, or a typed JobFailed raised

The job contract (`contract`), the per-model rules (`rules`), the RunPod client (`client`), the
signed webhooks (`webhooks`) and the price quotes (`quote`). Depends on pydantic, httpx and
standardwebhooks only.
"""

from .client import JobHandle, LTXClient
from .contract import Extend, JobInput, JobOutput, Keyframe, LoraEntry, Retake, parse_job
from .errors import (
    ERROR_CLASSES,
    APIError,
    ComfyUnavailableError,
    ErrorCode,
    GenerationFailedError,
    InputFetchFailedError,
    InternalWorkerError,
    InvalidInputError,
    JobCancelledError,
    JobFailed,
    JobTimeoutError,
    LTXError,
    ModelMissingError,
    OutOfMemoryError,
    OutputMissingError,
    RateLimitedError,
    RunPodCancelledError,
    RunPodTimedOutError,
    UploadFailedError,
    WaitTimeoutError,
    WebhookReplayError,
    WebhookSignatureError,
    WebhookStaleError,
    WebhookUnsignedError,
    WebhookVerificationError,
    WorkflowInvalidError,
)
from .outputs import Progress
from .policies import PollPolicy, RetryPolicy, SubmitPolicy
from .quote import GPU_PRICES, Basis, GpuPrice, Quote, quote
from .rules import Rules, check_job
from .runpod import Health, JobStatus
from .webhooks import MemorySeenStore, SeenStore, WebhookEvent, verify_webhook

__version__ = "0.1.0"
__all__ = [
    "APIError", "Basis", "ComfyUnavailableError", "ERROR_CLASSES", "ErrorCode", "Extend", "GPU_PRICES",
    "GenerationFailedError", "GpuPrice", "Health", "InputFetchFailedError", "InternalWorkerError",
    "InvalidInputError", "JobCancelledError", "JobFailed", "JobHandle", "JobInput", "JobOutput", "JobStatus",
    "JobTimeoutError", "Keyframe", "LTXClient", "LTXError", "LoraEntry", "MemorySeenStore", "ModelMissingError",
    "OutOfMemoryError", "OutputMissingError", "PollPolicy", "Progress", "Quote", "RateLimitedError", "Retake",
    "RetryPolicy", "Rules", "RunPodCancelledError", "RunPodTimedOutError", "SeenStore", "SubmitPolicy",
    "UploadFailedError", "WaitTimeoutError", "WebhookEvent", "WebhookReplayError", "WebhookSignatureError",
    "WebhookStaleError", "WebhookUnsignedError", "WebhookVerificationError", "WorkflowInvalidError", "check_job",
    "parse_job", "quote", "verify_webhook",
]
