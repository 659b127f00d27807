"""Prepare the folder a lent GPU machine needs to run the benchmark: ``python -m bench.gpu_cost.carry``.

The lent machine (this workplace's device tool: no network, only the working tree and up to 8
carried ignored paths travel, 64 MiB in all) has Python 3.12 with torch and most of ComfyUI's
requirements (`IMAGE_PACKAGES`), but not ComfyUI nor a few packages its import needs. This builds,
on a machine with the package registry, one ignored folder (default ``build/gpu-carry``):

* ``comfyui-<version>-<commit8>.tar.gz``: the pinned ComfyUI source archive, its sha256 checked
  against pins.env's COMFYUI_ARCHIVE_SHA256 (here and again there);
* ``wheels/``: what the benchmark's import of ComfyUI needs that the image lacks (`NEEDED`), at the
  versions ComfyUI's own requirements.txt pins, resolved for the target Python and platform with
  ``pip install --dry-run --report`` (dependencies the image has are left out), downloaded with
  ``pip download --no-deps``; comfy-kitchen is repacked (`REPACK`);
* ``manifest.json``: every file, its size and sha256 and why it is carried, the stubs
  (``bench/gpu_cost/stubs``, in the repository: `STUBS`) and what is left out (`NOT_CARRIED`), and
  the measured size of the repository plus the folder, which must stay under ``--limit-mib``.

``bench/gpu_cost/lent_run.sh`` is the command that runs there. Downloads and repacks are cached
(``--cache``), so a second build needs no network. Exit status: 0 built, 1 over the size limit,
2 bad input (archive missing or not the pin, a needed package absent from ComfyUI's requirements).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024**2
DEFAULT_OUT = ROOT / "build" / "gpu-carry"
DEFAULT_ARCHIVE = ROOT.parent / "shared" / "deps" / "comfyui-0.33.0-783545f6.tar.gz"
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")
LIMIT_MIB = 60.0  # the device tool's 64 MiB, less a margin for files added before the call
#: The device tool's call on a lent machine (docs/benchmarks-gpu.md), and what lent_run.sh runs first
#: (its GPU_COST_FIRST default: what studios buy), then the other points, then the options.
LENT_CALL = 'run(command="bash bench/gpu_cost/lent_run.sh", carry=["build/gpu-carry"], timeout_s=600)'
LENT_FIRST = ("ltx23-fast-720p-10s", "ltx23-fast-1080p-10s", "ltx25-fast-1080p-10s")

#: The lent machine's image (the device tool's KINDS.md, "Python packages already there", read on a
#: machine running it 2026-11-17; python3 is 3.12.3 with torch 2.11.0+cu130, numpy 2.5.2).
IMAGE_PACKAGES = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax
fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize
hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2
joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown
markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch
mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti
nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver
nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13
nvidia-nvtx onnx onnx-ir onnxruntime onnxscript opencv-python-headless opt-einsum opt-einsum-fx optax optimistix
orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker prometheus-client propcache
protobuf psutil py-cpuinfo pyarrow pybind11 pygments pyparsing pyproject-hooks pyre-extensions pytest
pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex
requests rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn scipy seaborn sentence-transformers
sentencepiece setuptools shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch torch-geometric
torchaudio torchdiffeq torchmetrics torchvision tqdm transformers treescope triton typer typing-extensions
typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp
""".split())

#: ComfyUI requirements the benchmark's import needs and the image lacks -> why (all real wheels).
NEEDED = {
    "comfy-aimdo": "imported at module level by comfy.model_management, model_patcher, pinned_memory and "
    "memory_management (host_buffer, vram_buffer, model_vbar, torch); 0.3 MB",
    "comfy-kitchen": "on the measured path: LTX-2.5's video decoder (comfy/ldm/lightricks/vae/"
    "na_diffusion_decoder.py) runs comfy_kitchen.na3d and rms_rope_ (CUDA kernels on the GPU); also imported by "
    "comfy/ldm/modules/attention.py (every transformer) and comfy/quant_ops.py (fp8 layouts)",
    "torchsde": "imported at module level by comfy/k_diffusion/sampling.py, the samplers every "
    "SamplerCustomAdvanced uses; 61 kB",
}
#: Dependencies of `NEEDED` the image lacks -> why.
DEPENDENCIES = {"trampoline": "torchsde's dependency (Requires-Dist: trampoline>=0.1.2); 5 kB"}
#: name -> path prefixes dropped from its wheel, which is then rewritten with LZMA-compressed entries.
REPACK = {"comfy-kitchen": ("comfy_kitchen/backends/hip/",)}
REPACK_WHY = ("repacked: the ROCm backend (comfy_kitchen/backends/hip, a 59 MB library) dropped, imported only "
              "under a ROCm torch (comfy_kitchen/__init__.py); entries LZMA-compressed: 58.5 MB -> about 24 MB")
