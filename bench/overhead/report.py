"""Report: medians and p90s over the warm rounds, the ratios to the reference client, the
targets, and the table (stdout and docs/benchmarks.md share its rows).

Table cells are milliseconds unless the row says otherwise; ratios are plain numbers.
"""

from __future__ import annotations

import math
import statistics

from .measure import Report

#: Targets of the "Performance and the local experience" issue.
TARGET_REST_MS = 50.0
TARGET_RATIO = 1.05
TARGET_WORKER_RSS_MB = 300.0

SIDES = ("worker", "reference", "proposed")
SIDE_LABELS = {"worker": "worker", "reference": "reference client",
               "proposed": "worker + proposed client"}
#: `measure.Run` attributes summarised per side (seconds).
ATTRS = ("comfy_s", "wall_s", "added_s", "ready_s", "connect_s", "submit_s", "queue_s", "delivery_s",
         "close_s", "history_s", "download_s", "deliver_s", "storage_s", "cleanup_s", "other_s",
         "gc_s", "pause_s", "net_transfers_s", "transfers_s", "rest_s", "own_s")


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values` by linear interpolation."""
    values = sorted(values)
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def summarize(report: Report) -> dict:
    """Medians/p90s per side over the warm rounds (s; None where a part was not measured),
    wall-time ratios to the reference (pairwise, and at a common ComfyUI execution time), the
    target checks on the worker as it is, and the warm-load check."""
    rounds = report.rounds
    sides = [s for s in SIDES if all(s in r for r in rounds)]
    stats: dict[str, dict[str, tuple[float, float] | None]] = {}
    for side in sides:
        runs = [r[side] for r in rounds]
        stats[side] = {}
        for attr in ATTRS:
            values = [getattr(x, attr) for x in runs]
            stats[side][attr] = (None if any(v is None for v in values)
                                 else (statistics.median(values), quantile(values, 0.9)))
    ratios = {}
    for side in sides:
        if side != "reference":
            vals = [r[side].wall_s / r["reference"].wall_s for r in rounds]
            ratios[side] = (statistics.median(vals), quantile(vals, 0.9))
    # the same comparison at one ComfyUI execution time: on a shared CPU identical jobs differ
    # by tens of percent between runs, whatever the client
    pooled = statistics.median([r[x].comfy_s for r in rounds for x in sides])
    ref_added = stats["reference"]["added_s"][0]
    norm = {x: (pooled + stats[x]["added_s"][0]) / (pooled + ref_added) for x in ratios}
    warm_ok = all(x.model_loads == 0 and x.cached_loaders[0] == x.cached_loaders[1]
                  for r in rounds for x in r.values())
    checks = {}
    for side, prefix in (("worker", ""), ("proposed", "proposed_")):
        if side not in stats:
            continue
        rest, own = stats[side]["rest_s"][0] * 1e3, stats[side]["own_s"][0] * 1e3
        checks[prefix + "rest"] = (rest, TARGET_REST_MS, rest <= TARGET_REST_MS)
        checks[prefix + "own"] = (own, TARGET_REST_MS, own <= TARGET_REST_MS)
        checks[prefix + "ratio"] = (ratios[side][0], TARGET_RATIO, ratios[side][0] <= TARGET_RATIO)
    checks["ratio_norm"] = (norm["worker"], TARGET_RATIO, norm["worker"] <= TARGET_RATIO)
    checks["rss"] = (report.worker_rss_mb, TARGET_WORKER_RSS_MB, report.worker_rss_mb < TARGET_WORKER_RSS_MB)
    checks["warm"] = (None, None, warm_ok)
    return {"n": len(rounds), "sides": sides, "stats": stats, "ratios": ratios,
            "ratios_norm": norm, "pooled_comfy_s": pooled, "warm_ok": warm_ok,
            "model_loads_cold": report.cold.model_loads if report.cold else None, "checks": checks}


def worker_ratio(s: dict) -> float:
    """The worker's median wall-time ratio to the reference client (finite, or NaN)."""
    value = s["ratios"]["worker"][0]
    return value if math.isfinite(value) else math.nan


def table_rows(report: Report, s: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the result table; ms unless the row says otherwise."""
    sides, st = s["sides"], s["stats"]
    workers = tuple(x for x in sides if x != "reference")

    def cell(side: str, attr: str, p90: bool, only: tuple[str, ...]) -> str:
        value = st[side][attr]
        if (only and side not in only) or value is None:
            return "-"
        med, p9 = value
        return f"{med * 1e3:,.0f} / {p9 * 1e3:,.0f}" if p90 else f"{med * 1e3:,.1f}"

    def row(label: str, attr: str, note: str = "", p90: bool = False, only: tuple[str, ...] = ()) -> list[str]:
        return [label, *[cell(side, attr, p90, only) for side in sides], note]

    ok = {k: ("met" if v[2] else "NOT met") for k, v in s["checks"].items()}
    also = lambda key: f"; proposed: {ok['proposed_' + key]}" if "proposed_" + key in ok else ""  # noqa: E731
    cold = report.cold
    video_mb = (cold or report.rounds[0]["worker"]).video_bytes / 1e6
    gc_note = "logged inside ComfyUI" if st["worker"]["gc_s"] is not None else "not logged (attached ComfyUI)"
    rows = [
        row("ComfyUI execution (history start -> success), median / p90", "comfy_s",
            "the same work on every side", p90=True),
        row("wall time, median / p90", "wall_s", "", p90=True),
        row("added = wall - ComfyUI execution, median / p90", "added_s", "", p90=True),
        row("  readiness check (GET /system_stats)", "ready_s", "", only=workers),
        row("  websocket connect", "connect_s", "worker: run_prompt start -> POST /prompt"),
        row("  submit (POST /prompt)", "submit_s", "ComfyUI validates the graph"),
        row("  queue (answered -> execution_start)", "queue_s", "ComfyUI's clock: +-1 ms"),
        row("  ComfyUI: execution_success -> client knows it ended", "delivery_s",
            "executing/null; ComfyUI's end of prompt (+ its pause)"),
        row("  websocket close", "close_s", "reference: handshake; worker: frame only"),
        row("  GET /history after the prompt", "history_s", ""),
        row("  transfer: MP4 download (GET /view)", "download_s",
            f"{video_mb:.1f} MB" + ("; proposed: local move" if "proposed" in sides else "")),
        row("  transfer: probe + poster (PyAV + sha256, first frame -> JPEG)", "deliver_s",
            "'upload' stage -> storage", only=workers),
        row("  storage (local: nothing copied)", "storage_s", "", only=workers),
        row("  clean-up (history entry + files) and return", "cleanup_s", "", only=workers),
        row("  other (validation, fill, threads)", "other_s", "the rest"),
        row("ComfyUI's gc.collect() after the prompt", "gc_s", gc_note),
        row("ComfyUI's pause on the client's path", "pause_s", "delivery + gc the client's requests waited for"),
        row("transfers (download without the pause, probe, poster)", "net_transfers_s", ""),
        row("added - transfers, median / p90", "rest_s",
            f"target worker <= {TARGET_REST_MS:.0f} ms: {ok['rest']}{also('rest')}", p90=True),
        row("added - transfers - ComfyUI's pause, median / p90", "own_s",
            f"the client's own; target <= {TARGET_REST_MS:.0f} ms: {ok['own']}{also('own')}", p90=True),
        ["ratio wall / reference wall (pairwise), median / p90",
         *[(f"{s['ratios'][x][0]:.4f} / {s['ratios'][x][1]:.4f}" if x in s["ratios"] else "1") for x in sides],
         f"target <= {TARGET_RATIO}: {ok['ratio']}{also('ratio')}"],
        ["ratio at equal ComfyUI execution (median added)",
         *[(f"{s['ratios_norm'][x]:.4f}" if x in s["ratios_norm"] else "1") for x in sides],
         f"at {s['pooled_comfy_s']:.1f} s; target <= {TARGET_RATIO}: {ok['ratio_norm']}"],
    ]
    blank = [""] * (len(sides) - 1)
    comfy_mb = f"ComfyUI {report.comfy_rss_mb:,.0f} MB" if report.comfy_rss_mb else "ComfyUI not measured"
    rows += [
        ["resident memory, worker process (MB)",
         f"{report.worker_rss_mb:.0f} (peak {report.worker_peak_rss_mb:.0f})", *blank,
         f"target < {TARGET_WORKER_RSS_MB:.0f} MB: {ok['rss']}; {comfy_mb}"],
        ["ComfyUI cold start to ready (s)",
         f"{report.cold_start_s:.2f}" if report.cold_start_s is not None else "-", *blank,
         "process start -> /system_stats answers" if not report.attached else "attached: already running"],
        ["worker start (s)", f"{report.worker_start_s:.2f}", *blank, "/object_info + template checks"],
        ["first job after start, cold (s)", f"{cold.wall_s:.2f}" if cold else "-", *blank,
         f"ComfyUI {cold.comfy_s:.2f} s, {cold.model_loads} model-load lines in its log" if cold
         else "skipped (--no-cold): round 1's worker job was the first"],
        ["warm job, median (s)", *[f"{st[x]['wall_s'][0]:.2f}" for x in sides],
         "tiny weights: loading is cheap, CPU load varies"],
        ["warm jobs reload no model", "yes" if s["warm_ok"] else "NO", *blank,
         "every loader in execution_cached, no load lines"],
    ]
    return ["", *[SIDE_LABELS[x] for x in sides], ""], rows


def title(report: Report, s: dict) -> str:
    """One line naming the job, the ComfyUI and the rounds."""
    job = report.job
    return (f"{report.model} {job['quality']} {job['resolution']} {job['aspect_ratio']} {job['duration']} s"
            f" on ComfyUI {report.comfyui_version} (CPU, tiny weights), {s['n']} warm rounds; ms unless said")


def print_table(report: Report, s: dict) -> None:
    """The result table on stdout (rich), then the worker's ratio on a line of its own."""
    from rich.console import Console
    from rich.table import Table

    header, rows = table_rows(report, s)
    table = Table(title=title(report, s), title_justify="left")
    for i, col in enumerate(header):
        table.add_column(col, justify="left" if i in (0, len(header) - 1) else "right")
    for r in rows:
        table.add_row(*r)
    console = Console()
    if not console.is_terminal:
        console = Console(width=180)
    console.print(table)
    print(f"ratio worker / reference wall time (median of {s['n']} rounds): {worker_ratio(s):.4f}")
