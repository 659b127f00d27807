"""The pack's LTXWGuidanceRescale against Lightricks' guider formula, per modality, on tensors.

ltx-pipelines (ltx-core 1.0.0 on PyPI) ends each modality's multimodal guidance with a rescale
(``ltx_core/components/guiders.py:256-266``), at ``rescale_scale`` 0.7 for video and audio in
LTX-2.3 (``ltx_pipelines/utils/constants.py:38,48``). `pipeline_calculate` below is those lines;
`pipeline_denoise` adds what the pipeline does around them: x0 from velocities with per-token
timesteps ``mask * sigma`` (``ltx_core/utils.py:39-53``, ``ltx_pipelines/utils/helpers.py:307-312``),
one guider per modality (``helpers.py:449-460``) and the blend of kept tokens with the clean
latent (``helpers.py:280-282``), in the pipeline's token layout (``patchifiers.py:27-39,282-301``).

Checked: the node's math (custom_nodes/ltx_worker_nodes/guidance.py, loaded without ComfyUI)
against the formula, on one modality and on the packed AV latent of the LTX-2.3 pro templates'
stage 1 (the split must fall exactly between video and audio, and the i2v first frame must
count as the pipeline counts it); then the node in ComfyUI's own code path (a subprocess in the
session's ComfyUI tree: the AV latent built by the real latent nodes, packed by
``comfy.utils.pack_latents``, guided by ``LTXVDualCFGGuider``'s guider and
``comfy.samplers.cfg_function``); and the rule that the LTX-2.3 pro templates carry every field
of the pipeline's guider parameters, the rescale included.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from support import PACK, pack_module
from template_files import WORKFLOWS, load_json

NODE = "LTXWGuidanceRescale"
G = pack_module("guidance")

# ------------------------------------------------------------------------------------------
# the pipeline, from its source
# ------------------------------------------------------------------------------------------

#: MultiModalGuiderParams (guiders.py:194-211) of LTX_2_3_PARAMS: constants.py:34-53 (LTX-2
#: defaults), :68-73 (2.3 keeps them, stg_blocks [28])
PIPELINE_23_GUIDERS = {
    "video": {"cfg_scale": 3.0, "stg_scale": 1.0, "stg_blocks": [28], "rescale_scale": 0.7,
              "modality_scale": 3.0, "skip_step": 0},
    "audio": {"cfg_scale": 7.0, "stg_scale": 1.0, "stg_blocks": [28], "rescale_scale": 0.7,
              "modality_scale": 3.0, "skip_step": 0},
}


def pipeline_calculate(params: dict, cond, uncond_text, uncond_perturbed, uncond_modality):
    """``MultiModalGuider.calculate`` (guiders.py:256-266), line for line."""
    pred = (
        cond
        + (params["cfg_scale"] - 1) * (cond - uncond_text)
        + params["stg_scale"] * (cond - uncond_perturbed)
        + (params["modality_scale"] - 1) * (cond - uncond_modality)
    )
    if params["rescale_scale"] != 0:
        factor = cond.std() / pred.std()
        factor = params["rescale_scale"] * factor + (1 - params["rescale_scale"])
        pred = pred * factor
    return pred


def patchify(t: torch.Tensor) -> torch.Tensor:
    """The pipeline's tokens: video ``b c f h w -> b (f h w) c`` (patch size 1), audio
    ``b c t f -> b t (c f)``."""
    if t.ndim == 5:
        return t.permute(0, 2, 3, 4, 1).reshape(t.shape[0], -1, t.shape[1])
    return t.permute(0, 2, 1, 3).reshape(t.shape[0], t.shape[2], -1)


def unpatchify(tokens: torch.Tensor, shape: tuple) -> torch.Tensor:
    """Inverse of `patchify` for a latent of `shape`."""
    if len(shape) == 5:
        b, c, f, h, w = shape
        return tokens.reshape(b, f, h, w, c).permute(0, 4, 1, 2, 3)
    b, c, t, f = shape
    return tokens.reshape(b, t, c, f).permute(0, 2, 1, 3)


def pipeline_denoise(modality: str, x, velocities: dict, sigma: float, mask, clean, scale=None):
    """One modality's denoised output of a pipeline step (helpers.py:449-460 then
    post_process_latent, helpers.py:280-282), from the four passes' velocities, in token space;
    returned in ComfyUI's layout. `mask` is the denoise mask (None: all 1)."""
    params = dict(PIPELINE_23_GUIDERS[modality])
    if scale is not None:
        params["rescale_scale"] = scale
    m = torch.ones_like(x) if mask is None else mask.expand_as(x)
    tok = {k: patchify(v) for k, v in velocities.items()}
    x_t, m_t = patchify(x), patchify(m)
    x0 = {k: x_t - v * (m_t * sigma) for k, v in tok.items()}  # to_denoised(latent, v, m * sigma)
    pred = pipeline_calculate(params, x0["cond"], x0["uncond"], x0["perturbed"], x0["modality"])
    pred = pred * m_t + patchify(clean) * (1 - m_t)
    return unpatchify(pred, tuple(x.shape))


