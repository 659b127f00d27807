"""Models fetched at start (MODELS_FETCH_PROFILES) onto a shared volume, against the Hub stand-in.

Real processes: each worker is a ``python -c`` subprocess calling
`ltx_worker.models.prefetch.prefetch_models` (the call ``worker.main`` makes before the handler
starts) with its own HF_HOME, the real huggingface_hub client and tests/hub_standin.py on
loopback; two of them start at once on one temporary "network volume". The stand-in here holds
every CDN transfer until each file has a worker waiting for its lock, then streams it slowly,
while a watcher thread looks at the final file names the whole time. The worker start-up itself
(``python handler.py``) is run up to the prefetch for the failure paths.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ltx_worker.config import PROJECT_ROOT
from ltx_worker.models.manifest import load_models_txt, select

from hub_standin import COMMIT, HubStandIn

MIB = 1024 * 1024

CHILD = """
import logging, sys
from pathlib import Path
from ltx_worker.config import load_settings
from ltx_worker.errors import WorkerError
from ltx_worker.models.prefetch import prefetch_models
logging.basicConfig(level="INFO", format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
try:
    results = prefetch_models(load_settings(), models_txt=Path(sys.argv[1]), log_every_s=0.2)
except WorkerError as err:
    print("FAILED:", err.code.value, err.message, flush=True)
    sys.exit(1)
print("RESULTS:", " ".join(f"{r.entry.relpath}={r.status}" for r in results), flush=True)
"""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class GatedHub(HubStandIn):
    """The stand-in, with CDN bodies held until `gate` is set, then sent in slow chunks."""

    chunk = 256 * 1024
    delay_s = 0.02

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def _cdn(self, h, path, head):
        if not head:
            self.gate.wait(60)
        return super()._cdn(h, path, head)

    def _send(self, h, status, headers, body, head):
        if head or len(body) <= self.chunk:
            return HubStandIn._send(h, status, headers, body, head)
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for i in range(0, len(body), self.chunk):
            h.wfile.write(body[i:i + self.chunk])
            h.wfile.flush()
            time.sleep(self.delay_s)
        return None


@pytest.fixture()
def hub():
    server = GatedHub().start()
    yield server
    server.gate.set()
    server.stop()


def child_env(tmp_path: Path, hub: HubStandIn, name: str, volume: Path, profiles: str,
              required: str = "all", unpinned: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "MODELS_", "BUCKET_", "COMFY", "RUNPOD_"))}
    env.update(HF_HOME=str(tmp_path / f"hf-home-{name}"), HF_HUB_DISABLE_TELEMETRY="1", NO_PROXY="*",
               HF_ENDPOINT=hub.url, HF_TOKEN="hf_standin_token", MODELS_FETCH_PROFILES=profiles,
               MODELS_FETCH_DIR=str(volume), MODELS_REQUIRED=required, OUTPUT_DIR=str(tmp_path / "out"),
               MODELS_FETCH_UNPINNED=str(unpinned).lower())
    return env


def start_worker(tmp_path: Path, hub: HubStandIn, name: str, volume: Path, txt: Path,
                 profiles: str = "fast", **kw) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(txt)], cwd=PROJECT_ROOT,
                                env=child_env(tmp_path, hub, name, volume, profiles, **kw),
                                stdout=fh, stderr=subprocess.STDOUT)
    return proc, log


class Watcher(threading.Thread):
    """Looks at the final names every few ms: whenever one exists it must be the whole file."""

    def __init__(self, files: dict[Path, bytes]) -> None:
        super().__init__(daemon=True)
        self.files, self.stop, self.bad, self.looks = files, threading.Event(), [], 0
        self.seen: dict[Path, float] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            for path, data in self.files.items():
                try:
                    size = path.stat().st_size
                except FileNotFoundError:
                    continue
                self.looks += 1
                if size != len(data):
                    self.bad.append(f"{path.name}: {size} of {len(data)} bytes")
                elif path not in self.seen:
                    self.seen[path] = time.monotonic()
                    if sha(path.read_bytes()) != sha(data):
                        self.bad.append(f"{path.name}: wrong content")
            time.sleep(0.003)


def wait_all(procs, timeout=120) -> None:
    for proc in procs:
        proc.wait(timeout)


def test_two_workers_on_one_volume_fetch_each_file_once(tmp_path, hub):
    # a: over huggingface_hub's 10 MiB write chunk, so its partial file grows in staging
    a, b, c = os.urandom(24 * MIB), os.urandom(3 * MIB), os.urandom(100_000)
    hub.add("org/ckpt", "split/a.safetensors", a)
    hub.add("org/ckpt", "b.safetensors", b)
    hub.add("org/enc", "c.safetensors", c)
    hub.add("org/enc", "legacy.safetensors", b"legacy only")
    txt = tmp_path / "models.txt"
    txt.write_text("\n".join([
        f"checkpoints/a.safetensors org/ckpt@{COMMIT}:split/a.safetensors {len(a)} {sha(a)} fast",
        "loras/b.safetensors org/ckpt@main:b.safetensors - - fast,pro",  # checked against the Hub
        f"text_encoders/c.safetensors org/enc@main:c.safetensors {len(c)} {sha(c)} fast",
        "checkpoints/l.safetensors org/enc@main:legacy.safetensors - - legacy",
    ]) + "\n")
    volume = tmp_path / "runpod-volume" / "models"
    # a download killed half-way by an earlier start (its owner is gone: no process holds its lock)
    stale = volume / ".download" / "deadhost-4242-0badf00d"
    (stale / "org--ckpt").mkdir(parents=True)
    (stale / "org--ckpt" / "a.safetensors.incomplete").write_bytes(b"x" * 1000)
    (volume / ".download" / "deadhost-4242-0badf00d.lock").touch()

    files = {volume / "checkpoints/a.safetensors": a, volume / "loras/b.safetensors": b,
             volume / "text_encoders/c.safetensors": c}
    watcher = Watcher(files)
    watcher.start()
    t0 = time.monotonic()
    procs = [start_worker(tmp_path, hub, name, volume, txt, unpinned=True) for name in ("w1", "w2")]
    try:
        # Hold the transfers until every file has a worker waiting for its lock.
        deadline = time.monotonic() + 60
        names = [p.relative_to(volume).as_posix() for p in files]
        while time.monotonic() < deadline:
            logs = "".join(log.read_text() for _, log in procs)
            if all(f"models: {n}: another worker is fetching it" in logs for n in names):
                break
            time.sleep(0.05)
        waited_at = time.monotonic()
        hub.gate.set()
        wait_all([p for p, _ in procs])
    finally:
        hub.gate.set()
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
        watcher.stop.set()
        watcher.join()
    took = time.monotonic() - t0
    outs = [log.read_text() for _, log in procs]
    for (proc, _), out in zip(procs, outs, strict=True):
        assert proc.returncode == 0, out
        assert "RESULTS:" in out
    both = "".join(outs)
    for name in names:
        assert f"models: {name}: another worker is fetching it" in both, both
        assert f"models: {name}: placed by another worker" in both, both
        assert both.count(f"models: fetched {name}:") == 1, both

    # each file crossed the network once; the legacy file not at all
    for repo_path in ("org/ckpt/split/a.safetensors", "org/ckpt/b.safetensors", "org/enc/c.safetensors"):
        assert len(hub.seen("GET", f"/cdn/{repo_path}")) == 1, repo_path
    assert not hub.seen("GET", "/cdn/org/enc/legacy.safetensors")
    # the token goes to the Hub, never to the CDN
    heads = hub.seen("HEAD", "/resolve/")
    assert heads and all(r.headers.get("authorization") == "Bearer hf_standin_token" for r in heads)
    assert all("authorization" not in r.headers for r in hub.seen("GET", "/cdn/"))

    # both workers end with the verified files; never a partial one under a final name
    for path, data in files.items():
        assert sha(path.read_bytes()) == sha(data)
    assert not watcher.bad, watcher.bad
    assert watcher.looks > 100 and set(watcher.seen) == set(files)
    assert "sha256 matches models.txt" in both and "sha256 matches the Hub's sha256" in both
    # progress in the log, and nothing left behind: staging (the stale one too) and lock files
    assert "another worker is fetching checkpoints/a.safetensors (10.5 MB so far)" in both, both
    shares = [int(m) for m in re.findall(r"models: [\d.]+ [kM]?B of [\d.]+ MB \((\d+)%\), [\d.]+ [kM]B/s, "
                                           r"about \d+s left", both)]
    assert shares and max(shares) <= 100, both
    assert "removing" in both and "left by a download that did not finish" in both
    assert not (volume / ".download").exists()
    assert not list(volume.rglob("*.lock"))
    assert sorted(p.relative_to(volume).as_posix() for p in volume.rglob("*") if p.is_file()) == sorted(names)
    print(f"two workers, {sum(map(len, files.values()))} bytes: {took:.1f} s in all, "
          f"{time.monotonic() - waited_at:.1f} s after the gate; watcher looked {watcher.looks} times")

    # A third start finds everything (size check only): no transfer at all.
    before = len(hub.requests)
    proc, log = start_worker(tmp_path, hub, "w3", volume, txt, unpinned=True)
    proc.wait(60)
    out = log.read_text()
    assert proc.returncode == 0, out
    assert "to fetch (0 B)" in out and "0 fetched here" in out and "3 already there" in out
    assert len(hub.requests) == before


def test_a_hash_mismatch_leaves_no_file_and_fails_clearly(tmp_path, hub):
    good, bad = os.urandom(2 * MIB), os.urandom(2 * MIB)
    hub.add("org/a", "a.safetensors", bad, advertised_sha256=sha(good))  # the CDN serves other bytes
    txt = tmp_path / "models.txt"
    txt.write_text(f"checkpoints/a.safetensors org/a@main:a.safetensors {len(good)} {sha(good)} fast\n")
    volume = tmp_path / "vol" / "models"
    volume.parent.mkdir()
    final = volume / "checkpoints" / "a.safetensors"
    watcher = Watcher({final: good})
    watcher.start()
    hub.gate.set()
    procs = [start_worker(tmp_path, hub, name, volume, txt) for name in ("w1", "w2")]
    try:
        wait_all([p for p, _ in procs])
    finally:
        watcher.stop.set()
        watcher.join()
    for proc, log in procs:
        out = log.read_text()
        assert proc.returncode == 1, out
        assert (f"FAILED: MODEL_MISSING MODELS_FETCH_PROFILES: could not fetch checkpoints/a.safetensors "
                f"(checkpoints/a.safetensors: hash mismatch against models.txt values (sha256 {sha(bad)}, "
                f"expected {sha(good)}): file deleted); MODELS_REQUIRED=all") in out, out
    assert not final.exists() and not watcher.seen and not watcher.bad
    assert not [p for p in volume.rglob("*") if p.is_file()]  # no partial, staging or lock file
    # one after the other (the second took the lock when the first had failed): two transfers
    assert len(hub.seen("GET", "/cdn/org/a/a.safetensors")) == 2


def test_available_goes_on_without_the_file(tmp_path, hub):
    hub.gate.set()
    txt = tmp_path / "models.txt"
    txt.write_text(f"checkpoints/x.safetensors org/nope@main:x.safetensors 10 {'0' * 64} fast\n")
    (tmp_path / "vol").mkdir()
    proc, log = start_worker(tmp_path, hub, "w1", tmp_path / "vol" / "models", txt, required="available")
    proc.wait(60)
    out = log.read_text()
    assert proc.returncode == 0, out
    assert "could not fetch checkpoints/x.safetensors: checkpoints/x.safetensors: repo org/nope not found" in out
    assert "going on without them (MODELS_REQUIRED=available)" in out
    assert "RESULTS: checkpoints/x.safetensors=error" in out


def test_unpinned_entries_are_refused_by_name_before_any_transfer(tmp_path, hub):
    """Issue 23, finding 12: a models.txt entry without size and sha256 would take whatever the
    Hub's branch serves. By default it is not fetched: named in the error, nothing transferred;
    one already on the volume is kept with a warning; the pinned entry is fetched (available)."""
    hub.gate.set()
    data = os.urandom(100_000)
    hub.add("org/a", "a.safetensors", data)
    hub.add("org/a", "u.safetensors", b"unpinned")
    txt = tmp_path / "models.txt"
    txt.write_text(f"checkpoints/a.safetensors org/a@main:a.safetensors {len(data)} {sha(data)} fast\n"
                   "loras/u.safetensors org/a@main:u.safetensors - - fast\n"
                   "loras/here.safetensors org/a@main:here.safetensors - - fast\n")
    volume = tmp_path / "vol" / "models"
    (volume / "loras").mkdir(parents=True)
    (volume / "loras" / "here.safetensors").write_bytes(b"put there by someone")
    proc, log = start_worker(tmp_path, hub, "w1", volume, txt)
    proc.wait(60)
    out = log.read_text()
    assert proc.returncode == 1, out
    assert ("MODELS_FETCH_PROFILES: could not fetch loras/u.safetensors (not pinned in models.txt (no size and "
            "sha256): loras/u.safetensors;") in out, out
    assert not hub.requests  # refused before any request
    proc, log = start_worker(tmp_path, hub, "w2", volume, txt, required="available")
    proc.wait(60)
    out = log.read_text()
    assert proc.returncode == 0, out
    assert "loras/here.safetensors: on the volume, but models.txt gives no size and sha256" in out
    assert "RESULTS: checkpoints/a.safetensors=downloaded" in out and "u.safetensors" not in out.split("RESULTS:")[1]
    assert not hub.seen("GET", "/cdn/org/a/u.safetensors")
    assert not (volume / "loras" / "u.safetensors").exists()


def test_without_file_locks_the_fetch_still_works(tmp_path, hub):
    """A volume whose file system has no flock (ENOSYS): one warning, then unlocked downloads."""
    hub.gate.set()
    data = os.urandom(300_000)
    hub.add("org/a", "a.safetensors", data)
    txt = tmp_path / "models.txt"
    txt.write_text(f"checkpoints/a.safetensors org/a@main:a.safetensors {len(data)} {sha(data)} fast\n")
    volume = tmp_path / "vol" / "models"
    volume.parent.mkdir()
    no_locks = ("import errno, fcntl\n"
                "def refuse(fd, op):\n"
                "    raise OSError(errno.ENOSYS, 'Function not implemented')\n"
                "fcntl.flock = refuse\n")
    env = child_env(tmp_path, hub, "w1", volume, "fast")
    proc = subprocess.run([sys.executable, "-c", no_locks + CHILD, str(txt)], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert out.count("file locks are not supported") == 1 and "Function not implemented" in out
    assert "RESULTS: checkpoints/a.safetensors=downloaded" in out
    assert (volume / "checkpoints" / "a.safetensors").read_bytes() == data
    assert not (volume / ".download").exists()


# -- the real worker start-up, up to the prefetch ------------------------------------------------


def run_worker(tmp_path: Path, hub: HubStandIn, volume: Path, profiles: str) -> subprocess.CompletedProcess:
    env = child_env(tmp_path, hub, "worker", volume, profiles)
    env.update(COMFY_PORT="9", COMFY_READY_TIMEOUT_S="1")  # never reached when the prefetch fails
    return subprocess.run([sys.executable, "handler.py"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_worker_start_refuses_when_the_profile_cannot_be_fetched(tmp_path, hub):
    """The repository's models.txt, with the stand-in serving other bytes for the legacy files:
    the size the Hub advertises contradicts models.txt, so nothing is transferred."""
    hub.gate.set()
    legacy = select(load_models_txt(PROJECT_ROOT / "models.txt"), ["legacy"])
    for e in legacy:
        hub.add(e.repo, e.repo_path, b"not the model")
    volume = tmp_path / "vol" / "models"
    volume.parent.mkdir()
    proc = run_worker(tmp_path, hub, volume, "legacy")
    assert proc.returncode == 1, proc.stderr
    assert "the worker cannot take jobs: [MODEL_MISSING] MODELS_FETCH_PROFILES: could not fetch" in proc.stderr
    for e in legacy:
        assert f"{e.relpath}: the Hub serves 13 bytes at {e.revision}, models.txt says {e.size}" in proc.stderr
    assert "models: profiles legacy in" in proc.stderr and "HF_TOKEN set" in proc.stderr
    assert not hub.seen("GET", "/cdn/")
    assert not [p for p in volume.rglob("*") if p.is_file()]


def test_worker_start_without_the_volume_says_so(tmp_path, hub):
    proc = run_worker(tmp_path, hub, tmp_path / "no-volume" / "models", "fast")
    assert proc.returncode == 1, proc.stderr
    assert "does not exist (no network volume attached to the endpoint?)" in proc.stderr
    assert not hub.requests


def test_unknown_profile_is_a_config_error(tmp_path, hub):
    proc = run_worker(tmp_path, hub, tmp_path / "models", "fast,turbo")
    assert proc.returncode == 2
    assert "MODELS_FETCH_PROFILES: unknown profile(s) turbo" in proc.stderr
