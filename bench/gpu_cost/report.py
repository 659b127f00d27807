"""Tables, the smallest GPU that fits, the plot and docs/benchmarks-gpu.md from a run's JSON.

A run (``__main__``) is a dict: ``meta`` (device, GPU name, scale, price, command) and ``items``
(one per point or option: key, family, quality, size, frames, fps, weight dtype, attention,
status, per-stage seconds and memory). Memory is in bytes in the JSON, GiB in the tables.
"""

from __future__ import annotations

import textwrap

from . import carry, configs, prices

GIB = 1024**3
STAGE_KEYS = ("stage1", "upscale", "stage2", "decode_video", "decode_audio")

#: Column name -> how to get it from a flattened row (see `rows`).
COLUMNS = [
    "point",
    "GPU",
    "family",
    "quality",
    "size",
    "frames",
    "fps",
    "weights",
    "attention",
    "stage 1 s",
    "upscale s",
    "stage 2 s",
    "decode video s",
    "decode audio s",
    "total GPU s",
    "GPU s per video s",
    "peak alloc GiB",
    "peak reserved GiB",
    "need GiB",
    "smallest GPU",
    "cost $",
    "$ per video s",
]


#: Columns that mean something only on a GPU (left out of the tiny CPU run's table).
GPU_ONLY_COLUMNS = ("GPU", "peak alloc GiB", "peak reserved GiB", "need GiB", "smallest GPU", "cost $",
                    "$ per video s")


def rows(run: dict) -> list[dict]:
    """One flat row per measured item, the columns of `COLUMNS` (strings, ready to print)."""
    meta, out = run["meta"], []
    price = meta.get("price_per_hour")
    for item in run["items"]:
        st = item.get("stages", {})
        row = {
            "point": item["key"],
            "GPU": meta["gpu_name"],
            "family": configs.FAMILIES[item["family"]].name,
            "quality": item["quality"],
            "size": f"{item['width']}x{item['height']}",
            "frames": item["frames"],
            "fps": item["fps"],
            "weights": item["weight_dtype"],
            "attention": item.get("attention") or "default",
        }
        if item["status"] != "ok":
            row.update({c: "" for c in COLUMNS if c not in row})
            row["stage 1 s"] = item["status"]
            out.append(row)
            continue
        names = [
            ("stage 1 s", "stage1"),
            ("upscale s", "upscale"),
            ("stage 2 s", "stage2"),
            ("decode video s", "decode_video"),
            ("decode audio s", "decode_audio"),
        ]
        total = sum(st[s]["seconds"] for _, s in names if s in st)
        video_s = item["frames"] / item["fps"]
        for col, s in names:
            row[col] = f"{st[s]['seconds']:.2f}" if s in st else "-"
        row["total GPU s"] = f"{total:.2f}"
        row["GPU s per video s"] = f"{total / video_s:.2f}"
        peaks = [st[s] for _, s in names if s in st and "peak_allocated" in st[s]]
        if peaks:
            need = max(p["need_reserved"] for p in peaks)
            row["peak alloc GiB"] = f"{max(p['peak_allocated'] for p in peaks) / GIB:.1f}"
            row["peak reserved GiB"] = f"{max(p['peak_reserved'] for p in peaks) / GIB:.1f}"
            row["need GiB"] = f"{need / GIB:.1f}"
            row["smallest GPU"] = smallest_gpu(need) if "decode_video" in st else "(sampling only)"
        else:
            row.update({"peak alloc GiB": "n/a", "peak reserved GiB": "n/a", "need GiB": "n/a", "smallest GPU": "n/a"})
        if price:
            row["cost $"] = f"{total * price / 3600:.4f}"
            row["$ per video s"] = f"{total * price / 3600 / video_s:.5f}"
        else:
            row["cost $"] = row["$ per video s"] = "n/a"
        out.append(row)
    return out


def smallest_gpu(need_bytes: float) -> str:
    """The first GPU of `configs.GPUS` whose usable memory holds the need plus the margin."""
    for name, usable_gib, _ in configs.GPUS:
        if need_bytes / GIB + configs.GPU_MARGIN_GIB <= usable_gib:
            return name
    return "none listed (over 141 GB)"


def markdown_table(table: list[dict], columns: list[str] | None = None) -> str:
    columns = columns or COLUMNS
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in table]
    return "\n".join(lines)


