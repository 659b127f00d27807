"""What a studio pays a hosted API per second of LTX video, and RunPod's serverless GPU rates.

Copied from ../shared/reference/FACTS.md ("What hosted LTX video and RunPod GPUs cost", read
2026-10 to 2026-12 from the third-party pages named in each row); no page was opened here (no
internet): check the page before quoting a price to a customer. docs/benchmarks-gpu.md prints them
next to the measured cost per video second (`report.render_doc`).
"""

from __future__ import annotations

RESOLUTIONS = ("720p", "1080p", "1440p", "2160p")
_LTX_DOCS = "docs.ltx.io/pricing as harvested 2026-10-07 (api-evangelist/lightricks plans)"

#: (service, model / tier, {resolution: US$ per second of output video unless the tier says otherwise}, source)
HOSTED: list[tuple[str, str, dict[str, str], str]] = [
    ("Lightricks LTX API", "ltx-2-3-fast", {"720p": "$0.03"}, _LTX_DOCS),
    ("Lightricks LTX API", "ltx-2-3-pro i2v", {"1440p": "$0.16"}, _LTX_DOCS),
    ("Lightricks LTX API", "ltx-2-5-fast t2v", {"720p": "$0.09"}, _LTX_DOCS),
    ("Lightricks LTX API", "ltx-2-5-pro", {"2160p": "$0.39"}, _LTX_DOCS),
    (
        "Lightricks LTX API",
        "ltx-2-fast / ltx-2-pro (LTX-2 era)",
        {"1080p": "$0.04 / $0.06", "1440p": "$0.08 / $0.12", "2160p": "$0.16 / $0.24"},
        "docs.ltx.video/pricing (stored, undated); Comfy-Org/docs PR #517",
    ),
    (
        "Lightricks LTX API",
        "retake / extend ltx-2-3-pro; audio-to-video 2.3-pro",
        {"1080p": "$0.10"},
        "docs.ltx.io/pricing (harvested 2026-10-07)",
    ),
    (
        "fal",
        "ltx-2.3 text-to-video fast",
        {"1080p": "$0.04", "1440p": "$0.08", "2160p": "$0.16"},
        "fal-ai/ltx-2.3/text-to-video/fast llms.txt",
    ),
    (
        "fal",
        "ltx-2.3 text-to-video pro / image-to-video pro",
        {"1080p": "$0.08 / $0.06", "1440p": "$0.16 / $0.12", "2160p": "$0.32 / $0.24"},
        "fal llms.txt pages",
    ),
    ("Venice", "LTX 2.3 fast (per 10 s clip)", {"1080p": "$0.66", "1440p": "$1.32", "2160p": "$2.64"}, "Venice docs"),
    (
        "Venice",
        "LTX 2.5 fast (per 10 s clip)",
        {"720p": "$0.99", "1080p": "$1.43", "1440p": "$2.09", "2160p": "$3.30"},
        "Venice docs",
    ),
    ("WaveSpeed", "LTX 2.5", {"720p": "$0.100", "2160p": "$0.330"}, "WaveSpeed"),
]

#: RunPod serverless, US$ per second of worker time (unified flex/active pricing).
RUNPOD_SERVERLESS: list[tuple[str, float]] = [
    ("48 GB L40 / L40S / RTX 6000 Ada", 0.00053),
    ("80 GB A100", 0.00076),
    ("80 GB H100", 0.00116),
    ("96 GB RTX PRO 6000", 0.00111),
    ("141 GB H200", 0.00155),
    ("180 GB B200", 0.00240),
]
RUNPOD_SOURCE = "runpod/docs snippets/serverless-gpu-pricing-table.mdx, 2026-06-08"


def hosted_table() -> str:
    """`HOSTED` as a markdown table: service, tier, one column per resolution, source."""
    lines = ["| service | model / tier | " + " | ".join(RESOLUTIONS) + " | source |", "|" + "---|" * 7]
    for service, tier, prices, source in HOSTED:
        cells = [service, tier, *(prices.get(r, "") for r in RESOLUTIONS), source]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def runpod_line() -> str:
    """RunPod's serverless rates in one sentence (per second and per hour)."""
    rates = "; ".join(f"{name} ${rate:.5f}/s (${rate * 3600:.2f}/h)" for name, rate in RUNPOD_SERVERLESS)
    return f"RunPod serverless, per second of worker time ({RUNPOD_SOURCE}): {rates}."
