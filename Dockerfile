# syntax=docker/dockerfile:1.7
# LTX-2 video worker for RunPod serverless: CUDA 13 runtime, Python 3.12, the pinned torch trio
# (cu130), ComfyUI at the pinned commit, and this worker. Pins come from pins.env (keep the ARGs
# below equal to it; a test checks). Models are not baked in by this first version: mount them
# (network volume) or see docs/ for the deployment issue's model profiles.
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

FROM ${CUDA_IMAGE}
ARG COMFYUI_REPO=https://github.com/comfyanonymous/ComfyUI.git
ARG COMFYUI_COMMIT=783545f689a0af730065994b46b382ae24844c99
ARG TORCH_VERSION=2.11.0
ARG TORCHVISION_VERSION=0.26.0
ARG TORCHAUDIO_VERSION=2.11.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu130

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHON=/opt/venv/bin/python \
    COMFYUI_DIR=/comfyui

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.12 python3.12-venv git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3.12 -m venv /opt/venv

RUN printf 'torch==%s\ntorchvision==%s\ntorchaudio==%s\n' \
      "$TORCH_VERSION" "$TORCHVISION_VERSION" "$TORCHAUDIO_VERSION" > /opt/constraints.txt \
 && pip install --index-url "$TORCH_INDEX" -c /opt/constraints.txt torch torchvision torchaudio

RUN git clone --filter=blob:none "$COMFYUI_REPO" /comfyui \
 && git -C /comfyui -c advice.detachedHead=false checkout "$COMFYUI_COMMIT" \
 && rm -rf /comfyui/.git \
 && pip install -c /opt/constraints.txt -r /comfyui/requirements.txt requests

WORKDIR /worker
COPY pyproject.toml pins.env ./
COPY ltx_worker ./ltx_worker
RUN pip install -c /opt/constraints.txt .
COPY handler.py entrypoint.sh models.txt ./
COPY scripts ./scripts
COPY workflows ./workflows
COPY custom_nodes ./custom_nodes

CMD ["./entrypoint.sh"]
