"""What the worker adds on top of ComfyUI: the same job through the worker and a minimal client.

``python -m bench.overhead [--pairs 10] [--write-docs]`` starts a real ComfyUI (CPU, tiny
generated weights; $COMFYUI_DIR or the installed tree), or uses a running one (``--comfy-url``),
then runs:

* one cold job through the worker (the first after the worker started: it loads every model;
  ``--no-cold`` skips it);
* ``--pairs`` warm rounds, interleaved: the job through the worker (`JobHandler`, local storage,
  awaited as the RunPod SDK awaits it), the same filled graph through
  `bench.reference_client.ReferenceClient` (POST /prompt, websocket, /history, /view only), and
  the worker again with `bench.overhead.proposed.ProposedComfyClient` (the recommended changes;
  ``--no-proposed`` skips it);
* with ``--write-docs``, `bench.protocol`'s measurement of ComfyUI's pause after a prompt
  (``--protocol-prompts``, 0 to skip) on the same server.

It prints one table (medians and p90 over the warm rounds; milliseconds unless said) and the
worker / reference wall-time ratio, and checks that warm jobs never reload a model.
``--write-docs`` writes docs/benchmarks.md and docs/benchmarks-overhead.png; ``--json PATH`` the
raw per-run numbers. Exit status 0 when the worker meets every target, 1 when it misses one.

Modules, by concern: `seam` (what the handler is handed to be measured), `runner` (the server,
the sides, the rounds), `measure` (one run's parts), `report` (statistics, targets, table),
`docs` (the page and plot), `proposed` (the proposed client), `cli` (the command).
"""