def plot(run: dict, path: str) -> None:
    """Stacked seconds per stage for every measured item (matplotlib, the bench extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [i for i in run["items"] if i["status"] == "ok"]
    stages = STAGE_KEYS
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(items) + 2), 4.5))
    bottom = [0.0] * len(items)
    for stage in stages:
        vals = [i["stages"].get(stage, {}).get("seconds", 0.0) for i in items]
        ax.bar(range(len(items)), vals, bottom=bottom, label=stage)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    labels = [
        i["key"] + ("" if i["kind"] == "point" else f"\n{i['weight_dtype']}/{i.get('attention') or 'default'}")
        for i in items
    ]
    ax.set_xticks(range(len(items)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("GPU seconds")
    ax.set_title(f"{run['meta']['gpu_name']} ({run['meta']['scale']} scale): seconds per stage")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def sizes_table(sizes: dict) -> str:
    lines = [
        "| family | transformer params | transformer bf16 GB | video VAE GB | audio VAE + vocoder GB | upscaler GB |"
        " text encoder (not run) params | its bf16 GB | template's file |",
        "|" + "---|" * 9,
    ]
    for fid, s in sizes.items():
        te = s["text_encoder"]
        te_file = configs.FAMILIES[fid].text_encoder
        known = (
            f"{te_file.template_file} ({te_file.file_bytes / 1e9:.2f} GB)"
            if te_file.file_bytes
            else te_file.template_file
        )
        cells = [
            configs.FAMILIES[fid].name,
            f"{s['transformer_params'] / 1e9:.2f} B",
            f"{s['transformer_bytes'] / 1e9:.2f}",
            f"{s['video_vae_bytes'] / 1e9:.2f}",
            f"{s['audio_bytes'] / 1e9:.3f}",
            f"{s['upscaler_bytes'] / 1e9:.3f}",
            f"{(te['parameters'] + te['projection_parameters']) / 1e9:.2f} B",
            f"{te['bf16_bytes'] / 1e9:.1f}",
            known,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_doc(gpu_run: dict | None, tiny_run: dict | None, sizes: dict | None, command: str) -> str:
    """docs/benchmarks-gpu.md: GPU results if any (else says plainly there are none), sources,
    hosted prices, the tiny CPU proof and the command to run on a GPU."""
    out = [
        "# What a video costs on a GPU",
        "",
        "Real-size LTX architectures with random weights, run through ComfyUI's own nodes in the order the",
        "worker's templates wire them; speed and memory do not depend on the weights' values. Produced by",
        "`bench/gpu_cost` (method: `bench/gpu_cost/__init__.py`, `pipeline.py`; every configuration number",
        "with its source: `bench/gpu_cost/configs.py`).",
        "",
    ]
    if gpu_run:
        meta = gpu_run["meta"]
        out += [
            f"## Measured on {meta['gpu_name']}",
            "",
            f"{meta['started']}, torch {meta['torch']}, ComfyUI {meta['comfyui_version']}, price "
            f"{meta.get('price_per_hour') or 'n/a'} $/GPU-hour. The text encoder is not in the GPU seconds: "
            "it is one forward pass per prompt (a stand-in tensor of its output shape feeds the transformer); its "
            "real weights are listed below as a load cost.",
            "",
            markdown_table(rows(gpu_run)),
            "",
            "![seconds per stage](benchmarks-gpu.png)",
            "",
        ]
    else:
        out += [
            "## No GPU figures exist yet",
            "",
            "No GPU was available when this page was written: **every number below is from a CPU run of the",
            "same code at a tiny scale and proves only the code path, not a cost.** docs/deploy.md's VRAM and",
            "time figures remain estimates until the command below has run on a GPU.",
            "",
        ]
    out += [
        "## Run it on a GPU",
        "",
        "On a GPU pod with a checkout of this repository (the worker's image has ComfyUI 0.33.0 at /comfyui and",
        "torch in /opt/venv), from the repository root. The budget (seconds) stops it cleanly between items and",
        "the table keeps what was measured; an item is never cut, so leave room for the longest (minutes at 4K):",
        "",
        "```",
        command,
        "```",
        "",
        *lent_section(),
        "### What runs",
        "",
        "Points, in priority order: " + ", ".join(p.key for p in configs.POINTS) + "; then, at "
        f"`{configs.OPTIONS_POINT.key}` (sampling stages only), the weight dtypes "
        f"{', '.join(configs.WEIGHT_DTYPES)} and every attention function ComfyUI registers in the image. "
        "`--only KEY[,KEY]` runs a subset, `--json` keeps the raw numbers.",
        "",
        "It needs a GPU with about 60 GB free (the bf16 option holds 39 GB of LTX-2 weights); fp8 points hold",
        "20-21 GB of transformer weights. Each family is built once (seconds: random numbers drawn on the GPU),",
        "each pipeline is warmed once at 256x256 so kernels are loaded and the previous job's model state is in",
        "place (the LTX-2 pro stage 2 pays ComfyUI's LoRA patch, stage 1 the unpatch, as a worker does per job).",
        "",
        "Columns: seconds per stage between CUDA synchronisations; *peak* = `torch.cuda.max_memory_allocated` /",
        "`max_memory_reserved` over the stages; *need* = peak reserved minus models ComfyUI keeps loaded but",
        "the stage does not use (it would unload them on a smaller GPU); *smallest GPU* = the first of",
        "docs/deploy.md's GPUs whose usable memory holds *need* + "
        f"{configs.GPU_MARGIN_GIB} GiB. The text encoder (Gemma, up to ~9.5 GB fp4 or",
        "~24 GB bf16) is not run: a random tensor of its output's shape feeds the transformer (its cost is one",
        "forward pass per prompt); its real weights are in the sizes table as a load cost. The `default` weight",
        "dtype is bf16; `fp8_e4m3fn_fast` also runs the matrix products in fp8 (Ada/Hopper).",
        "Main points load fp8 weights (`fp8_e4m3fn`, the storage and per-layer cast of the templates' -fp8",
        "files; LTX-2.5's template file is int8-convrot, not measured here).",
        "",
    ]
    if sizes:
        out += [
            "## Model sizes (built on the meta device)",
            "",
            sizes_table(sizes),
            "",
            "LTX-2 transformer + text projection + VAE + audio VAE + vocoder in bf16 = 43.33 GB, against",
            "43,333,932,124 bytes for `ltx-2-19b-distilled.safetensors` (FACTS); the upscaler is 995,735,808",
            "bytes against the 995,765,578-byte file.",
            "",
        ]
    out += [
        "## What hosted APIs charge",
        "",
        "US$ per second of output video unless the tier says otherwise, against the *$ per video s* column",
        "above. Read 2026-10 to 2026-12 from the third-party pages named (../shared/reference/FACTS.md,",
        "`bench/gpu_cost/prices.py`); none was opened here: check the page before quoting a customer.",
        "",
        prices.hosted_table(),
        "",
        prices.runpod_line() + " The cost columns use the $/GPU-hour of docs/deploy.md's table "
        "(`configs.GPU_RATES`), these rates to within 2 %.",
        "",
    ]
    if tiny_run:
        meta = tiny_run["meta"]
        out += [
            "## Proof of the code path: tiny models on a CPU (not GPU costs)",
            "",
            f"`--scale tiny` on a 2-core CPU, {meta['started']}: the same families, pipelines, nodes and",
            f"options with 2-layer transformers and narrow VAEs at {configs.TINY_SIZE[0]}x{configs.TINY_SIZE[1]}, "
            f"{configs.TINY_FRAMES} frames. The seconds are CPU seconds of toy models: they say nothing about a GPU.",
            "",
            markdown_table(
                rows(tiny_run),
                [c for c in COLUMNS if c not in GPU_ONLY_COLUMNS],
            ),
            "",
        ]
    return "\n".join(out)


def lent_section() -> list[str]:
    """The lines of docs/benchmarks-gpu.md that say how a session with a lent GPU machine runs it."""
    before = (
        "A GPU machine lent to a session (this workplace's device tool: Python 3.12 with torch 2.11, no network, "
        "64 MiB of files, 15 minutes of device time) turns into the table in one call. First, here, with the "
        "package registry and ../shared/deps: `.venv/bin/python -m bench.gpu_cost.carry` builds the ignored folder "
        "build/gpu-carry (the pinned ComfyUI archive and the cp312 wheels the image lacks) and prints the "
        f"repository + folder size, which must stay under {carry.LIMIT_MIB:.0f} MiB (exit 1 otherwise). Then:"
    )
    after = (
        "`bench/gpu_cost/lent_run.sh` checks and unpacks ComfyUI, installs the wheels into a temporary folder and "
        f"runs {', '.join(carry.LENT_FIRST)} first, then the other points, then the options; no item starts after "
        "360 s (`GPU_COST_BUDGET_S`) and the run is interrupted at 540 s (`GPU_COST_HARD_S`). It returns "
        "benchmarks-gpu.md (this page with the figures), benchmarks-gpu.png and benchmarks-gpu.json, which go to "
        "docs/ as they are, table.md and log.txt, and prints the table last. PyAV is a stand-in "
        "(`bench/gpu_cost/stubs`): a run that used it fails (exit 4). What is carried and why: "
        "build/gpu-carry/manifest.json and `bench/gpu_cost/carry.py`; tests/test_gpu_carry.py runs the same two "
        "steps on the CPU at `--scale tiny`."
    )
    return [
        "### On a GPU machine lent to a session",
        "",
        *textwrap.wrap(before, 104, break_on_hyphens=False),
        "",
        "```",
        carry.LENT_CALL,
        "```",
        "",
        *textwrap.wrap(after, 104, break_on_hyphens=False),
        "",
    ]
