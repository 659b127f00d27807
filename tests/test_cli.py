"""The command line as a person uses it: ``ltx-worker generate`` in a terminal (a pseudo-terminal
here), ``serve`` and ``templates check``, against the session's real ComfyUI (tiny weights)."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import av
import pytest
import requests

from ltx_worker.cli import main as cli_main
from ltx_worker.config import PROJECT_ROOT

from media_samples import edit_clip
from support import free_port, make_test_image

CLI = [sys.executable, "-m", "ltx_worker.cli"]
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>]")


def _env(comfy, **extra: str) -> dict:
    env = dict(os.environ, COMFY_INPUT_DIR=str(comfy.input_dir), COMFY_OUTPUT_DIR=str(comfy.output_dir),
               PYTHONUNBUFFERED="1", **extra)
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"):
        env.pop(name, None)
    return env


def run_in_terminal(cmd: list[str], env: dict, timeout_s: float = 540) -> tuple[int, str]:
    """Run `cmd` with a pseudo-terminal (120x40) as its stdin/stdout/stderr, as in a person's
    terminal; returns (exit status, everything it wrote, ANSI escapes removed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, cwd=PROJECT_ROOT,
                            env=dict(env, TERM="xterm-256color"), start_new_session=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("generate did not finish:\n" + b"".join(chunks).decode(errors="replace")[-3000:])
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
    code = proc.wait(30)
    return code, ANSI.sub("", b"".join(chunks).decode(errors="replace").replace("\r", "\n"))


def _t2v(comfy) -> str:
    return "ltx-2-t2v" if comfy.has_ltx2 else "ltxv-t2v"


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_generate_in_a_terminal_shows_progress_and_makes_a_playable_mp4(comfy, tmp_path):
    out = tmp_path / "clips" / "boat.mp4"
    code, text = run_in_terminal(
        [*CLI, "generate", "--prompt", "a paper boat on a puddle", "--model", _t2v(comfy),
         "--duration", "2", "--seed", "11", "--comfy-url", comfy.url, "--output", str(out)],
        _env(comfy),
    )
    assert code == 0, text[-3000:]
    # the live bar went through the stages, with percentages and rich's bar glyphs
    for stage in ("stage 1", "decode", "done"):
        assert stage in text, (stage, text[-3000:])
    percents = {float(p) for p in re.findall(r"(\d{1,3}(?:\.\d)?)%", text)}
    assert 100.0 in percents and any(0 < p < 100 for p in percents), percents
    assert "━" in text
    # the result: where the files are and the video's measured facts
    assert str(out) in text.replace("\n", "") or out.name in text
    assert "49 at 24 fps" in text and "1280x704" in text
    assert out.is_file() and _frames(out) == 49
    poster = out.with_suffix(".jpg")
    assert poster.read_bytes()[:2] == b"\xff\xd8"
    assert not list(out.parent.glob("cli-*")), "the handler's files were moved to --output"


def test_generate_ctrl_c_stops_the_prompt_in_comfyui(comfy, tmp_path):
    """Ctrl-C (SIGINT) while ComfyUI runs the prompt: the CLI says so, exits 130, and ComfyUI's
    queue is empty again within seconds (the handler interrupted the prompt)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*CLI, "generate", "--prompt", "a paper boat on a puddle", "--model", _t2v(comfy),
         "--duration", "2", "--comfy-url", comfy.url, "--output", str(tmp_path / "never.mp4")],
        stdin=slave, stdout=slave, stderr=slave, cwd=PROJECT_ROOT,
        env=dict(_env(comfy), TERM="xterm-256color"), start_new_session=True,
    )
    os.close(slave)
    text, sent, deadline = "", False, time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                text += ANSI.sub("", data.decode(errors="replace"))
            if not sent and re.search(r"prepare|stage 1", text):
                proc.send_signal(signal.SIGINT)
                sent = True
            if proc.poll() is not None and not ready:
                break
    finally:
        os.close(master)
    assert sent, text[-2000:]
    assert proc.wait(60) == 130, text[-2000:]
    assert "cancelled" in text
    assert not (tmp_path / "never.mp4").exists()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        queue = requests.get(comfy.url + "/queue", timeout=10).json()
        if not queue["queue_running"] and not queue["queue_pending"]:
            break
        time.sleep(0.5)
    assert not queue["queue_running"] and not queue["queue_pending"], queue


def test_generate_i2v_from_a_local_file_without_a_terminal(comfy, tmp_path):
    image = tmp_path / "start.png"
    image.write_bytes(make_test_image())
    out = tmp_path / "i2v.mp4"
    done = subprocess.run(
        [*CLI, "generate", "--prompt", "waves roll onto the beach", "--image", str(image),
         "--model", "ltx-2-i2v" if comfy.has_ltx2 else "ltxv-i2v", "--duration", "2",
         "--aspect-ratio", "1:1", "--comfy-url", comfy.url, "--output", str(out)],
        cwd=PROJECT_ROOT, env=_env(comfy), capture_output=True, text=True, timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # no terminal: one plain line per stage instead of a live bar
    assert re.search(r"\[\s*\d+\.\d%\] inputs", done.stderr), done.stderr
    assert "done" in done.stderr and "━" not in done.stderr
    assert "704x704" in done.stdout
    assert _frames(out) == 49


def test_generate_takes_the_mode_options_and_picks_a_model_that_has_the_mode(comfy, tmp_path):
    """--image with --last-image and --keyframe: a keyframes job on the newest family's i2v model
    that this ComfyUI runs in that mode (no --model)."""
    if not comfy.has_ltx2:
        pytest.skip("the keyframe templates need ComfyUI 0.33.0")
    first, middle, last = (tmp_path / f"{n}.png" for n in ("first", "middle", "last"))
    for seed, path in enumerate((first, middle, last)):
        path.write_bytes(make_test_image(320, 320, seed=seed))
    out = tmp_path / "keyframes.mp4"
    done = subprocess.run(
        [*CLI, "generate", "--prompt", "the tide comes in over the rocks", "--image", str(first),
         "--last-image", str(last), "--keyframe", f"{middle}@1s:0.9", "--duration", "2",
         "--aspect-ratio", "1:1", "--comfy-url", comfy.url, "--output", str(out)],
        cwd=PROJECT_ROOT, env=_env(comfy), capture_output=True, text=True, timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ltx-2.5-i2v fast (keyframes)" in done.stderr, done.stderr[-2000:]
    assert re.search(r"inputs: uploading 3 guide images", done.stderr), done.stderr
    assert _frames(out) == 49
    bad = subprocess.run(
        [*CLI, "generate", "--prompt", "the tide comes in", "--keyframe", f"{middle}@soon",
         "--comfy-url", comfy.url], cwd=PROJECT_ROOT, env=_env(comfy), capture_output=True, text=True, timeout=60,
    )
    assert bad.returncode == 2 and "POS is seconds (2.5s) or a frame (40)" in bad.stderr


def test_generate_edits_a_video_with_retake_or_extend(comfy, tmp_path, capsys):
    """--edit-video with --retake START:DURATION (issue 19): the edit model is picked, the
    progress shows the source and the splice, and the MP4 has the source's frames; an edit
    option without its partner is a usage error."""
    if not comfy.has_ltx2:
        pytest.skip("the edit templates need ComfyUI 0.33.0")
    source = tmp_path / "shot.mp4"
    source.write_bytes(edit_clip(96, 24, (64, 40)))
    out = tmp_path / "retake.mp4"
    done = subprocess.run(
        [*CLI, "generate", "--prompt", "the sea turns stormy", "--edit-video", str(source), "--retake", "1:2",
         "--replace", "video", "--seed", "3", "--comfy-url", comfy.url, "--output", str(out)],
        cwd=PROJECT_ROOT, env=_env(comfy), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ltx-2.3-edit fast (edit) retake" in done.stderr, done.stderr[-2000:]
    assert "inputs: uploading retake window" in done.stderr and "splice" in done.stderr, done.stderr[-2000:]
    assert _frames(out) == 96
    for args, words in ((["--edit-video", str(source)], "--edit-video goes with one of --retake or --extend"),
                        (["--retake", "1:2"], "--edit-video goes with one of --retake or --extend"),
                        (["--edit-video", str(source), "--retake", "soon"], "give START:DURATION")):
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        try:  # in this process: usage errors end before ComfyUI is reached
            status = cli_main(["generate", "--prompt", "the sea", *args, "--comfy-url", comfy.url])
        except SystemExit as stop:  # argparse's own usage errors
            status = stop.code
        finally:  # generate configures the root logger for the command line: give the suite its own back
            root.handlers[:], root.level = handlers, level
        assert status == 2 and words in capsys.readouterr().err


def test_generate_names_the_models_the_comfyui_can_run(comfy, tmp_path):
    # a workflows folder with the legacy templates only: ltx-2-t2v is not served
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copytree(PROJECT_ROOT / "workflows" / "ltxv", folder / "ltxv")
    done = subprocess.run(
        [*CLI, "generate", "--prompt", "a paper boat", "--comfy-url", comfy.url, "--duration", "2",
         "--model", "ltx-2-t2v", "--output", str(tmp_path / "never.mp4")],
        cwd=PROJECT_ROOT, env=_env(comfy, WORKFLOWS_DIR=str(folder)), capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "cannot run ltx-2-t2v" in done.stderr and "ltxv-t2v" in done.stderr, done.stderr
    assert "--model ltxv-t2v" in done.stderr
    if not comfy.has_ltx2:  # the ComfyUI itself lacks LTX-2: the message says so
        done = subprocess.run(
            [*CLI, "generate", "--prompt", "a paper boat", "--comfy-url", comfy.url, "--model", "ltx-2-t2v",
             "--output", str(tmp_path / "never.mp4")],
            cwd=PROJECT_ROOT, env=_env(comfy), capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 1 and "lacks nodes LTX-2 (19B)'s workflows need" in done.stderr, done.stderr


def test_generate_without_comfyui_says_so(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [*CLI, "generate", "--prompt", "a paper boat", "--comfy-url", url, "--ready-timeout", "1"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "COMFY_UNAVAILABLE" in done.stderr and url in done.stderr, done.stderr
    done = subprocess.run([*CLI, "generate", "--prompt", "x y z", "--image", str(tmp_path / "nope.png")],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no such file" in done.stderr


def test_serve_runs_the_local_api(comfy, tmp_path):
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port), "--comfy-url", comfy.url],
                            cwd=PROJECT_ROOT, env=_env(comfy, OUTPUT_DIR=str(tmp_path)),
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                requests.get(url + "/docs", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.3)
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
        body = requests.post(url + "/runsync", json={"input": {"model": "ltx-2-t2v", "prompt": "a"}},
                             timeout=60).json()
        assert body["status"] == "FAILED"
        assert json.loads(body["error"])["code"] == "INVALID_INPUT"
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def test_templates_check_against_the_live_comfyui(comfy):
    runnable = ["ltxv_t2v", "ltxv_i2v"] + (["ltx2_t2v_fast", "ltx2_i2v_pro"] if comfy.has_ltx2 else [])
    args = [*CLI, "templates", "check", "--comfy-url", comfy.url]
    done = subprocess.run([*args, *[a for n in runnable for a in ("--template", n)]],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ComfyUI {comfy.version} at {comfy.url}" in done.stdout
    if not comfy.has_ltx2:  # the LTX-2 templates use nodes this ComfyUI lacks
        done = subprocess.run([*args, "--template", "ltx2_t2v_fast"],
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and "unknown node:" in done.stdout


def test_generate_parses_the_lora_id_lora_and_transition_options(tmp_path):
    """``--lora``, ``--reference-audio`` and ``--transition`` become the job's fields (the jobs
    themselves run in tests/test_e2e_loras.py and tests/test_e2e_modes.py)."""
    from ltx_worker.cli import build_parser
    from ltx_worker.cli.job_options import cli_variant, input_files, job_input, lora

    assert lora("ltx2-squish@0.8") == {"name": "ltx2-squish", "strength": 0.8}
    assert lora("https://u:p@host.example/a.safetensors") == {"url": "https://u:p@host.example/a.safetensors"}
    assert lora("https://host.example/a.safetensors@-1.5") == {"url": "https://host.example/a.safetensors",
                                                                 "strength": -1.5}
    voice = tmp_path / "voice.wav"
    voice.write_bytes(b"RIFF")
    args = build_parser().parse_args(["generate", "--prompt", "a man speaks", "--reference-audio", str(voice),
                                      "--lora", "ltx2-squish", "--lora", "https://h.example/b.safetensors@0.5",
                                      "--transition"])
    files = input_files(args)
    assert cli_variant(args) == "id-lora" and files["reference_audio_url"].startswith("data:audio/")
    spec = job_input(args, "ltx-2.3-i2v", "data:image/png;base64,AA", files)
    assert spec["loras"] == [{"name": "ltx2-squish"}, {"url": "https://h.example/b.safetensors", "strength": 0.5}]
    assert spec["transition"] is True
