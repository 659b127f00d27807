# syntax=docker/dockerfile:1.7
# LTX-2 video worker for RunPod serverless (docs/deploy.md): CUDA 13 runtime, Python 3.12, the
# pinned torch trio (cu130 wheels), ComfyUI at the pinned commit, the project's node pack, this
# worker, and the models of MODEL_PROFILE baked in and verified.
#
#   docker buildx build --secret id=hf_token,env=HF_TOKEN --build-arg MODEL_PROFILE=fast -t IMAGE .
#
# Stages:
#   base     the CUDA runtime image with Python 3.12 (what every stage shares);
#   builder  /opt/venv (torch trio, ComfyUI's requirements, the worker's dependencies) and
#            /comfyui; git and compilers live here only;
#   models   the models of MODEL_PROFILE downloaded (`ltx-worker models download`), the HF token a
#            BuildKit secret that only that RUN sees; "none" bakes no model (network volume);
#   final    base + /opt/venv + /comfyui + the models + /worker; no build tools; runs as the
#            non-root user "worker", uid 10001 (ARG RUN_AS; docs/deploy.md, "Root or not").
# Every version pin is read from pins.env, the project's single source of them.
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

FROM ${CUDA_IMAGE} AS base
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.12 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# ---------------------------------------------------------------------------------------------
FROM base AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.12-venv python3.12-dev build-essential git \
 && rm -rf /var/lib/apt/lists/* \
 && python3.12 -m venv /opt/venv
WORKDIR /worker
# ComfyUI at the pinned commit, then its requirements with the torch trio pinned
# (scripts/install_comfyui.sh; PyPI's torch 2.11 Linux wheels are the cu130 builds). The script
# leaves a stamp in /opt/venv, so entrypoint.sh's own call finds everything installed.
COPY pins.env ./
COPY scripts/install_comfyui.sh ./scripts/
RUN source pins.env \
 && git init --quiet /comfyui \
 && git -C /comfyui fetch --quiet --depth 1 "$COMFYUI_REPO" "$COMFYUI_COMMIT" \
 && git -C /comfyui -c advice.detachedHead=false checkout --quiet FETCH_HEAD \
 && rm -rf /comfyui/.git \
 && COMFYUI_DIR=/comfyui PYTHON=/opt/venv/bin/python LTX_WORKER_CACHE=/tmp/ltx-worker \
    scripts/install_comfyui.sh \
 && rm -rf /tmp/ltx-worker
# The worker's dependencies (pyproject.toml), resolved together with ComfyUI's and the torch pins;
# setuptools (>= 70.1 builds editable wheels alone) lets the later stages install the worker
# itself offline, without build isolation.
COPY pyproject.toml ./
RUN source pins.env \
 && python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
    > /tmp/worker-requirements.txt \
 && pip install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "torchaudio==$TORCHAUDIO_VERSION" \
    -r /comfyui/requirements.txt -r /tmp/worker-requirements.txt "setuptools>=70.1" \
 && rm /tmp/worker-requirements.txt \
 && python -m compileall -q -j 0 /comfyui

# ---------------------------------------------------------------------------------------------
FROM builder AS models
# A comma-separated subset of models.txt's profiles (fast, pro, camera, legacy, bf16), or none.
ARG MODEL_PROFILE=fast
COPY models.txt ./
COPY ltx_worker ./ltx_worker
RUN pip install --no-deps --no-build-isolation --no-index -e .
# The HF token is a BuildKit secret (a file under /run/secrets), exported for this RUN only: it is
# in no layer, ENV or ARG. The cache mount keeps finished downloads across builds (per profile),
# so a rebuild after a code change verifies instead of downloading again. Only the model folders
# are baked (not the downloader's hidden .download staging folder), and verified where they land.
RUN --mount=type=secret,id=hf_token \
    --mount=type=cache,id=ltx-worker-models,target=/cache/models,sharing=locked \
    mkdir -p /models \
 && if [ "$MODEL_PROFILE" != none ]; then \
      if [ -s /run/secrets/hf_token ]; then HF_TOKEN="$(cat /run/secrets/hf_token)"; export HF_TOKEN; fi; \
      ltx-worker models download --profile "$MODEL_PROFILE" --models-dir "/cache/models/$MODEL_PROFILE" \
      && cp -a "/cache/models/$MODEL_PROFILE"/* /models/ \
      && ltx-worker models verify --profile "$MODEL_PROFILE" --models-dir /models; \
    fi

# ---------------------------------------------------------------------------------------------
FROM base AS final
ENV PYTHON=/opt/venv/bin/python \
    COMFYUI_DIR=/comfyui \
    WORKFLOWS_DIR=/worker/workflows \
    OUTPUT_DIR=/worker/output \
    LTX_WORKER_CACHE=/tmp/ltx-worker
# uid 10001: Ubuntu 24.04 images already have "ubuntu" as uid 1000.
RUN groupadd --gid 10001 worker \
 && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin worker
# Largest and least often changed first, so a code change rebuilds and pushes only small layers.
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /comfyui /comfyui
COPY --from=models /models/ /comfyui/models/
WORKDIR /worker
COPY pins.env pyproject.toml models.txt handler.py entrypoint.sh extra_model_paths.yaml ./
COPY scripts ./scripts
COPY ltx_worker ./ltx_worker
COPY workflows ./workflows
COPY custom_nodes ./custom_nodes
# The worker as an editable install (its PROJECT_ROOT is /worker), the node pack linked into
# ComfyUI's custom_nodes, and the folders ComfyUI and the worker write made the worker's own.
# Everything else stays root-owned and read-only to the running process.
RUN pip install --no-deps --no-build-isolation --no-index -e . \
 && python -m compileall -q /worker \
 && ln -s /worker/custom_nodes/ltx_worker_nodes /comfyui/custom_nodes/ltx_worker_nodes \
 && mkdir -p /worker/output /comfyui/input /comfyui/output /comfyui/temp /comfyui/user \
 && chown -R 10001:10001 /worker/output /comfyui/input /comfyui/output /comfyui/temp /comfyui/user
# The user the worker runs as: uid:gid 10001 by default; 0:0 (root) where a network volume's
# files are not readable by others and cannot be made so (docs/deploy.md, "Root or not").
ARG RUN_AS=10001:10001
USER ${RUN_AS}
CMD ["./entrypoint.sh"]
