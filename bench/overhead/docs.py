"""docs/benchmarks.md and docs/benchmarks-overhead.png from a report (``--write-docs``).

The page is the method, the machine, the table of `report.table_rows` (ms unless a row says
otherwise), the targets, the findings and the recommended client changes; the PNG stacks each
warm run's added time (ms) by part, one bar per side.
"""

from __future__ import annotations

import json
from pathlib import Path

from .measure import Report
from .report import SIDE_LABELS, TARGET_RATIO, TARGET_REST_MS, TARGET_WORKER_RSS_MB, table_rows

#: Stacked parts of the plot: `measure.Run` attribute -> label.
PLOT_PARTS = (("ready_s", "ready check"), ("connect_s", "ws connect"), ("submit_s", "submit"),
              ("queue_s", "queue"), ("delivery_s", "end-of-prompt delivery"), ("close_s", "ws close"),
              ("history_s", "/history"), ("download_s", "download"), ("deliver_s", "probe + poster"),
              ("cleanup_s", "clean-up"), ("other_s", "other"))


def plot(report: Report, s: dict, path: Path) -> None:
    """Per-job added time (stacked parts, ms) of each warm round, one bar per side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = [*plt.get_cmap("tab10").colors, (0.2, 0.2, 0.2)]
    hatches = {"worker": None, "reference": "//", "proposed": ".."}
    sides = s["sides"]
    fig, ax = plt.subplots(figsize=(11, 5))
    n = len(report.rounds)
    width = 0.8 / len(sides)
    for j, side in enumerate(sides):
        runs = [r[side] for r in report.rounds]
        xs = [i + 1 + (j - (len(sides) - 1) / 2) * width for i in range(n)]
        bottom = [0.0] * n
        for k, (attr, label) in enumerate(PLOT_PARTS):
            vals = [max(0.0, getattr(run, attr)) * 1e3 for run in runs]
            ax.bar(xs, vals, width * 0.95, bottom=bottom, color=colors[k % len(colors)],
                   label=label if j == 0 else None, hatch=hatches[side], edgecolor="white", linewidth=0.3)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.plot(xs, [run.added_s * 1e3 for run in runs], "k_", markersize=10,
                label="wall - ComfyUI execution" if j == 0 else None)
    ax.set_xticks(range(1, n + 1))
    ax.set_xlabel("warm round; bars: " + ", ".join(
        f"{SIDE_LABELS[x]}{' (' + hatches[x] + ')' if hatches[x] else ' (plain)'}" for x in sides))
    ax.set_ylabel("time added to ComfyUI's execution (ms)")
    ax.set_title(f"Per-job overhead: {report.model} on tiny weights, ComfyUI {report.comfyui_version} (CPU)")
    ax.legend(ncol=6, fontsize=7, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _targets(report: Report, s: dict) -> list[str]:
    c = s["checks"]
    verdict = lambda key: "met" if c[key][2] else "not met"  # noqa: E731
    also = lambda key, fmt: (f"; with the proposed client: {fmt.format(c['proposed_' + key][0])}, "  # noqa: E731
                             f"**{verdict('proposed_' + key)}**" if "proposed_" + key in c else "")
    return [
        f"- worker's added time minus transfers, median: {c['rest'][0]:.0f} ms (target <= "
        f"{TARGET_REST_MS:.0f} ms): **{verdict('rest')}**{also('rest', '{:.0f} ms')}",
        f"- the same without ComfyUI's delivery of the end of the prompt (its post-prompt pause, which "
        f"the reference client pays too), median: {c['own'][0]:.0f} ms: **{verdict('own')}**"
        f"{also('own', '{:.0f} ms')}",
        f"- worker / reference wall time, median of the rounds: {c['ratio'][0]:.4f} (target <= "
        f"{TARGET_RATIO}): **{verdict('ratio')}**{also('ratio', '{:.4f}')}; at equal ComfyUI execution "
        f"time: {c['ratio_norm'][0]:.4f}, **{verdict('ratio_norm')}**",
        f"- worker resident memory: {report.worker_rss_mb:.0f} MB (peak {report.worker_peak_rss_mb:.0f} MB;"
        f" target < {TARGET_WORKER_RSS_MB:.0f} MB): **{verdict('rss')}**",
        f"- warm jobs reload no model: **{'yes' if s['warm_ok'] else 'no'}** (the cold job wrote "
        f"{s['model_loads_cold']} model-load lines to ComfyUI's log; on every warm run of every side "
        "all loader nodes were in `execution_cached` and the log gained no load line)",
    ]


def write_docs(report: Report, s: dict, md_path: Path, png_path: Path, command: str) -> None:
    """Write the benchmark page (`md_path`) and its plot (`png_path`)."""
    plot(report, s, png_path)
    header, rows = table_rows(report, s)
    table = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 2) + "---|"]
    table += ["| " + " | ".join(c.strip() for c in r) + " |" for r in rows]
    m = report.machine
    minutes = max(1, round(report.elapsed_s / 60))
    proto = (f"\n```\n{report.protocol.strip()}\n```\n" if report.protocol
             else "\n(run `python -m bench.protocol`)\n")
    text = f"""# Benchmarks: what the worker adds to ComfyUI