LZMA_PRESET = 3  # 24 MB in ~12 s for comfy-kitchen's 176 MB CUDA library (preset 6: 21 MB in ~50 s)
#: Modules replaced by a stand-in under bench/gpu_cost/stubs -> why the measured path never calls them.
STUBS = {
    "av": "PyAV (35 MB wheel): imported at module level by comfy_api.latest (_input/_input_impl video_types, _ui) "
    "and comfy_extras.nodes_lt / nodes_audio for video files (LTXVPreprocess, SaveVideo, LoadAudio); the "
    "benchmark stops at decoded tensors and never encodes or decodes media. The stub defines only the names "
    "used at import (ColorTrc & co.); any other use raises RuntimeError and is logged to $GPU_COST_STUB_LOG, "
    "which lent_run.sh checks after the run (exit 4 if anything was called)",
}
#: ComfyUI requirements neither carried nor stubbed -> why the benchmark's import never reaches them
#: (checked: an image-only environment plus the carry runs every point and option at --scale tiny).
NOT_CARRIED = {
    "comfyui-frontend-package, comfyui-workflow-templates, comfyui-embedded-docs": "served by server.py only",
    "alembic, SQLAlchemy": "the server's user database (app/database)",
    "simpleeval, blake3, pydantic, pydantic-settings": "server, asset and API-node code, not imported",
    "kornia, spandrel, PyOpenGL, comfy-angle": "optional nodes, not imported (the benchmark loads no node pack)",
}


def norm(name: str) -> str:
    """A distribution name in PEP 503 normal form ("Comfy_Kitchen" -> "comfy-kitchen")."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pins() -> dict[str, str]:
    """pins.env as a dict (KEY=VALUE lines)."""
    lines = (ROOT / "pins.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def comfy_requirements(archive: Path) -> dict[str, str]:
    """The requirement lines of the archive's ComfyUI requirements.txt, by normalised name."""
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/requirements.txt"))
        text = tar.extractfile(member).read().decode()
    reqs = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line:
            reqs[norm(re.split(r"[<>=~!;\[ ]", line)[0])] = line
    return reqs


def _pip(*args: str) -> None:
    """Run pip quietly; on failure raise CalledProcessError with its output's tail in the message."""
    proc = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True,
                          text=True)
    if proc.returncode:
        print((proc.stdout + proc.stderr)[-3000:], file=sys.stderr)
        raise subprocess.CalledProcessError(proc.returncode, ["pip", *args])


def _target(python_version: str, platforms: tuple[str, ...]) -> list[str]:
    plats = [a for p in platforms for a in ("--platform", p)]
    return ["--only-binary=:all:", "--python-version", python_version, "--implementation", "cp", *plats]


def resolve(requirements: list[str], python_version: str, platforms: tuple[str, ...], cache: Path) -> list[dict]:
    """The distributions to carry: `requirements` and their dependencies, less the image's.

    Resolved by pip for the target Python and platforms (``--dry-run --report``, no download of
    the packages themselves). Returns [{"name", "version", "sha256"}]; cached in `cache` by the
    request, so a rebuild needs no network. Raises CalledProcessError when pip cannot resolve.
    """
    from packaging.requirements import Requirement  # pip's own dependency; imported here to keep the module light

    key = hashlib.sha256(json.dumps([requirements, python_version, platforms]).encode()).hexdigest()[:16]
    cached = cache / f"resolve-{key}.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        _pip("install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
             "--target", str(Path(tmp) / "target"), *_target(python_version, platforms), *requirements)
        installs = json.loads(report.read_text())["install"]
    by_name = {norm(i["metadata"]["name"]): i for i in installs}
    env = {"python_version": python_version, "python_full_version": f"{python_version}.0", "extra": "",
           "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "os_name": "posix"}
    todo, keep = [norm(Requirement(r).name) for r in requirements], []
    while todo:  # from the requested packages down, never into what the image has (torch and its CUDA wheels)
        name = todo.pop(0)
        if name in IMAGE_PACKAGES or name in keep:
            continue
        keep.append(name)
        for spec in by_name[name]["metadata"].get("requires_dist") or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(norm(req.name))
    out = [
        {
            "name": name,
            "version": by_name[name]["metadata"]["version"],
            "sha256": by_name[name]["download_info"].get("archive_info", {}).get("hashes", {}).get("sha256"),
        }
        for name in keep
    ]
    cache.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(out, indent=1))
    return out


