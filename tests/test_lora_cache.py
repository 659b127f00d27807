"""The LoRA cache (issue 20): content-addressed, revalidated, shared by processes, evicted LRU.

A real HTTP server on loopback serves LoRA files with ETag and Last-Modified and answers
conditional requests; it counts full and conditional requests. The worker's SSRF check stays on:
the one fake in this file makes the name ``public.test`` resolve to that loopback server (as
tests/test_hostile_input.py does for its redirect test), in this process and in the two worker
processes of the concurrency test; every other name gets the SDK's real checks.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from ltx_worker.errors import WorkerError
from ltx_worker.input_budget import NO_BUDGET
from ltx_worker.loras.cache import BY_HASH, FETCHED, REVALIDATED, LoraCache
from ltx_worker.loras.header import HeaderError, read_header

from standins import RESOLVE_PUBLIC_TEST, LoraServer, public_test_on_loopback
from support import make_test_image

ROOT = Path(__file__).resolve().parents[1]


def lora_bytes(tmp_path: Path, seed: int, rows: int = 64) -> bytes:
    rng = np.random.default_rng(seed)
    path = tmp_path / f"src-{seed}-{rows}.safetensors"
    save_file({"diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": rng.random((4, rows), np.float32),
               "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight": rng.random((rows, 4), np.float32)},
              str(path))
    return path.read_bytes()


@pytest.fixture
def server(monkeypatch):
    public_test_on_loopback(monkeypatch)
    srv = LoraServer()
    yield srv
    srv.shutdown()


def get(cache: LoraCache, url: str | None, sha256: str | None = None, max_bytes: int = 1 << 20, check=read_header):
    return cache.get(field="loras[0]", url=url, sha256=sha256, check=check, max_bytes=max_bytes,
                     clock=NO_BUDGET.file_clock("loras[0]", 30))


def final_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("*.safetensors"))


def test_fetched_then_found_by_hash_then_revalidated_then_refetched_when_changed(server, tmp_path):
    cache = LoraCache(tmp_path / "cache", max_bytes=1 << 30, min_age_s=0)
    first = lora_bytes(tmp_path, 1)
    server.files["/style.safetensors"] = first
    url = server.url("/style.safetensors?X-Amz-Signature=abc")

    t0 = time.perf_counter()
    lora, header = get(cache, url)
    fetched_s = time.perf_counter() - t0
    assert lora.hit == FETCHED and lora.sha256 == hashlib.sha256(first).hexdigest()
    assert lora.name == f"{lora.sha256}.safetensors" and lora.path.read_bytes() == first
    assert header.tensors and (server.full, server.conditional) == (1, 0)

    t0 = time.perf_counter()
    again, _ = get(cache, url, sha256=lora.sha256)
    by_hash_s = time.perf_counter() - t0
    assert again.hit == BY_HASH and (server.full, server.conditional) == (1, 0), "nothing requested"

    t0 = time.perf_counter()
    third, _ = get(cache, url)
    revalidate_s = time.perf_counter() - t0
    assert third.hit == REVALIDATED and third.sha256 == lora.sha256 and (server.full, server.conditional) == (1, 1)

    changed = lora_bytes(tmp_path, 2)
    server.files["/style.safetensors"] = changed
    fourth, _ = get(cache, url)
    assert fourth.hit == FETCHED and fourth.sha256 == hashlib.sha256(changed).hexdigest()
    assert lora.path.read_bytes() == first, "the file another job may use was not swapped"
    assert final_files(cache.root) == sorted([lora.name, fourth.name])
    print(f"LoRA cache, {len(first)} bytes on loopback: fetched {fetched_s * 1000:.1f} ms, "
          f"by sha256 {by_hash_s * 1000:.2f} ms, revalidated {revalidate_s * 1000:.1f} ms")


def test_a_bad_download_leaves_nothing_behind(server, tmp_path):
    cache = LoraCache(tmp_path / "cache", max_bytes=1 << 30, min_age_s=0)
    good = lora_bytes(tmp_path, 3)
    server.files["/a.safetensors"] = good
    server.files["/pic.safetensors"] = make_test_image(64, 64)

    with pytest.raises(WorkerError, match=r"loras\[0\]: the downloaded file's sha256 is"):
        get(cache, server.url("/a.safetensors"), sha256="0" * 64)
    with pytest.raises(HeaderError, match="it is a PNG image"):
        get(cache, server.url("/pic.safetensors"))
    with pytest.raises(WorkerError, match=r"larger than the 100 byte limit"):  # by Content-Length
        get(cache, server.url("/a.safetensors"), max_bytes=100)
    server.lie_about_length = 0  # no Content-Length: cut off while streaming
    with pytest.raises(WorkerError, match=r"larger than the 100 byte limit"):
        get(cache, server.url("/a.safetensors"), max_bytes=100)
    for url in ("http://127.0.0.1:9/x.safetensors", "http://169.254.169.254/x", "file:///etc/passwd",
                server.url("/redirect-to-loopback")):
        with pytest.raises(WorkerError, match=r"loras\[0\]: URL refused"):
            get(cache, url)
    with pytest.raises(WorkerError, match="sha256 must be 64 lowercase hex digits"):
        get(cache, server.url("/a.safetensors"), sha256="../../x")
    with pytest.raises(WorkerError, match="no LoRA with sha256"):
        get(cache, None, sha256="1" * 64)
    assert final_files(cache.root) == []
    assert not list((cache.root / ".urls").iterdir())
    assert not [p for p in (cache.root / ".download").rglob("*") if p.is_file()] \
        if (cache.root / ".download").exists() else True


def test_eviction_keeps_the_cap_and_spares_held_and_recent_files(server, tmp_path):
    blobs = [lora_bytes(tmp_path, 10 + i, rows=256) for i in range(4)]
    size = len(blobs[0])
    cache = LoraCache(tmp_path / "cache", max_bytes=int(2.5 * size), min_age_s=0)
    got = []
    for i, body in enumerate(blobs[:2]):
        server.files[f"/{i}.safetensors"] = body
        got.append(get(cache, server.url(f"/{i}.safetensors"))[0])
        os.utime(got[-1].path, (time.time() - 100 + i, time.time() - 100 + i))  # 0 is the least recently used
    with cache.hold(got[0]):
        server.files["/2.safetensors"] = blobs[2]
        got.append(get(cache, server.url("/2.safetensors"))[0])
        assert got[0].path.exists() and not got[1].path.exists(), "the held file was spared, the next LRU went"
    server.files["/3.safetensors"] = blobs[3]
    got.append(get(cache, server.url("/3.safetensors"))[0])
    assert not got[0].path.exists() and got[2].path.exists() and got[3].path.exists()
    assert sum(p.stat().st_size for p in cache.root.glob("*.safetensors")) <= cache.max_bytes

    recent = LoraCache(tmp_path / "recent", max_bytes=1, min_age_s=3600)
    kept = [get(recent, server.url(f"/{i}.safetensors"))[0] for i in range(2)]
    assert all(k.path.exists() for k in kept), "files used within min_age_s are never evicted"


WORKER = RESOLVE_PUBLIC_TEST + """
import json, sys
from pathlib import Path
from ltx_worker.input_budget import NO_BUDGET
from ltx_worker.loras.cache import LoraCache
from ltx_worker.loras.header import read_header
cache = LoraCache(Path(sys.argv[1]), max_bytes=1 << 30, min_age_s=0)
lora, _ = cache.get(field="loras[0]", url=sys.argv[2], sha256=None, check=read_header, max_bytes=1 << 30,
                    clock=NO_BUDGET.file_clock("loras[0]", 60))
