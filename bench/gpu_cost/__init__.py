"""What a video costs on a GPU: the real LTX architectures with random weights, measured.

Speed and memory do not depend on the values of the weights, so the real-size diffusion
transformer, video VAE, audio VAE (with vocoder) and x2 latent upscaler of each family, filled
with random numbers, run exactly as long and use exactly as much memory as the released models.
The modules are ComfyUI's own classes (``comfy.ldm.lightricks.*``) built from the published
configurations (`configs`, every number with its source); the pipelines call ComfyUI's own nodes
in the order the worker's templates wire them (`pipeline`), in-process, with CUDA-synchronised
timing and peak VRAM per stage; `report` turns the results into docs/benchmarks-gpu.md.

Modules: `configs` (families, templates, points, GPUs), `models` (random-weight modules, sizes on
the meta device), `pipeline` (one point, stage by stage), `report` (tables, plot, doc), `prices`
(hosted APIs, RunPod), ``__main__`` (the command line); `carry` and ``lent_run.sh`` take it to a
lent GPU machine without network (``stubs``: stand-ins for what it imports but never calls). Run
``python -m bench.gpu_cost --help``.
"""