def download(dist: dict, python_version: str, platforms: tuple[str, ...], cache: Path) -> Path:
    """The wheel of `dist` for the target, from `cache` or ``pip download --no-deps`` into it.

    Raises RuntimeError when the downloaded file's sha256 is not the one pip resolved.
    """
    folder = cache / "wheels"
    pattern = re.compile(re.escape(dist["name"]).replace("\\-", "[-_.]") + "-" + re.escape(dist["version"]) + "-",
                         re.I)

    def found() -> Path | None:
        hits = [p for p in folder.glob("*.whl") if pattern.match(p.name) and (dist["sha256"] in (None, sha256(p)))]
        return hits[0] if hits else None

    if folder.is_dir() and (hit := found()):
        return hit
    folder.mkdir(parents=True, exist_ok=True)
    _pip("download", "--no-deps", "--quiet", "-d", str(folder), *_target(python_version, platforms),
         f"{dist['name']}=={dist['version']}")
    hit = found()
    if hit is None:
        raise RuntimeError(f"pip download of {dist['name']}=={dist['version']}: no wheel with sha256 {dist['sha256']}")
    return hit


class _PresetLZMA(zipfile.LZMACompressor):
    """zipfile's LZMA entry compressor at `LZMA_PRESET` (the stdlib's is fixed at preset 6)."""

    def _init(self) -> bytes:
        spec = {"id": lzma.FILTER_LZMA1, "preset": LZMA_PRESET}
        props = lzma._encode_filter_properties(spec)
        self._comp = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[spec])
        return struct.pack("<BBH", 9, 4, len(props)) + props  # the zip LZMA header, as zipfile writes it


def repack(src: Path, dest: Path, drop: tuple[str, ...]) -> None:
    """Copy the wheel `src` to `dest` without the files under `drop`, every entry LZMA-compressed.

    The RECORD loses the dropped files' lines, so pip installs it as any wheel (zipfile reads LZMA).
    """
    original = zipfile.LZMACompressor
    zipfile.LZMACompressor = _PresetLZMA
    try:
        partial = dest.with_suffix(".partial")
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(partial, "w") as zout:
            for info in zin.infolist():
                if info.filename.startswith(drop):
                    continue
                data = zin.read(info)
                if info.filename.endswith(".dist-info/RECORD"):
                    lines = data.decode().splitlines(keepends=True)
                    data = "".join(ln for ln in lines if not ln.startswith(drop)).encode()
                entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                entry.external_attr, entry.compress_type = info.external_attr, zipfile.ZIP_LZMA
                zout.writestr(entry, data)
        partial.replace(dest)
    finally:
        zipfile.LZMACompressor = original


def traveling_files() -> list[str]:
    """What travels from the repository (paths relative to it): tracked files that exist and untracked
    files git does not ignore. Raises CalledProcessError outside a git checkout."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         check=True, capture_output=True).stdout
    names = sorted({n for n in out.decode().split("\0") if n})
    return [n for n in names if (ROOT / n).is_symlink() or (ROOT / n).is_file()]


def repo_bytes() -> int:
    """Bytes of `traveling_files`."""
    return sum((ROOT / n).lstat().st_size for n in traveling_files())


def tree_bytes(folder: Path) -> int:
    """Bytes of the files under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build(out: Path, archive: Path, python_version: str, platforms: tuple[str, ...], cache: Path,
          limit_mib: float = LIMIT_MIB) -> dict:
    """Build the carry folder `out` (replacing a previous one) and return its manifest.

    Raises ValueError when the archive is not the pinned ComfyUI, a `NEEDED` package is absent
    from its requirements.txt, or `out` exists and is not a carry folder; the manifest's
    ``sizes.fits`` says whether the repository plus the folder stays under `limit_mib`.
    """
    pin = pins()
    if not archive.is_file():
        raise ValueError(f"no ComfyUI archive at {archive} (../shared/deps; give --archive)")
    if sha256(archive) != pin["COMFYUI_ARCHIVE_SHA256"]:
        raise ValueError(f"{archive} is not the pinned ComfyUI {pin['COMFYUI_VERSION']} (sha256 differs from pins.env)")
    reqs = comfy_requirements(archive)
    missing = sorted(set(NEEDED) - set(reqs))
    if missing:
        raise ValueError(f"ComfyUI's requirements.txt no longer lists {missing}: revisit bench/gpu_cost/carry.py")
    if out.exists() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise ValueError(f"{out} exists and is not a carry folder (no manifest.json); not replacing it")
    shutil.rmtree(out, ignore_errors=True)
    (out / "wheels").mkdir(parents=True)
    shutil.copyfile(archive, out / archive.name)
    wheels = []
    for dist in resolve([reqs[n] for n in sorted(NEEDED)], python_version, platforms, cache):
        wheel = download(dist, python_version, platforms, cache)
        entry = {"name": dist["name"], "version": dist["version"], "file": wheel.name, "source_sha256": sha256(wheel),
                 "why": NEEDED.get(dist["name"]) or DEPENDENCIES.get(dist["name"], "a dependency pip resolved")}
        if dist["name"] in REPACK:
            packed = cache / "repacked" / f"{entry['source_sha256'][:16]}-p{LZMA_PRESET}" / wheel.name
            if not packed.is_file():
                packed.parent.mkdir(parents=True, exist_ok=True)
                repack(wheel, packed, REPACK[dist["name"]])
            entry["repacked"], entry["source_bytes"], wheel = REPACK_WHY, wheel.stat().st_size, packed
        shutil.copyfile(wheel, out / "wheels" / wheel.name)
        entry.update(bytes=wheel.stat().st_size, sha256=sha256(wheel))
        wheels.append(entry)
    manifest = {
        "python_version": python_version,
        "platforms": list(platforms),
        "comfyui": {"file": archive.name, "bytes": archive.stat().st_size, "sha256": pin["COMFYUI_ARCHIVE_SHA256"],
                    "version": pin["COMFYUI_VERSION"], "commit": pin["COMFYUI_COMMIT"]},
        "wheels": wheels,
        "stubs": {name: {"path": f"bench/gpu_cost/stubs/{name}", "why": why} for name, why in STUBS.items()},
        "not_carried": NOT_CARRIED,
    }
    repo, files, text = repo_bytes(), tree_bytes(out), ""
    for _ in range(4):  # the manifest counts its own bytes: repeat until the digits stop changing
        carry = files + len(text.encode())
        manifest["sizes"] = {"repo_bytes": repo, "carry_bytes": carry, "total_bytes": repo + carry,
                             "limit_mib": limit_mib, "fits": repo + carry <= limit_mib * MIB}
        text = json.dumps(manifest, indent=1)
    (out / "manifest.json").write_text(text)
    return manifest


