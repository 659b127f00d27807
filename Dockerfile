# syntax=docker/dockerfile:1.7
# LTX-2 video worker for RunPod serverless (docs/deploy.md): a CUDA 13 base, Python 3.12, the
# pinned torch trio (cu130 wheels, which bring cuDNN, cuBLAS and the rest of the CUDA libraries),
# ComfyUI at the pinned commit, the project's node pack, this worker, and the models of
# MODEL_PROFILE baked in and verified, one image layer per model file.
#
#   docker buildx build --secret id=hf_token,env=HF_TOKEN --build-arg MODEL_PROFILE=fast -t IMAGE .
#
# Stages:
#   base         BASE_IMAGE with Python PYTHON_VERSION (what every stage shares);
#   comfyui-src  the ComfyUI tree at the pinned commit (pins.env), cloned into /comfyui. A build
#                without network access to GitHub replaces this stage with a named build context
#                holding comfyui/ (`--build-context comfyui-src=DIR`; scripts/container_test.sh
#                unpacks the pinned source archive there);
#   builder      /opt/venv (torch trio, ComfyUI's requirements, the worker's dependencies) and
#                /comfyui; compilers live here only;
#   models       the files of MODEL_PROFILE downloaded and verified, each in a folder of its own
#                (/slots/<file>/<models folder>/<file>; empty for a file the profile does not
#                hold). It copies models.txt and the downloader (ltx_worker/models/manifest.py and
#                download.py) and nothing else of the worker, so a code change never redoes it;
#   final        base + the models (one COPY, hence one layer, per models.txt file) + /opt/venv +
#                /comfyui + /worker; no build tools; runs as the non-root user "worker", uid 10001
#                (ARG RUN_AS; docs/deploy.md, "Root or not").
# Every version pin is read from pins.env, the project's single source of them.
#
# BASE_IMAGE is the CUDA *base* flavour (the CUDA runtime library and the driver-compatibility
# settings only): the torch wheels carry their own CUDA libraries and cuDNN, so the runtime and
# cudnn flavours would only hold a second copy of them. A test build may use any Debian-like
# image with the Python of PYTHON_VERSION in its archive (scripts/container_test.sh: Debian 12,
# PYTHON_VERSION=3.11).
ARG BASE_IMAGE=nvidia/cuda:13.0.1-base-ubuntu24.04
ARG PYTHON_VERSION=3.12

FROM ${BASE_IMAGE} AS base
ARG PYTHON_VERSION
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends "python${PYTHON_VERSION}" "python${PYTHON_VERSION}-venv" \
    ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# ---------------------------------------------------------------------------------------------
FROM base AS comfyui-src
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pins.env ./
RUN source pins.env \
 && git init --quiet /comfyui \
 && git -C /comfyui fetch --quiet --depth 1 "$COMFYUI_REPO" "$COMFYUI_COMMIT" \
 && git -C /comfyui -c advice.detachedHead=false checkout --quiet FETCH_HEAD \
 && rm -rf /comfyui/.git