# ------------------------------------------------------------------------------------------
# the LTX-2.3 pro stage-1 latent, as ComfyUI 0.33.0 builds it
# ------------------------------------------------------------------------------------------

#: EmptyLTXVLatentVideo(640, 352, 121) (nodes_lt.py:81-83): [B, 128, (121-1)//8+1, 352//32, 640//32]
VIDEO_SHAPE = (1, 128, 16, 11, 20)
#: LTXVEmptyLatentAudio(121 frames, 25 fps) with the LTX-2 audio VAE (8 latent channels,
#: 64 mel bins // 4, 16000 / 160 / 4 = 25 latents a second): [B, 8, 121, 16]
AUDIO_SHAPE = (1, 8, 121, 16)
SIGMA = 0.725


def pack(*tensors: torch.Tensor) -> torch.Tensor:
    """``comfy.utils.pack_latents`` (comfy/utils.py:1410-1418), without the shapes."""
    return torch.cat([t.reshape(t.shape[0], 1, -1) for t in tensors], dim=-1)


def unpack(packed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    v = math.prod(VIDEO_SHAPE[1:])
    return packed[..., :v].reshape(VIDEO_SHAPE), packed[..., v:].reshape(AUDIO_SHAPE)


def scenario(seed: int = 0) -> dict:
    """Random inputs of one step in ComfyUI's layout: the latent x and the clean first frame per
    modality, and the velocities of the four passes (cond, uncond, perturbed, modality). The
    audio lives at another scale than the video, so a std over both is not either one's."""
    gen = torch.Generator().manual_seed(seed)

    def rand(shape, scale=1.0, shift=0.0):
        return torch.randn(shape, generator=gen) * scale + shift

    out = {"x": {"video": rand(VIDEO_SHAPE), "audio": rand(AUDIO_SHAPE, 3.0, 0.5)},
           "clean_frame": rand((1, 128, 1, 11, 20), 0.8, 0.1)}
    out["v"] = {m: {k: rand(out["x"][m].shape, 1.0 + 0.2 * i, 0.1 * i)
                    for i, k in enumerate(("cond", "uncond", "perturbed", "modality"))}
                for m in ("video", "audio")}
    return out


def image_mask() -> torch.Tensor:
    """LTXVImgToVideoInplace at strength 1: denoise mask 0 on latent frame 0 (nodes_lt.py:173-174)."""
    mask = torch.ones((1, 1, VIDEO_SHAPE[2], 1, 1))
    mask[:, :, :1] = 0.0
    return mask


def comfy_x0(x, v):
    """ComfyUI's x0 of a pass: ``x - sigma * v`` for every token (model_sampling.py:90-92)."""
    return x - SIGMA * v


def comfy_guided(s: dict, mask: torch.Tensor | None):
    """What a post-CFG function at the end of the LTX-2.3 pro chain receives, packed: x (kept
    tokens hold the clean latent, samplers.py:634-640), the positive x0 and the guided x0
    (dual CFG 3/7, nodes_lt.py:1084-1090 in x0 terms; STG 1 and modality 3, nodes_lt.py)."""
    xs, clean = {}, {}
    for m in ("video", "audio"):
        x = s["x"][m].clone()
        c = torch.zeros_like(x)
        if m == "video" and mask is not None:
            c[:, :, :1] = s["clean_frame"]
            x = x * mask + c * (1 - mask)
        xs[m], clean[m] = x, c
    x0 = {k: pack(*(comfy_x0(xs[m], s["v"][m][k]) for m in ("video", "audio")))
          for k in ("cond", "uncond", "perturbed", "modality")}
    v = math.prod(VIDEO_SHAPE[1:])
    cfg = torch.full_like(x0["cond"], 3.0)
    cfg[..., v:] = 7.0
    guided = x0["uncond"] + (x0["cond"] - x0["uncond"]) * cfg
    guided = guided + (x0["cond"] - x0["perturbed"]) * 1.0 + (x0["cond"] - x0["modality"]) * 2.0
    return pack(xs["video"], xs["audio"]), x0["cond"], guided, clean


def shapes():
    return [torch.Size(VIDEO_SHAPE), torch.Size(AUDIO_SHAPE)]


def conds_with(mask: torch.Tensor | None) -> list:
    """The processed positive conds as LTXAV.extra_conds leaves them (model_base.py:1191-1204):
    the video mask resized to the latent (sampler_helpers.prepare_mask), the audio one all ones
    (LTXVConcatAVLatent gives the audio a mask of ones when the video has one)."""
    if mask is None:
        return [{"model_conds": {}}]
    video = mask.expand(VIDEO_SHAPE).clone()
    audio = torch.ones(AUDIO_SHAPE)
    return [{"model_conds": {"denoise_mask": SimpleNamespace(cond=video),
                             "audio_denoise_mask": SimpleNamespace(cond=audio)}}]


# ------------------------------------------------------------------------------------------
# the node's math against the formula
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [0.7, 0.45, 1.0, 0.0])
@pytest.mark.parametrize("modality", ["video", "audio"])
def test_one_modality_is_the_guiders_formula(modality, scale):
    """A single-stream tensor: guidance.rescale(pred, cond) == guiders.py:256-266's pred."""
    s = scenario(1)
    x = s["x"][modality]
    x0 = {k: comfy_x0(x, v) for k, v in s["v"][modality].items()}
    params = {**PIPELINE_23_GUIDERS[modality], "rescale_scale": 0.0}
    guided = pipeline_calculate(params, x0["cond"], x0["uncond"], x0["perturbed"], x0["modality"])
    expected = pipeline_calculate({**params, "rescale_scale": scale}, x0["cond"], x0["uncond"],
                                  x0["perturbed"], x0["modality"])
    got = G.rescale(guided, x0["cond"], x, None, (scale, 0.0) if modality == "video" else (scale,))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    if scale == 0:
        assert got is guided