Reproduce (about {minutes} minutes on the machine below):

```bash
{command}
```

(`python -m bench.protocol` measures ComfyUI's pause after a prompt alone, in about 2 minutes.
The suite runs the same benchmark with `--pairs 1` against its own ComfyUI,
tests/test_bench_overhead.py, so it keeps working.)

## Method

`python -m bench.overhead` (bench/overhead/) starts a real ComfyUI {report.comfyui_version} on the
CPU with tiny generated weights (`ltx_worker.tinymodels` and the test-only text-encoder node, as
the tests do), then runs one cold job and {s['n']} warm rounds, interleaved. Each round runs the
same job `{json.dumps(report.job)}` ({report.model}) through:

- **worker**: `JobHandler` with local storage, awaited as the RunPod SDK awaits it;
- **reference client**: `bench/reference_client.py`, the smallest correct client (POST /prompt,
  websocket until `executing`/null, GET /history, GET /view), given the graph the worker built
  (its seed, prompt and file prefix rebound through the template's bindings);
- **worker + proposed client**: the same `JobHandler` with `bench/overhead/proposed.py`, the
  changes recommended below (nothing else differs).

Every run has its own seed and prompt, so ComfyUI's cache cannot skip the sampling; the loaders
stay cached, as in production. Before each run the benchmark waits, untimed, until ComfyUI
answers again, so that every run starts from an idle ComfyUI whatever the run before left behind
(see the findings: a job that returns during ComfyUI's pause leaves its remainder to the next).
ComfyUI's execution time comes from the history entry (`execution_start` -> `execution_success`
timestamps, sent on the websocket too).

The worker is measured through what `JobHandler` is handed, never by patching its modules
(bench/overhead/seam.py): its client is a subclass of the client class that times the public
calls (`is_ready`, `run_prompt`, `submit`, `history`, `download`, `forget`), its storage times
`put`, and its progress sink stamps each stage the handler reports (`queued`, ComfyUI's node
stages, `upload`, `done`). The client knows the prompt ended when it sends `GET /history` (it
does so on `executing`/null); probe + poster is the `upload` stage up to the first storage
`put`; clean-up is the history-entry delete up to the handler's return. A job in which one of
these is not seen stops the benchmark (so a refactor cannot make it measure zeros). ComfyUI's
full garbage collections are logged inside ComfyUI by a benchmark-only probe (bench/comfy_nodes);
/history reads during the prompt (the worker polls it after 5 s without a websocket message) are
off the critical path and not counted. "Transfers" are what a client must do with the result:
fetch the MP4, and for the worker also probe it (PyAV + sha256) and write the poster. Memory:
resident set of the process running the `JobHandler` (the benchmark process, before matplotlib
is imported) and of ComfyUI.

Machine: {m.get('cores')} cores ({m.get('cpu')}) shared with other work (1-minute load average
{m.get('load_avg_1m')} at the end), Python {m.get('python')}, torch {m.get('torch')}, no GPU. On tiny
weights the execution is CPU sampling and decoding and varies with the load; the added time is
the point, not the absolute numbers.

## Results

{chr(10).join(table)}

![per-job overhead](benchmarks-overhead.png)

## Targets

{chr(10).join(_targets(report, s))}

## Findings

{FINDINGS}
`python -m bench.protocol` ({report.comfyui_version}, trivial prompt, what a client waits for after
ComfyUI's `execution_success`; ms, median / max):
{proto}
{RECOMMENDATIONS}
"""
    md_path.write_text(text)


FINDINGS = """\
- **What stands in the way of the 50 ms target is ComfyUI's own end of the prompt, not the
  worker.** After `execution_success`, ComfyUI's prompt thread writes the history, queues
  `executing`/null and then, when 10 s have passed since its last collection (main.py,
  `prompt_worker`, `gc_collect_interval`; with jobs longer than 10 s that is after every job),
  runs `gc.collect()` and `soft_empty_cache()`. A full collection holds the GIL, so ComfyUI's
  server thread can neither send the queued messages nor answer a request until it ends. The
  "gc.collect()" row is measured inside ComfyUI (bench/comfy_nodes logs every full collection):
  it is most of the "execution_success -> client knows it ended" row, which the reference
  client pays exactly like the worker. When the message got out before the collection
  started, the collection delays instead the client's next request to ComfyUI (the websocket
  close handshake, `GET /history` or `GET /view`); `python -m bench.protocol` shows that with a
  trivial prompt (table below): only prompts more than 10 s apart see it.
- **The client's own time is small** (the "added - transfers - ComfyUI's pause" row):
  websocket connect ~1 ms, `POST /prompt` with ComfyUI's validation 5-20 ms, queue pick-up ~0,
  `/history` a few ms, clean-up a few ms, the rest (validation, template fill, thread hops) ~10
  ms. The websocket read timeout (`WS_POLL_S` 0.25 s) does not delay completion: `recv()`
  returns as soon as a message arrives; the timeout only bounds how late a cancel or the
  deadline is noticed. `/history` is polled only after 5 s without any message, during the
  prompt, off the critical path. There is no per-job `/object_info` fetch (read once at start,
  the "worker start" row).
- With jobs queued back to back, what is left of the pause when a job returns is paid by the
  next job's first request (the worker's readiness check `GET /system_stats`, else
  `POST /prompt`): the pause costs throughput once per job whatever the client does; what the
  client decides is whether it also sits between `execution_success` and the result.