# ---------------------------------------------------------------------------------------------
FROM base AS builder
ARG PYTHON_VERSION
# The SHELL of base again, for hadolint only: after an ARG it lints a stage's RUNs as sh.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends "python${PYTHON_VERSION}-dev" build-essential \
 && rm -rf /var/lib/apt/lists/* \
 && "python${PYTHON_VERSION}" -m venv /opt/venv
WORKDIR /worker
COPY --from=comfyui-src /comfyui /comfyui
# ComfyUI's requirements with the torch trio pinned (scripts/install_comfyui.sh; PyPI's torch
# 2.11 Linux wheels are the cu130 builds). The script leaves a stamp in /opt/venv, so
# entrypoint.sh's own call finds everything installed. pip's downloads stay in a cache mount
# (in no layer); pip_ca is an optional CA bundle for builds behind a TLS-inspecting proxy.
COPY pins.env ./
COPY scripts/install_comfyui.sh ./scripts/
RUN --mount=type=secret,id=pip_ca \
    --mount=type=cache,id=ltx-worker-pip,target=/root/.cache/pip,sharing=locked \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi \
 && COMFYUI_DIR=/comfyui PYTHON=/opt/venv/bin/python LTX_WORKER_CACHE=/tmp/ltx-worker \
    scripts/install_comfyui.sh \
 && rm -rf /tmp/ltx-worker
# The worker's dependencies (pyproject.toml), resolved together with ComfyUI's and the torch pins;
# setuptools (>= 70.1 builds editable wheels alone) lets the final stage install the worker
# itself offline, without build isolation.
COPY pyproject.toml ./
RUN --mount=type=secret,id=pip_ca \
    --mount=type=cache,id=ltx-worker-pip,target=/root/.cache/pip,sharing=locked \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi \
 && source pins.env \
 && python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
    > /tmp/worker-requirements.txt \
 && pip install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "torchaudio==$TORCHAUDIO_VERSION" \
    -r /comfyui/requirements.txt -r /tmp/worker-requirements.txt "setuptools>=70.1" \
 && rm /tmp/worker-requirements.txt \
 && python -m compileall -q -j 0 /comfyui

# ---------------------------------------------------------------------------------------------
FROM base AS models
ARG PYTHON_VERSION
WORKDIR /fetch
# The downloader's one dependency, in a venv of its own (the requirement is pyproject.toml's).
RUN --mount=type=secret,id=pip_ca \
    --mount=type=cache,id=ltx-worker-pip,target=/root/.cache/pip,sharing=locked \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi \
 && "python${PYTHON_VERSION}" -m venv /opt/fetch \
 && /opt/fetch/bin/pip install "huggingface_hub>=0.34"
# Only the downloader (its modules import nothing else of the worker; tests/test_deploy.py checks
# it) and the list.
COPY ltx_worker/__init__.py ./ltx_worker/
COPY ltx_worker/models/__init__.py ltx_worker/models/manifest.py ltx_worker/models/download.py ./ltx_worker/models/
COPY models.txt ./
# A comma-separated subset of models.txt's profiles (fast, pro, camera, legacy, bf16, ...), or none.
ARG MODEL_PROFILE=fast
# The HF token is a BuildKit secret (a file under /run/secrets), exported for this RUN only: it is
# in no layer, ENV or ARG. The cache mount keeps finished downloads across builds, so a rebuild
# (a new models.txt line, another profile) checks what it has instead of downloading it again.
# The program below (tests/test_deploy.py runs it against a Hub stand-in):
#   1. parses models.txt with the worker's own parser (its profiles are the file's, so the
#      families' definitions are not needed here) and refuses a profile models.txt lacks;
#   2. downloads and checks the profile's files into the cache (ltx_worker.models.download);
#   3. makes /slots/<file>/ for every models.txt file and copies each file of the profile to
#      /slots/<file>/<folder>/<file>, where the final stage's COPY for that file picks it up;
#   4. verifies size and sha256 of every copy where it lands; exits 1 on any failure.
RUN --mount=type=secret,id=hf_token \
    --mount=type=cache,id=ltx-worker-models,target=/cache/models,sharing=locked \
    if [ -s /run/secrets/hf_token ]; then HF_TOKEN="$(cat /run/secrets/hf_token)"; export HF_TOKEN; fi; \
    /opt/fetch/bin/python -c 'import shutil, sys; from pathlib import Path; \
from ltx_worker.models import manifest as m; from ltx_worker.models.download import ERROR, download_all; \
profile, cache, slots = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]); text = Path("models.txt").read_text(); \
listed = {p for line in text.splitlines() for cols in [line.split("#", 1)[0].split()] if len(cols) in (5, 7) for p in cols[4].split(",")}; \
m.profile_names = lambda *_: tuple(sorted(listed)); entries = m.parse_models_txt(text); \
wanted = set(profile.split(",")) - {"none", ""}; \
wanted <= listed or sys.exit(f"MODEL_PROFILE={profile}: models.txt has no profile {sorted(wanted - listed)}"); \
chosen = m.select(entries, wanted); print(f"MODEL_PROFILE={profile}: {len(chosen)} files", flush=True); \
results = download_all(chosen, cache, report=lambda r: print(f"{r.status.upper():<10} {r.entry.relpath}: {r.message}", flush=True)); \
failed = [r.entry.relpath for r in results if r.status == ERROR]; failed and sys.exit(f"download failed: {failed}"); \
[(slots / e.filename).mkdir(parents=True) for e in entries]; \
[(slots / e.filename / e.folder).mkdir() or shutil.copyfile(cache / e.relpath, slots / e.filename / e.relpath) for e in chosen]; \
checks = [m.verify_file(e, slots / e.filename) for e in chosen]; \
[print(f"{c.status.upper():<10} {c.entry.relpath} (baked) {c.detail}", flush=True) for c in checks]; \
sys.exit(1 if any(c.failed for c in checks) else 0)' "$MODEL_PROFILE" /cache/models /slots

# ---------------------------------------------------------------------------------------------
FROM base AS final
# The models first (nothing but the base changes under them), one layer per file, in models.txt
# order (tests/test_deploy.py holds this list to models.txt): registries cap a layer's size
# (GHCR 10 GB, ECR 52,000 MiB) and a host pulls separate layers in parallel. A file the profile
# does not hold is an empty folder here. The largest file is the largest layer (docs/deploy.md,
# "Image layers and registries").
COPY --from=models /slots/ltx-2-19b-distilled-fp8.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-dev-fp8.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-distilled-lora-384.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-spatial-upscaler-x2-1.0.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-distilled.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-dev.safetensors/ /comfyui/models/
COPY --from=models /slots/gemma_3_12B_it_fp4_mixed.safetensors/ /comfyui/models/
COPY --from=models /slots/gemma_3_12B_it.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-lora-camera-control-static.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-lora-camera-control-dolly-in.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-lora-camera-control-dolly-out.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-lora-camera-control-dolly-left.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-lora-camera-control-dolly-right.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-lora-camera-control-jib-up.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-lora-camera-control-jib-down.safetensors/ /comfyui/models/
COPY --from=models /slots/ltxv-13b-0.9.8-distilled.safetensors/ /comfyui/models/
COPY --from=models /slots/t5xxl_fp16.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2.3-22b-dev-fp8.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx_2.3_22b_distilled_1.1_lora_dynamic_fro09_avg_rank_111_bf16.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2.3-spatial-upscaler-x2-1.1.safetensors/ /comfyui/models/
COPY --from=models /slots/gemma-3-12b-it-abliterated_lora_rank64_bf16.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2.5-22b-distilled-transformer-comfy-int8-convrot.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2.5-video-vae-bf16.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2.5-audio-vae-bf16.safetensors/ /comfyui/models/
COPY --from=models /slots/gemma4-12b-with-proj-ltx-2.5-comfy-int8-convrot.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2.5-latent-spatial-upscaler-x2-bf16-1.0.safetensors/ /comfyui/models/
COPY --from=models /slots/gemma4_e2b_it_int8_convrot.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-ic-lora-canny-control.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2-19b-ic-lora-depth-control.safetensors/ /comfyui/models/
COPY --from=models /slots/lotus-depth-d-v1-1.safetensors/ /comfyui/models/
COPY --from=models /slots/vae-ft-mse-840000-ema-pruned.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2.3-22b-distilled-fp8.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors/ /comfyui/models/
COPY --from=models /slots/moge_2_vitl_normal_fp16.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx-2.3-id-lora-talkvid-3k.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx2-squish.safetensors/ /comfyui/models/
COPY --from=models /slots/ltx2.3-transition.safetensors/ /comfyui/models/
ENV PYTHON=/opt/venv/bin/python \
    COMFYUI_DIR=/comfyui \
    WORKFLOWS_DIR=/worker/workflows \
    OUTPUT_DIR=/worker/output \
    LTX_WORKER_CACHE=/tmp/ltx-worker
# uid 10001: Ubuntu 24.04 images already have "ubuntu" as uid 1000.
RUN groupadd --gid 10001 worker \
 && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin worker
# Then the software, largest and least often changed first, so a code change rebuilds and pushes
# only the small layers at the end.
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /comfyui /comfyui
WORKDIR /worker
COPY pins.env pyproject.toml models.txt handler.py entrypoint.sh extra_model_paths.yaml ./
COPY scripts ./scripts
COPY ltx_worker ./ltx_worker
COPY workflows ./workflows
COPY custom_nodes ./custom_nodes
# The worker as an editable install (its PROJECT_ROOT is /worker), the node pack linked into
# ComfyUI's custom_nodes, and the folders ComfyUI and the worker write made the worker's own.
# Everything else stays root-owned and read-only to the running process.
RUN pip install --no-cache-dir --no-deps --no-build-isolation --no-index -e . \
 && python -m compileall -q /worker \
 && ln -s /worker/custom_nodes/ltx_worker_nodes /comfyui/custom_nodes/ltx_worker_nodes \
 && mkdir -p /worker/output /comfyui/input /comfyui/output /comfyui/temp /comfyui/user \
 && chown -R 10001:10001 /worker/output /comfyui/input /comfyui/output /comfyui/temp /comfyui/user
# The user the worker runs as: uid:gid 10001 by default; 0:0 (root) where a network volume's
# files are not readable by others and cannot be made so (docs/deploy.md, "Root or not").
ARG RUN_AS=10001:10001
USER ${RUN_AS}
CMD ["./entrypoint.sh"]
