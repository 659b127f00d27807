"""``ltx-worker models list|download|verify`` against a Hugging Face Hub stand-in on loopback.

The command runs in a subprocess (``python -m ltx_worker.cli``) with HF_ENDPOINT pointing at
tests/hub_standin.py and HF_HOME in a temporary folder, so the real huggingface_hub client does
the HTTP work. Also checks models.txt itself: it parses, and it lists every model file the
templates in workflows/ name, under the right profile.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ltx_worker.config import PROJECT_ROOT
from ltx_worker.contract.job import CAMERA_LORAS
from ltx_worker.families import FamilyRegistry
from ltx_worker.models.check import template_needs
from ltx_worker.models.manifest import (
    ModelsFileError,
    load_models_txt,
    parse_models_txt,
    select,
    sha256_file,
)
from ltx_worker.templates import TemplateRegistry

from hub_standin import COMMIT, HubStandIn

MIB = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def hub():
    server = HubStandIn().start()
    yield server
    server.stop()


def run_cli(tmp_path: Path, hub: HubStandIn | None, *args: str, token: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1", NO_PROXY="*")
    if hub is not None:
        env["HF_ENDPOINT"] = hub.url
    if token:
        env["HF_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "ltx_worker.cli", "models", *args],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=timeout,
                          check=False)


def write_models_txt(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "models.txt"
    path.write_text("# test list\n" + "\n".join(lines) + "\n")
    return path


# -- models.txt itself --------------------------------------------------------------------


FAMILIES = FamilyRegistry.load(PROJECT_ROOT / "workflows")


def test_repo_models_txt_lists_every_template_file_under_its_profile():
    entries = {e.relpath: e for e in load_models_txt(PROJECT_ROOT / "models.txt")}
    registry = TemplateRegistry.load(PROJECT_ROOT / "workflows")
    assert registry.templates
    for template in registry.templates:
        for need in template_needs(template):
            assert need.relpath in entries, f"{template.name} needs {need.relpath}, not in models.txt"
            family = FAMILIES.get(template.family)  # its family.json names the profiles
            if need.camera_move:
                wanted = set(family.profiles["camera_lora"])
            else:
                wanted = {p for _, q in template.serves
                          for p in family.profiles_for(q, {need.feature} if need.feature else set(),
                                                       template.variant)}
            assert wanted & entries[need.relpath].profiles, (template.name, need.relpath)
    assert {f"loras/{f}" for f in CAMERA_LORAS.values()} <= set(entries)


def test_repo_models_txt_values_are_well_formed():
    entries = load_models_txt(PROJECT_ROOT / "models.txt")
    for e in entries:
        assert e.revision == "main" or len(e.revision) == 40, e.relpath
    fast = {e.relpath for e in select(entries, ["fast"])}
    assert fast == {
        "checkpoints/ltx-2-19b-distilled-fp8.safetensors",
        "latent_upscale_models/ltx-2-spatial-upscaler-x2-1.0.safetensors",
        "text_encoders/gemma_3_12B_it_fp4_mixed.safetensors",
    }


@pytest.mark.parametrize("line, problem", [
    ("checkpoints/a.safetensors org/a@main:a.safetensors 10 - fast extra", "expected 5 columns"),
    ("a.safetensors org/a@main:a.safetensors 10 - fast", "must be <folder>/<file>"),
    ("checkpoints/a.safetensors org/a:a.safetensors 10 - fast", "<repo>@<revision>:<path>"),
    ("checkpoints/a.safetensors org/a@main:a.safetensors ten - fast", "byte count"),
    ("checkpoints/a.safetensors org/a@main:a.safetensors 10 ABC fast", "64 lowercase hex"),
    ("checkpoints/a.safetensors org/a@main:a.safetensors 10 - turbo", "unknown profile"),
])
def test_parse_errors_name_the_line(line, problem):
    text = "# header\n\ncheckpoints/ok.safetensors org/a@main:ok.safetensors - - fast\n" + line + "\n"
    with pytest.raises(ModelsFileError, match=rf"^models\.txt:4: .*{problem}"):
        parse_models_txt(text)


def test_duplicate_destination_is_an_error():
    line = "checkpoints/a.safetensors org/a@main:a.safetensors - - fast"
    with pytest.raises(ModelsFileError, match=r"models\.txt:2: .* already listed on line 1"):
        parse_models_txt(f"{line}\n{line}\n")


def test_sha256_file_streams_in_chunks(tmp_path):
    data = os.urandom(3 * 1000 + 7)
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f", chunk_size=1000) == sha(data)


# -- list -----------------------------------------------------------------------------------


def test_list_shows_needed_files_sizes_and_missing_total(tmp_path):
    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    (models / "checkpoints" / "ltx-2-19b-distilled-fp8.safetensors").write_bytes(b"x")  # wrong size
    result = run_cli(tmp_path, None, "list", "--profile", "fast", "--models-dir", str(models))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "checkpoints/ltx-2-19b-distilled-fp8.safetensors" in out
    assert "27.1 GB" in out and "995.8 MB" in out and "9.4 GB" in out
    assert "wrong size" in out
    assert "ltx-2-19b-dev-fp8" not in out  # a pro file
    assert "3 files, 3 missing: 37.6 GB to download" in out


def test_list_marks_present_files(tmp_path):
    data = b"lora bytes"
    txt = write_models_txt(tmp_path, [
        f"loras/a.safetensors org/a@main:a.safetensors {len(data)} {sha(data)} camera",
        "loras/b.safetensors org/b@main:b.safetensors 2000000 - camera",
        "checkpoints/c.safetensors org/c@main:c.safetensors 5 - fast",
    ])
    (tmp_path / "models" / "loras").mkdir(parents=True)
    (tmp_path / "models" / "loras" / "a.safetensors").write_bytes(data)
    result = run_cli(tmp_path, None, "list", "--profile", "camera", "--models-txt", str(txt),
                     "--models-dir", str(tmp_path / "models"))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if "/" in line.split()[0]}
    assert "present" in lines["loras/a.safetensors"]
    assert "missing" in lines["loras/b.safetensors"] and "2.0 MB" in lines["loras/b.safetensors"]
    assert "checkpoints/c.safetensors" not in lines
    assert "2 files, 1 missing: 2.0 MB to download" in result.stdout


def test_malformed_models_txt_is_named_with_its_line(tmp_path):
    txt = write_models_txt(tmp_path, ["loras/a.safetensors org/a@main:a.safetensors 12 - camera",
                                      "loras/b.safetensors org/b@main 12 - camera"])
    result = run_cli(tmp_path, None, "list", "--profile", "camera", "--models-txt", str(txt))
    assert result.returncode == 2
    assert "models.txt:3: source 'org/b@main' must be <repo>@<revision>:<path>" in result.stderr


def test_unknown_profile_is_a_usage_error(tmp_path):
    result = run_cli(tmp_path, None, "list", "--profile", "fast,turbo")
    assert result.returncode == 2 and "unknown profile(s) turbo" in result.stderr


# -- download and verify ----------------------------------------------------------------------


def test_download_places_files_verifies_them_and_prints_pins(tmp_path, hub):
    a, b, c = os.urandom(200_000), os.urandom(3000), os.urandom(500)
    hub.add("org/ckpt", "split/a.safetensors", a)
    hub.add("org/lora", "b.safetensors", b)
    hub.add("org/other", "c.safetensors", c)
    txt = write_models_txt(tmp_path, [
        f"checkpoints/a.safetensors org/ckpt@{COMMIT}:split/a.safetensors {len(a)} {sha(a)} fast",
        "loras/b.safetensors org/lora@main:b.safetensors - - fast,pro",
        f"checkpoints/c.safetensors org/other@main:c.safetensors {len(c)} {sha(c)} legacy",
    ])
    models = tmp_path / "models"
    result = run_cli(tmp_path, hub, "download", "--profile", "fast", "--models-txt", str(txt),
                     "--models-dir", str(models), "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (models / "checkpoints" / "a.safetensors").read_bytes() == a
    assert (models / "loras" / "b.safetensors").read_bytes() == b
    assert not (models / "checkpoints" / "c.safetensors").exists()  # legacy only
    assert not (models / ".download").exists()
    assert "sha256 matches models.txt" in result.stdout
    assert "sha256 matches the Hub's sha256" in result.stdout  # b: no pin, checked against the Hub
    # b was not pinned: the command prints the line that pins it
    assert f"loras/b.safetensors  org/lora@{COMMIT}:b.safetensors  {len(b)}  {sha(b)}  fast,pro" \
        in result.stdout
    assert not hub.seen("GET", "/cdn/org/other/")

    verify = run_cli(tmp_path, None, "verify", "--profile", "fast", "--models-txt", str(txt),
                     "--models-dir", str(models))
    assert verify.returncode == 0, verify.stdout
    assert "OK             checkpoints/a.safetensors" in verify.stdout
    assert "UNVERIFIED     loras/b.safetensors" in verify.stdout

    # a second run downloads nothing
    before = len(hub.seen("GET", "/cdn/"))
    again = run_cli(tmp_path, hub, "download", "--profile", "fast", "--models-txt", str(txt),
                    "--models-dir", str(models))
    assert again.returncode == 0 and again.stdout.count("PRESENT") == 2
    assert len(hub.seen("GET", "/cdn/")) == before


def test_verify_fails_on_a_changed_file(tmp_path):
    data = os.urandom(1000)
    txt = write_models_txt(tmp_path, [
        f"checkpoints/a.safetensors org/a@main:a.safetensors {len(data)} {sha(data)} fast",
        f"checkpoints/b.safetensors org/a@main:b.safetensors {len(data)} {sha(data)} fast",
        f"checkpoints/c.safetensors org/a@main:c.safetensors {len(data)} {sha(data)} fast",
    ])
    folder = tmp_path / "models" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "a.safetensors").write_bytes(data)
    (folder / "b.safetensors").write_bytes(bytes(len(data)))
    result = run_cli(tmp_path, None, "verify", "--models-txt", str(txt),
                     "--models-dir", str(tmp_path / "models"))
    assert result.returncode == 1
    assert "OK             checkpoints/a.safetensors" in result.stdout
    assert f"HASH MISMATCH  checkpoints/b.safetensors (sha256 {sha(bytes(len(data)))}, " \
           f"expected {sha(data)})" in result.stdout
    assert "MISSING        checkpoints/c.safetensors" in result.stdout
    assert "3 files: 2 failed" in result.stdout


def test_wrong_hash_in_models_txt_fails_before_downloading(tmp_path, hub):
    data = os.urandom(5000)
    hub.add("org/a", "a.safetensors", data)
    txt = write_models_txt(tmp_path, [
        f"checkpoints/a.safetensors org/a@main:a.safetensors {len(data)} {'0' * 64} fast"])
    models = tmp_path / "models"
    result = run_cli(tmp_path, hub, "download", "--models-txt", str(txt), "--models-dir", str(models))
    assert result.returncode == 1
    assert f"the Hub's sha256 is {sha(data)}, models.txt says {'0' * 64}" in result.stdout
    assert "error: checkpoints/a.safetensors" in result.stderr
    assert not (models / "checkpoints" / "a.safetensors").exists()
    assert not hub.seen("GET", "/cdn/")


def test_corrupted_transfer_is_deleted_and_fails(tmp_path, hub):
    good, bad = os.urandom(4000), os.urandom(4000)
    hub.add("org/a", "a.safetensors", bad, advertised_sha256=sha(good))  # the CDN serves other bytes
    txt = write_models_txt(tmp_path, [
        f"checkpoints/a.safetensors org/a@main:a.safetensors {len(good)} {sha(good)} fast"])
    models = tmp_path / "models"
    result = run_cli(tmp_path, hub, "download", "--models-txt", str(txt), "--models-dir", str(models))
    assert result.returncode == 1
    assert f"hash mismatch against models.txt values (sha256 {sha(bad)}, expected {sha(good)})" \
        f": file deleted" in result.stdout
    assert hub.seen("GET", "/cdn/org/a/a.safetensors")
    assert not (models / "checkpoints" / "a.safetensors").exists()
    assert not [p for p in models.rglob("*") if p.is_file()]


def test_dropped_transfer_resumes_with_a_range_request(tmp_path, hub):
    # huggingface_hub reads the body in 10 MiB chunks and resumes from the last whole chunk.
    data = os.urandom(12 * MIB)
    hub.add("org/big", "big.safetensors", data, drop_first_get_after=11 * MIB)
    txt = write_models_txt(tmp_path, [
        f"checkpoints/big.safetensors org/big@main:big.safetensors {len(data)} {sha(data)} fast"])
    models = tmp_path / "models"
    result = run_cli(tmp_path, hub, "download", "--models-txt", str(txt), "--models-dir", str(models))
    assert result.returncode == 0, result.stdout + result.stderr
    gets = hub.seen("GET", "/cdn/org/big/big.safetensors")
    assert len(gets) == 2
    assert "range" not in gets[0].headers
    assert gets[1].headers["range"] == f"bytes={10 * MIB}-"
    assert sha256_file(models / "checkpoints" / "big.safetensors") == sha(data)


def test_hf_token_is_sent_to_the_hub_only(tmp_path, hub):
    data = os.urandom(100)
    hub.add("gated/repo", "g.safetensors", data)
    txt = write_models_txt(tmp_path, [
        f"loras/g.safetensors gated/repo@main:g.safetensors {len(data)} {sha(data)} camera"])
    result = run_cli(tmp_path, hub, "download", "--profile", "camera", "--models-txt", str(txt),
                     "--models-dir", str(tmp_path / "models"), token="hf_standin_token")
    assert result.returncode == 0, result.stdout + result.stderr
    heads = hub.seen("HEAD", "/gated/repo/resolve/main/g.safetensors")
    assert heads and all(r.headers.get("authorization") == "Bearer hf_standin_token" for r in heads)
    cdn = hub.seen("GET", "/cdn/gated/repo/")
    assert cdn and all("authorization" not in r.headers for r in cdn)


def test_missing_repo_and_file_are_reported(tmp_path, hub):
    hub.add("org/a", "a.safetensors", b"a")
    txt = write_models_txt(tmp_path, [
        "checkpoints/x.safetensors org/nope@main:x.safetensors - - fast",
        "checkpoints/y.safetensors org/a@main:y.safetensors - - fast",
    ])
    result = run_cli(tmp_path, hub, "download", "--models-txt", str(txt),
                     "--models-dir", str(tmp_path / "models"))
    assert result.returncode == 1
    assert "repo org/nope not found" in result.stdout
    assert "y.safetensors not found in org/a@main" in result.stdout
    assert "2 files: 0 ok, 2 failed" in result.stdout