print(json.dumps({"sha256": lora.sha256, "hit": lora.hit}))
"""


def test_two_worker_processes_fetch_one_lora_once_and_never_show_a_partial_file(server, tmp_path):
    body = lora_bytes(tmp_path, 20, rows=4096)  # ~130 KB, dripped in 4 KB pieces: ~0.3 s
    server.files["/shared.safetensors"] = body
    server.drip_s = 0.01
    root = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if k != "RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(root), server.url("/shared.safetensors")],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    seen_sizes = set()
    while any(p.poll() is None for p in procs):
        for path in root.glob("*.safetensors") if root.exists() else []:
            try:
                seen_sizes.add(path.stat().st_size)
            except FileNotFoundError:
                pass
        time.sleep(0.005)
    outs = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    results = [json.loads(o[0]) for o in outs]
    assert {r["sha256"] for r in results} == {hashlib.sha256(body).hexdigest()}
    assert sorted(r["hit"] for r in results) == [FETCHED, REVALIDATED]
    assert (server.full, server.conditional) == (1, 1), "one download, then one conditional request"
    assert seen_sizes <= {len(body)}, f"a partial file had a final name: sizes {seen_sizes}"


def test_the_cache_is_where_the_settings_say(tmp_path):
    from ltx_worker.config import load_settings

    cache = LoraCache.from_settings(load_settings(lora_cache_dir=tmp_path / "c", lora_cache_bytes=123,
                                                  lora_cache_min_age_s=5))
    assert (cache.root, cache.max_bytes, cache.min_age_s) == (tmp_path / "c", 123, 5)
    volume = tmp_path / "runpod-volume"
    volume.mkdir()
    assert load_settings(models_fetch_dir=volume / "models").lora_cache_path == volume / "loras-cache"
    assert load_settings(models_fetch_dir=tmp_path / "absent" / "models").lora_cache_path == \
        Path.home() / ".cache" / "ltx-worker" / "loras"


# -- fetch_lora: the cache with the checks, on the generator's real tiny files --------------------

def test_a_url_lora_is_checked_against_the_jobs_model_before_it_is_cached(server, tmp_path, tiny_models):
    from ltx_worker.input_budget import InputBudget
    from ltx_worker.loras.fetch import fetch_lora

    cache = LoraCache(tmp_path / "cache", max_bytes=1 << 30, min_age_s=0)
    ckpt = tiny_models / "checkpoints" / "ltx-2-19b-dev-fp8.safetensors"
    camera = (tiny_models / "loras" / "ltx-2-19b-lora-camera-control-dolly-in.safetensors").read_bytes()
    other = (tiny_models / "loras" /
             "ltx_2.3_22b_distilled_1.1_lora_dynamic_fro09_avg_rank_111_bf16.safetensors").read_bytes()
    server.files.update({"/camera.safetensors": camera, "/other.safetensors": other,
                         "/pic.safetensors": make_test_image(32, 32)})

    def fetch(path: str, budget: InputBudget = NO_BUDGET, timeout_s: float = 30):
        return fetch_lora(cache, field="loras[1]", url=server.url(path), sha256=None, family="ltx2",
                          model_file=ckpt, max_bytes=1 << 30, timeout_s=timeout_s, budget=budget)

    lora, fit = fetch("/camera.safetensors")
    assert lora.hit == FETCHED and fit.modules > 10 and lora.sha256 == hashlib.sha256(camera).hexdigest()
    for path, says in (("/other.safetensors", "names no weight of the ltx2 model"),
                       ("/pic.safetensors", "not a safetensors file: it is a PNG image")):
        with pytest.raises(WorkerError) as err:
            fetch(path)
        assert err.value.code.value == "INVALID_INPUT" and err.value.message.startswith("loras[1]: ")
        assert says in err.value.message
    assert final_files(cache.root) == [lora.name], "refused files are not cached"

    server.drip_s = 0.05
    with pytest.raises(WorkerError, match=r"loras\[1\]: the download took longer than the 0.3 s a file may "
                                          r"take \(LORA_FETCH_TIMEOUT_S\)"):
        fetch("/other.safetensors", timeout_s=0.3)