def summary(manifest: dict, out: Path) -> str:
    """What was built, for people: files, sizes, stubs, the total against the limit, the device call."""
    s = manifest["sizes"]
    rel = os.path.relpath(out, ROOT)
    lines = [f"carry folder {out} for Python {manifest['python_version']}:",
             f"  {manifest['comfyui']['file']}  {manifest['comfyui']['bytes'] / MIB:.2f} MiB  (ComfyUI "
             f"{manifest['comfyui']['version']}, sha256 checked against pins.env)"]
    for w in manifest["wheels"]:
        lines.append(f"  wheels/{w['file']}  {w['bytes'] / MIB:.2f} MiB  ({w['why'][:70]}...)")
    lines += [f"  stub {name}: {info['path']}" for name, info in manifest["stubs"].items()]
    lines += [f"repository {s['repo_bytes'] / MIB:.2f} MiB + carry {s['carry_bytes'] / MIB:.2f} MiB = "
              f"{s['total_bytes'] / MIB:.2f} MiB (limit {s['limit_mib']} MiB): {'fits' if s['fits'] else 'TOO LARGE'}"]
    if rel == "build/gpu-carry":
        lines.append(f"device call: {LENT_CALL}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring for the exit status)."""
    p = argparse.ArgumentParser(prog="python -m bench.gpu_cost.carry", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the folder to build (default {DEFAULT_OUT})")
    p.add_argument("--archive", type=Path, default=Path(os.environ.get("COMFYUI_ARCHIVE") or DEFAULT_ARCHIVE),
                   help="the pinned ComfyUI source archive (default $COMFYUI_ARCHIVE or ../shared/deps/...)")
    p.add_argument("--python-version", default="3.12", help="the target Python (default 3.12, the lent machine's)")
    p.add_argument("--platform", action="append", help=f"pip platform tag, repeatable (default {', '.join(PLATFORMS)})")
    p.add_argument("--cache", type=Path, default=Path(os.environ.get("LTX_WORKER_CACHE") or
                                                      Path.home() / ".cache" / "ltx-worker") / "gpu-carry",
                   help="downloads and repacks kept between builds (default $LTX_WORKER_CACHE/gpu-carry)")
    p.add_argument("--limit-mib", type=float, default=LIMIT_MIB, help="repository + folder must stay under this")
    args = p.parse_args(argv)
    try:
        manifest = build(args.out.resolve(), args.archive, args.python_version, tuple(args.platform or PLATFORMS),
                         args.cache, args.limit_mib)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(manifest, args.out.resolve()))
    return 0 if manifest["sizes"]["fits"] else 1


if __name__ == "__main__":
    sys.exit(main())