def test_pipeline_rescale_values_are_the_nodes_defaults():
    assert G.PIPELINE_RESCALE == {m: PIPELINE_23_GUIDERS[m]["rescale_scale"] for m in ("video", "audio")}


def test_zero_spread_leaves_the_prediction_alone():
    flat = torch.full((1, 4, 2, 2), 0.5)
    assert torch.equal(G.rescale(flat, torch.randn(1, 4, 2, 2), flat, None, (0.7, 0.7)), flat)


@pytest.mark.parametrize("image", [False, True], ids=["t2v", "i2v"])
def test_packed_av_latent_matches_the_pipeline_per_modality(image):
    """The stage-1 AV latent of ltx23_t2v_pro / ltx23_i2v_pro, packed as the sampler packs it:
    the node's output, after ComfyUI's blend of kept tokens, is the pipeline's per-modality
    output (video and audio guided and rescaled apart, the i2v first frame at mask 0)."""
    s = scenario(2)
    mask = image_mask() if image else None
    x, cond, guided, clean = comfy_guided(s, mask)
    got = G.post_cfg_function(0.7, 0.7)({
        "denoised": guided, "cond_denoised": cond, "input": x, "sigma": torch.tensor([SIGMA]),
        "model": SimpleNamespace(latent_shapes=shapes()), "cond": conds_with(mask)})
    video, audio = unpack(got)
    if mask is not None:  # KSamplerX0Inpaint (samplers.py:641-642)
        video = video * mask + clean["video"] * (1 - mask)
    for name, ours in (("video", video), ("audio", audio)):
        x_m = s["x"][name].clone()
        m = mask if name == "video" else None
        if m is not None:
            x_m = x_m * m + clean[name] * (1 - m)
        expected = pipeline_denoise(name, x_m, s["v"][name], SIGMA, m, clean[name])
        torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5, msg=name)


