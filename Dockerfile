# syntax=docker/dockerfile:1.7
# LTX-2 video worker for RunPod serverless: CUDA 13 runtime, Python 3.12, the pinned torch trio
# (cu130), ComfyUI at the pinned commit, and this worker. Every pin is read from pins.env, the
# project's single source of them (scripts/install_comfyui.sh installs the torch trio).
# Models are not baked in by this first version: mount them (network volume, extra_model_paths).
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

FROM ${CUDA_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHON=/opt/venv/bin/python \
    COMFYUI_DIR=/comfyui \
    WORKFLOWS_DIR=/worker/workflows \
    OUTPUT_DIR=/worker/output

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.12 python3.12-venv git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3.12 -m venv /opt/venv

# PyPI's torch 2.11.0 wheels for Linux are the cu130 builds.
WORKDIR /worker
COPY pins.env ./
COPY scripts ./scripts
RUN source pins.env \
 && git clone --filter=blob:none "$COMFYUI_REPO" /comfyui \
 && git -C /comfyui -c advice.detachedHead=false checkout "$COMFYUI_COMMIT" \
 && rm -rf /comfyui/.git \
 && COMFYUI_DIR=/comfyui scripts/install_comfyui.sh

COPY pyproject.toml ./
COPY ltx_worker ./ltx_worker
RUN pip install .
COPY handler.py entrypoint.sh models.txt ./
COPY workflows ./workflows
COPY custom_nodes ./custom_nodes

CMD ["./entrypoint.sh"]