- **The worker's real extra work is the poster and the probe** (transfers in the table):
  decoding the first frame and writing the JPEG, demuxing every packet and hashing the file;
  they are the price of the measured facts and the poster the contract asks for.
- The wall-time ratio of each round is dominated by how long ComfyUI itself ran (identical jobs
  differ by tens of percent on this shared CPU); the ratio at equal ComfyUI execution time
  compares the clients alone.
- Warm jobs reload nothing; on tiny weights the cold job costs little more than a warm one (the
  files are a few MB); with the real checkpoints it is the model load.
"""

RECOMMENDATIONS = """\
## Recommended changes (ltx_worker/comfy/client.py, ltx_worker/handler.py)

ComfyUI's pause cannot be removed from the client side when it holds back `executing`/null
itself; what the worker can do is never ask ComfyUI anything between the end of the prompt and
its result, so that a pause that starts after the message went out overlaps the worker's own
work (probe, poster) instead of adding to it, and drop the `/view` transfer on a local ComfyUI.
`bench/overhead/proposed.py` implements this as a subclass of `ComfyClient` (the third column):

1. the websocket closes with `ws.close(timeout=0)` (send the close frame, do not wait for
   ComfyUI's answer): applied to `ComfyClient` after the first run of this benchmark, so the
   worker column has it too.
2. `ComfyClient._handle`: keep, for our prompt id, each `executed` message's `output` by node id
   and the `execution_start` / `execution_cached` / `execution_success` messages (they carry the
   history entry's timestamps); `run_prompt` then returns the entry built from them
   (`{"outputs": ..., "status": {"status_str": "success", "messages": [...]}}`) and calls
   `GET /history` only when no `execution_success` was seen (reconnect, a missed message).
3. `ComfyClient.download` (or the handler): when `Settings.comfy_output_path` is known (it is
   under entrypoint.sh, which sets COMFYUI_DIR), move the MP4 out of ComfyUI's output folder
   (`os.replace`, copy across filesystems) instead of streaming it through `GET /view`; keep
   `/view` for a remote ComfyUI.
4. `JobHandler.__call__`: run `_cleanup`'s `POST /history` delete in the background after the
   result is built, and have the next job wait for it before it starts, so the isolation
   guarantee holds without a request to a paused ComfyUI on the job's path.

For ComfyUI itself (not this repository): the pause would leave the job's path if the prompt
thread let its server send `executing`/null before collecting (e.g. a short sleep or running
the collection while the queue waits for the next prompt); on a GPU worker
`soft_empty_cache()` runs in the same place.
"""