def test_the_split_is_exact_and_matters():
    """Rescaling with the cut one value off, or one std over the packed tensor (what a per-sample
    RescaleCFG does), gives another video and audio: the test above sees the split."""
    s = scenario(3)
    x, cond, guided, _ = comfy_guided(s, None)
    right = G.rescale(guided, cond, x, shapes(), (0.7, 0.7))
    v, a = math.prod(VIDEO_SHAPE[1:]), math.prod(AUDIO_SHAPE[1:])
    assert G.streams(guided, shapes()) == [(0, v, VIDEO_SHAPE), (v, v + a, AUDIO_SHAPE)]
    shifted = guided.clone()
    for start, stop in ((0, v + 1), (v + 1, v + a)):
        f = G.rescale_factor(cond[..., start:stop], guided[..., start:stop], 0.7)
        shifted[..., start:stop] = guided[..., start:stop] * f
    whole = G.rescale(guided, cond, x, None, (0.7,))
    for wrong in (shifted, whole):
        assert not torch.allclose(wrong, right, rtol=1e-4, atol=1e-4)


def test_i2v_needs_the_masked_view():
    """Ignoring the denoise mask (std over ComfyUI's x0 of the kept frame, x - sigma*v, where the
    pipeline has the clean latent) gives another factor."""
    s = scenario(4)
    mask = image_mask()
    x, cond, guided, _ = comfy_guided(s, mask)
    with_mask = G.rescale(guided, cond, x, shapes(), (0.7, 0.7), G.timestep_masks(conds_with(mask)))
    without = G.rescale(guided, cond, x, shapes(), (0.7, 0.7))
    v = math.prod(VIDEO_SHAPE[1:])
    assert not torch.allclose(with_mask[..., :v], without[..., :v], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(with_mask[..., v:], without[..., v:])  # audio has mask 1


def test_a_tensor_that_is_not_the_packing_is_an_error():
    with pytest.raises(ValueError, match="packed latent"):
        G.streams(torch.zeros(1, 1, 10), shapes())
    with pytest.raises(ValueError, match="packed latent"):
        G.streams(torch.zeros(VIDEO_SHAPE), shapes())


# ------------------------------------------------------------------------------------------
# the node in ComfyUI's code path (the session's ComfyUI tree, in a subprocess)
# ------------------------------------------------------------------------------------------

PROBE = r'''
import json, math, sys, types
import comfy.cli_args
comfy.cli_args.args.cpu = True
import torch
import comfy.conds, comfy.model_patcher, comfy.model_sampling, comfy.sampler_helpers, comfy.samplers, comfy.utils
from comfy.ldm.lightricks.vae.audio_vae import AudioVAE
from comfy_extras import nodes_lt, nodes_lt_audio
sys.path.insert(0, sys.argv[1])
from ltx_worker_nodes.nodes import LTXWGuidanceRescale

data = torch.load(sys.argv[2])
image = data["image"]
cpu = torch.device("cpu")

# the stage-1 latent as the templates build it: EmptyLTXVLatentVideo(640, 352, 121),
# [LTXVImgToVideoInplace(strength 1)], LTXVEmptyLatentAudio(121, 25), LTXVConcatAVLatent
video = nodes_lt.EmptyLTXVLatentVideo.execute(640, 352, 121, 1).result[0]
if image:
    vae = types.SimpleNamespace(downscale_index_formula=(8, 32, 32),
                                encode=lambda pixels: data["clean_frame"])
    video = nodes_lt.LTXVImgToVideoInplace.execute(vae, torch.zeros(1, 352, 640, 3), video, 1.0).result[0]
fsm = types.SimpleNamespace(sample_rate=16000, mel_hop_length=160, mel_bins=64)  # LTX-2 audio VAE
fsm.latents_per_second = AudioVAE.latents_per_second.fget(fsm)
fsm.latent_frequency_bins = AudioVAE.latent_frequency_bins.fget(fsm)
fsm.num_of_latents_from_frames = types.MethodType(AudioVAE.num_of_latents_from_frames, fsm)
audio = nodes_lt_audio.LTXVEmptyLatentAudio.execute(
    121, 25, 1, types.SimpleNamespace(latent_channels=8, first_stage_model=fsm)).result[0]
av = nodes_lt.LTXVConcatAVLatent.execute(video, audio).result[0]

# CFGGuider.sample (samplers.py:1280-1311): pack the streams and the masks
latent_image, latent_shapes = comfy.utils.pack_latents(av["samples"].unbind())
x, _ = comfy.utils.pack_latents([data["x"]["video"], data["x"]["audio"]])
model_conds = {}
denoise_mask = None
if "noise_mask" in av:
    masks = [comfy.sampler_helpers.prepare_mask(m, s, cpu) for m, s in zip(av["noise_mask"].unbind(), latent_shapes)]
    denoise_mask = comfy.utils.pack_latents(masks)[0].float()
    x = x * denoise_mask + latent_image * (1 - denoise_mask)  # KSamplerX0Inpaint (samplers.py:634-640)
    video_mask, audio_mask = comfy.utils.unpack_latents(denoise_mask, latent_shapes)  # LTXAV.extra_conds
    model_conds = {"denoise_mask": comfy.conds.CONDRegular(video_mask),
                   "audio_denoise_mask": comfy.conds.CONDRegular(audio_mask)}

sigma = torch.tensor([data["sigma"]])
const = comfy.model_sampling.CONST()
x0 = {k: const.calculate_denoised(sigma, comfy.utils.pack_latents([data["v"]["video"][k], data["v"]["audio"][k]])[0], x)
      for k in ("cond", "uncond", "perturbed", "modality")}

# the stage-1 model chain: STG 1 and modality 3 (their post-CFG terms, nodes_lt.py), then the node
patcher = comfy.model_patcher.ModelPatcher(torch.nn.Linear(1, 1), cpu, cpu)
patcher.set_model_sampler_post_cfg_function(lambda a: a["denoised"]
    + (a["cond_denoised"] - x0["perturbed"]) * 1.0 + (a["cond_denoised"] - x0["modality"]) * 2.0)
patcher = LTXWGuidanceRescale.execute(patcher, data["video_rescale"], data["audio_rescale"]).result[0]

# LTXVDualCFGGuider(3, 7): its guider, its split (sample), its dual CFG (predict_noise)
guider = nodes_lt.Guider_LTXAVDualCFG(patcher)
guider.set_cfg(3.0, 7.0)
comfy.samplers.CFGGuider.sample = lambda self, *a, **k: None
guider.sample(None, av["samples"])
guider.inner_model = types.SimpleNamespace(latent_shapes=latent_shapes)
guider.conds = {"positive": [{"model_conds": model_conds}], "negative": [{"model_conds": model_conds}]}
options = {**patcher.model_options,
           "sampler_calc_cond_batch_function": lambda a: [x0["cond"], x0["uncond"]]}
out = guider.predict_noise(x, sigma, options)
if denoise_mask is not None:
    out = out * denoise_mask + latent_image * (1 - denoise_mask)  # samplers.py:641-642
video_out, audio_out = comfy.utils.unpack_latents(out, latent_shapes)
torch.save({"video": video_out, "audio": audio_out, "v_numel": guider._v_numel,
            "shapes": [list(s) for s in latent_shapes]}, sys.argv[3])
'''


@pytest.mark.parametrize("image", [False, True], ids=["t2v", "i2v"])
def test_node_in_comfyui_matches_the_pipeline(comfyui_dir, tmp_path, image):
    """The node, patched onto a real ModelPatcher, run by LTXVDualCFGGuider's guider through
    ``comfy.samplers.cfg_function`` on the AV latent that ComfyUI's own latent nodes build and
    its sampler packs: video and audio equal the pipeline's step output."""
    if not (comfyui_dir / "comfy" / "nested_tensor.py").is_file() or \
            "Guider_LTXAVDualCFG" not in (comfyui_dir / "comfy_extras" / "nodes_lt.py").read_text():
        pytest.skip(f"ComfyUI at {comfyui_dir} has no LTX-2.3 AV guider (needs 0.33.0)")
    s = scenario(5)
    torch.save({"image": image, "sigma": SIGMA, "x": s["x"], "v": s["v"],
                "clean_frame": s["clean_frame"], "video_rescale": 0.7, "audio_rescale": 0.7},
               tmp_path / "in.pt")
    run = subprocess.run([sys.executable, "-c", PROBE, str(PACK.parent), str(tmp_path / "in.pt"),
                          str(tmp_path / "out.pt")], cwd=comfyui_dir, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    out = torch.load(tmp_path / "out.pt")
    assert out["shapes"] == [list(VIDEO_SHAPE), list(AUDIO_SHAPE)]
    assert out["v_numel"] == math.prod(VIDEO_SHAPE[1:])
    mask = image_mask() if image else None
    for name in ("video", "audio"):
        x_m, clean = s["x"][name].clone(), torch.zeros_like(s["x"][name])
        m = mask if name == "video" else None
        if m is not None:
            clean[:, :, :1] = s["clean_frame"]
            x_m = x_m * m + clean * (1 - m)
        expected = pipeline_denoise(name, x_m, s["v"][name], SIGMA, m, clean)
        torch.testing.assert_close(out[name], expected, rtol=1e-5, atol=1e-5, msg=name)
        plain = pipeline_denoise(name, x_m, s["v"][name], SIGMA, m, clean, scale=0.0)
        assert not torch.allclose(out[name], plain, rtol=1e-3, atol=1e-3), "the rescale ran"


# ------------------------------------------------------------------------------------------
# the LTX-2.3 pro templates carry the pipeline's guider, every field of it
# ------------------------------------------------------------------------------------------

#: each MultiModalGuiderParams field (guiders.py:200-211) -> the stage-1 node and input that
#: carries it, per modality; skip_step 0 ("never skip") has no node and must stay 0
CARRIERS = {
    "cfg_scale": {"video": ("LTXVDualCFGGuider", "video_cfg"), "audio": ("LTXVDualCFGGuider", "audio_cfg")},
    "stg_scale": {"video": ("LTXVSpatioTemporalGuidance", "scale"),
                  "audio": ("LTXVSpatioTemporalGuidance", "scale")},
    "stg_blocks": {"video": ("LTXVSpatioTemporalGuidance", "blocks"),
                   "audio": ("LTXVSpatioTemporalGuidance", "blocks")},
    "rescale_scale": {"video": (NODE, "video_rescale"), "audio": (NODE, "audio_rescale")},
    "modality_scale": {"video": ("LTXVModalityGuidance", "modality_scale"),
                       "audio": ("LTXVModalityGuidance", "modality_scale")},
    "skip_step": None,
}
PRO_23 = ["ltx23_t2v_pro", "ltx23_i2v_pro"]


def _stage1_chain(graph: dict) -> tuple[dict, list[dict]]:
    """The stage-1 guider (the LTXVDualCFGGuider) and its model chain, guider side first."""
    [guider] = [n for n in graph.values() if n["class_type"] == "LTXVDualCFGGuider"]
    chain, node = [], graph[guider["inputs"]["model"][0]]
    while node["class_type"] != "CheckpointLoaderSimple":
        chain.append(node)
        node = graph[node["inputs"]["model"][0]]
    return guider, chain


def test_every_guider_field_has_a_carrier():
    assert set(CARRIERS) == set(PIPELINE_23_GUIDERS["video"]) == set(PIPELINE_23_GUIDERS["audio"])


@pytest.mark.parametrize("name", PRO_23)
def test_pro_templates_apply_every_pipeline_guider_value(name):
    """Each field of LTX_2_3_PARAMS' video and audio guider is set, at the pipeline's value, on
    the stage-1 node that carries it; the rescale node feeds the guider directly, after STG
    and modality guidance (post-CFG functions run in patch order, the pipeline rescales last)."""
    graph = load_json(WORKFLOWS / "ltx23" / f"{name}.json")
    guider, chain = _stage1_chain(graph)
    nodes = {n["class_type"]: n for n in [guider, *chain]}
    for field, carriers in CARRIERS.items():
        for modality, params in PIPELINE_23_GUIDERS.items():
            if carriers is None:
                assert params[field] == 0, (field, modality)
                continue
            cls, key = carriers[modality]
            assert cls in nodes, f"{name}: {field} ({modality}) needs {cls} in stage 1"
            value = nodes[cls]["inputs"][key]
            if field == "stg_blocks":
                value = [int(b) for b in value.split(",")]
            assert value == params[field], (name, field, modality, value)
    assert [n["class_type"] for n in chain] == [NODE, "LTXVModalityGuidance",
                                                "LTXVSpatioTemporalGuidance"]


@pytest.mark.parametrize("name", PRO_23)
def test_pro_bindings_note_names_the_rescale(name):
    notes = load_json(WORKFLOWS / "ltx23" / f"{name}.bindings.json")["notes"]
    assert "no 0.33.0 node" not in notes and f"{NODE}(0.7, 0.7)" in notes, notes


def test_committed_entry_matches_the_schema_defaults():
    """The pack's object_info entry offers the pipeline's values as the defaults."""
    entry = json.loads((PACK / "object_info.json").read_text())[NODE]
    required = entry["input"]["required"]
    assert list(required) == ["model", "video_rescale", "audio_rescale"]
    for modality in ("video", "audio"):
        kind, spec = required[f"{modality}_rescale"]
        assert kind == "FLOAT"
        assert (spec["default"], spec["min"], spec["max"], spec["step"]) == \
            (G.PIPELINE_RESCALE[modality], 0.0, 1.0, 0.01)
    assert entry["output"] == ["MODEL"] and entry["category"] == "LTX-Worker"
