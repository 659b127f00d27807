"""Starting a local ComfyUI server process (tests, the demo and benchmarks; entrypoint.sh does
the same in bash for production).
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

#: Linux prctl(2) option: the signal a process gets when the thread that started it ends.
PR_SET_PDEATHSIG = 1

#: ComfyUI's model folders LTX-2 and LTX-Video use (SPEC.md, "Models and deployment").
MODEL_FOLDERS = (
    "checkpoints",
    "text_encoders",
    "clip",
    "loras",
    "latent_upscale_models",
    "vae",
    "diffusion_models",
    "upscale_models",
    "geometry_estimation",
)


#: Environment variables ComfyUI gets (`comfy_environment`): what Python, torch, CUDA and the
#: locale need to run and what tells ComfyUI and the Hub client where files are. Everything else
#: (BUCKET_SECRET_ACCESS_KEY, WEBHOOK_SECRET, HF_TOKEN, RUNPOD_AI_API_KEY...) stays with the
#: worker: ComfyUI and every node pack it loads never see a secret (issue 23, finding 11).
ENV_NAMES = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM", "PWD",
    "TMPDIR", "TMP", "TEMP", "LD_LIBRARY_PATH", "VIRTUAL_ENV", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
    "HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "TRANSFORMERS_OFFLINE",
})
#: Prefixes of the variables ComfyUI gets (locale, Python, GPU runtimes, torch and its compilers).
ENV_PREFIXES = ("LC_", "PYTHON", "CUDA_", "NVIDIA_", "CUBLAS_", "CUDNN_", "NCCL_", "PYTORCH_", "TORCH_",
                "TORCHINDUCTOR_", "TRITON_", "HIP_", "ROCM_", "HSA_", "XDG_")


def comfy_environment(environ: dict[str, str] | None = None, allow: tuple[str, ...] | list[str] = ()) -> dict[str, str]:
    """The environment ComfyUI is started with: the variables of `environ` (default
    ``os.environ``) named in `ENV_NAMES`, starting with one of `ENV_PREFIXES`, or named in
    `allow` (entrypoint.sh passes COMFY_ENV_ALLOW: an operator's node pack may need its own).

    Returns a new dict; `environ` is not changed.
    """
    environ = os.environ if environ is None else environ
    extra = {name.strip() for name in allow if name.strip()}
    return {k: v for k, v in environ.items() if k in ENV_NAMES or k in extra or k.startswith(ENV_PREFIXES)}


def tree_version(comfyui_dir: Path) -> str:
    """ComfyUI's version string read from ``comfyui_version.py`` ("0.33.0"), or "unknown"."""
    try:
        text = (Path(comfyui_dir) / "comfyui_version.py").read_text()
    except OSError:
        return "unknown"
    match = re.search(r"__version__\s*=\s*[\"']([^\"']+)", text)
    return match.group(1) if match else "unknown"


def write_extra_model_paths(path: Path, models_dir: Path, custom_nodes_dirs: list[Path],
                            loras_dirs: list[Path] = ()) -> Path:
    """Write an extra_model_paths.yaml pointing every model folder at `models_dir/<folder>`,
    adding `custom_nodes_dirs` as custom node folders and `loras_dirs` as more loras folders
    (the worker's LoRA cache, LORA_CACHE_DIR); returns `path`."""
    lines = ["ltx_worker:", f"  base_path: {Path(models_dir).resolve()}"]
    lines += [f"  {folder}: {folder}" for folder in MODEL_FOLDERS if folder not in ("clip", "loras")]
    lines.append("  clip: text_encoders")
    lines.append("  loras: |")
    lines += [f"    {p}" for p in ["loras", *(str(Path(d).resolve()) for d in loras_dirs)]]
    if custom_nodes_dirs:
        lines.append("  custom_nodes: |")
        lines += [f"    {Path(d).resolve()}" for d in custom_nodes_dirs]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn`` for `subprocess.Popen` that has the child get `sig` when its parent dies
    (Linux ``prctl(PR_SET_PDEATHSIG)``).

    The supervisor starts ComfyUI with it, so ComfyUI never outlives a supervisor that was
    killed. Call it in the parent (it notes the parent's pid); the returned function runs in the
    child between fork and exec. The death signal fires when the *thread* that forked the child
    ends, so start the child from a thread that lives as long as the child should. A parent that
    died before the prctl call is noticed (the child was re-parented already): the child then
    gets `sig` at once. Where prctl is missing (not Linux) the function does nothing.
    """
    parent = os.getpid()
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, not in the forked child
    except (OSError, AttributeError):
        return lambda: None

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return preexec


def start_comfyui(
    comfyui_dir: Path,
    *,
    port: int,
    log_path: Path,
    extra_model_paths: Path | None = None,
    input_dir: Path | None = None,
    output_dir: Path | None = None,
    user_dir: Path | None = None,
    cpu: bool = True,
    python: str = sys.executable,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start ``main.py`` of `comfyui_dir` on 127.0.0.1:`port`, logging to `log_path`.

    `user_dir` is ComfyUI's ``--user-directory`` (its settings and saved workflows; default
    ``<tree>/user``): a test session gives its own, so no run sees another's editor settings.
    The process gets `comfy_environment` of `env` (default ``os.environ``): no secret of the
    worker reaches ComfyUI.

    Returns the process; the caller waits for readiness (`ComfyClient.wait_ready`) and stops it.
    """
    cmd = [python, "main.py", "--listen", "127.0.0.1", "--port", str(port), "--disable-auto-launch"]
    if cpu:
        cmd.append("--cpu")
    if extra_model_paths:
        cmd += ["--extra-model-paths-config", str(extra_model_paths)]
    if input_dir:
        cmd += ["--input-directory", str(input_dir)]
    if output_dir:
        cmd += ["--output-directory", str(output_dir)]
    if user_dir:
        Path(user_dir).mkdir(parents=True, exist_ok=True)  # ComfyUI refuses one that is not there
        cmd += ["--user-directory", str(user_dir)]
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
    return subprocess.Popen(cmd, cwd=comfyui_dir, stdout=log, stderr=subprocess.STDOUT, env=comfy_environment(env))
