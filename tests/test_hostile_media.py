"""Hostile input files (security hardening, the input side), each made for real:

* malformed media is INVALID_INPUT naming the field, never INTERNAL (a broken eXIf chunk, audio
  whose rate or layout changes mid-stream, any unexpected decoder exception);
* downloads and decoding end by the job's deadline and a per-file budget, and stop on cancel
  (real loopback servers that drip one byte every 0.2 s); nothing is uploaded after a cancel;
* a control video's pixel cap holds for every decoded frame, not only the declared size;
* FFmpeg parses only the accepted containers: SDP, ffconcat and HLS texts are refused at once,
  with one message, binding nothing and opening nothing;
* an SSRF refusal tells the sender nothing of the address a host resolves to.

No ComfyUI: functions are called directly, or `JobHandler` points at a port where nothing listens
(a job that got past its inputs would end in COMFY_UNAVAILABLE).
"""

from __future__ import annotations

import asyncio
import http.server
import io
import logging
import socket
import threading
import time
import wave
from pathlib import Path

import av
import pytest

from ltx_worker.config import load_settings
from ltx_worker.errors import ErrorCode, WorkerError
from ltx_worker.handler import JobHandler
from ltx_worker.input_budget import InputBudget
from ltx_worker.inputs import fetch_source, prepare_image
from ltx_worker.job_inputs import CheckedInputs
from ltx_worker.media import prepare_audio, prepare_control_video
from ltx_worker.media_open import check_frame_pixels

from media_samples import (
    concatenated_audio,
    ffconcat_text,
    hls_text,
    jpeg_with_exif,
    png_bytes,
    png_with_exif,
    sdp_text,
    size_switching_video,
    tone_wav,
    webp_with_exif,
)
from support import data_uri, free_port

DRIP_S = 0.2  # the drip servers send one byte every DRIP_S seconds
T23 = {"model": "ltx-2.3-t2v", "prompt": "a robot dancing", "duration": 2}


@pytest.fixture(scope="module")
def offline_handler(tmp_path_factory):
    settings = load_settings(comfy_port=free_port(), output_dir=tmp_path_factory.mktemp("out"),
                             comfy_request_timeout_s=1, comfy_recover_timeout_s=0.1)
    return JobHandler(settings)  # never started: ComfyUI is not there


def _run(handler: JobHandler, job_input: dict) -> dict:
    return asyncio.run(handler({"id": "hostile-media", "input": job_input}))


# -- 2. malformed media is INVALID_INPUT, not INTERNAL ---------------------------------------------------

BROKEN_EXIF = [  # (file, the code the offline handler ends with)
    pytest.param(png_with_exif(b"xx"), "INVALID_INPUT", id="png-exif-not-tiff"),        # SyntaxError in Pillow
    pytest.param(png_with_exif(b"MM\x00*"), "INVALID_INPUT", id="png-exif-truncated"),  # struct.error in Pillow
    pytest.param(webp_with_exif(b"xx"), "INVALID_INPUT", id="webp-exif-not-tiff"),      # SyntaxError in Pillow
    # Pillow's JPEG reader copes: the image is accepted and the job goes on to the (absent) ComfyUI
    pytest.param(jpeg_with_exif(b"xx"), "COMFY_UNAVAILABLE", id="jpeg-exif-not-tiff"),
]


@pytest.mark.parametrize(("image", "code"), BROKEN_EXIF)
def test_a_broken_exif_block_is_invalid_input_not_internal(offline_handler, image, code):
    out = _run(offline_handler, {"model": "ltx-2-i2v", "prompt": "a lighthouse at dusk",
                                 "image_urls": [data_uri(image, "image/png")]})
    assert out["error_code"] == code, out
    if code == "INVALID_INPUT":
        assert out["message"].startswith("image_urls[0]: not a decodable image"), out["message"]
        assert out["retryable"] is False and "refresh_worker" not in out
    else:
        prepare_image(image, max_bytes=1 << 20, max_pixels=1 << 20)


def test_any_unexpected_error_while_checking_is_invalid_input_naming_the_field(offline_handler, monkeypatch,
                                                                              caplog):
    """The last resort: an exception no one foresaw (here a RuntimeError from the audio check) is
    INVALID_INPUT naming the field, not retryable; its trace goes to the worker's log."""
    import ltx_worker.job_inputs as job_inputs

    def explode(*args, **kwargs):
        raise RuntimeError("a decoder's own surprise")

    monkeypatch.setattr(job_inputs, "prepare_audio", explode)
    job = {"model": "ltx-2.3-i2v", "prompt": "a singer on a stage", "duration": 2,
           "image_urls": [data_uri(png_bytes(), "image/png")],
           "audio_url": data_uri(tone_wav(3.0, rate=16_000), "audio/wav")}
    with caplog.at_level(logging.ERROR, logger="ltx_worker.job_inputs"):
        out = _run(offline_handler, job)
    assert out["error_code"] == "INVALID_INPUT" and out["retryable"] is False, out
    assert out["message"] == "audio_url: not a decodable audio file (RuntimeError)"
    assert "refresh_worker" not in out
    assert any("a decoder's own surprise" in (r.exc_text or "") for r in caplog.records)


@pytest.mark.parametrize(("fmt", "codec", "first", "second"), [
    pytest.param("adts", "aac", (44_100, "mono"), (22_050, "mono"), id="adts-aac-rate-change"),
    pytest.param("adts", "aac", (44_100, "mono"), (44_100, "stereo"), id="adts-aac-layout-change"),
    pytest.param("mp2", "mp2", (48_000, "stereo"), (32_000, "mono"), id="mp2-rate-and-layout-change"),
])
def test_audio_that_changes_rate_or_layout_mid_stream_is_resampled(fmt, codec, first, second):
    data = concatenated_audio(first, second, fmt=fmt, codec=codec, seconds=1.0)
    wav, facts = prepare_audio(data, field="audio_url", start_s=0.0, max_s=60.0, min_s=1.0)
    # the first decoded frame's rate (FFmpeg may give the first MP2 frame the probe's last rate)
    assert facts.sample_rate in (first[0], second[0])
    halves = [prepare_audio(concatenated_audio(part, part, fmt=fmt, codec=codec, seconds=1.0), field="audio_url",
                            start_s=0.0, max_s=60.0, min_s=1.0)[1].duration_s / 2 for part in (first, second)]
    assert facts.duration_s == pytest.approx(sum(halves), abs=0.01)  # both halves kept, the second resampled
    with wave.open(io.BytesIO(wav)) as pcm:
        assert pcm.getframerate() == facts.sample_rate and pcm.getsampwidth() == 2
        assert pcm.getnchannels() == min(facts.channels, 2)
        assert pcm.getnframes() == round(facts.duration_s * facts.sample_rate)


# -- 4. every decoded frame of a control video is held to the pixel cap ----------------------------------

@pytest.mark.parametrize("fmt", ["avi", "matroska"])
def test_a_video_that_grows_in_band_is_refused_at_the_first_large_frame(fmt):
    data = size_switching_video(small=(64, 64), large=(1920, 1088), frames=(3, 3), fmt=fmt)
    with pytest.raises(WorkerError) as err:
        prepare_control_video(data, field="control_video_url", fps=24, frames=9, cover=(64, 64),
                              max_s=120, max_frames=3000, max_pixels=64 * 64)
    assert err.value.code is ErrorCode.INVALID_INPUT
    assert err.value.message.startswith("control_video_url: frame 4 is 1920x1088 pixels, more than the 4096"), \
        err.value.message


def test_the_frame_pixel_check_is_a_helper_any_video_input_can_use():
    frame = av.VideoFrame(65, 64, "yuv420p")
    check_frame_pixels(av.VideoFrame(64, 64, "yuv420p"), field="edit_video_url", index=1, max_pixels=4096)
    with pytest.raises(WorkerError, match=r"^edit_video_url: frame 7 is 65x64 pixels"):
        check_frame_pixels(frame, field="edit_video_url", index=7, max_pixels=4096)


# -- 5. only the accepted containers are parsed ----------------------------------------------------------

def _udp_ports_bound() -> set[int]:
    """Local UDP ports of this machine's sockets (Linux /proc)."""
    ports = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        ports.update(int(line.split()[1].rsplit(":", 1)[1], 16) for line in lines)
    return ports


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["audio", "video"])
def test_an_sdp_text_is_refused_at_once_and_binds_nothing(kind):
    if not Path("/proc/net/udp").exists():
        pytest.skip("needs Linux's /proc/net/udp to see bound ports")
    port = _free_udp_port() & ~1  # RTP on an even port, RTCP on the next
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.update(_udp_ports_bound() & {port, port + 1})
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(WorkerError) as err:
            _prepare(kind, sdp_text(port))
    finally:
        took = time.monotonic() - t0
        done.set()
        watcher.join()
    assert took < 1.0, f"took {took:.2f} s"
    assert seen == set(), f"UDP ports {seen} were bound"
    assert err.value.code is ErrorCode.INVALID_INPUT and "format" in err.value.message


def _prepare(kind: str, data: bytes) -> None:
    if kind == "audio":
        prepare_audio(data, field="audio_url", start_s=0.0, max_s=60.0, min_s=1.0)
    else:
        prepare_control_video(data, field="control_video_url", fps=24, frames=49, cover=(64, 64),
                              max_s=120, max_frames=3000, max_pixels=1 << 22)


def _message(kind: str, data: bytes) -> str:
    with pytest.raises(WorkerError) as err:
        _prepare(kind, data)
    assert err.value.code is ErrorCode.INVALID_INPUT
    return err.value.message


@pytest.mark.parametrize("kind", ["audio", "video"])
def test_reference_texts_are_refused_alike_whatever_they_name(kind, tmp_path, monkeypatch):
    """ffconcat naming a file that exists and one that does not and an SDP text get one message:
    none is parsed, nothing is opened; an HLS playlist pointing at a (counting) loopback server is
    refused without a request."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exists.wav").write_bytes(tone_wav(1.0))
    hits: list[str] = []

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        messages = {
            "ffconcat-existing": _message(kind, ffconcat_text("exists.wav")),
            "ffconcat-missing": _message(kind, ffconcat_text("missing.wav")),
            "sdp": _message(kind, sdp_text(_free_udp_port() & ~1)),
        }
        hls = _message(kind, hls_text(f"http://127.0.0.1:{server.server_address[1]}/segment.ts"))
    finally:
        server.shutdown()
    field = "audio_url" if kind == "audio" else "control_video_url"
    assert len(set(messages.values())) == 1, messages  # nothing tells whether exists.wav exists
    assert messages["sdp"].startswith(f"{field}: not a{'n' if kind == 'audio' else ''} {kind} format")
    assert hls.startswith(f"{field}: not a")  # not even probed as HLS without a .m3u8 name: refused
    assert hits == []


# -- 3. downloads and decoding end by the deadline and the per-file budget, and stop on cancel -----------

class DripServer(http.server.ThreadingHTTPServer):
    """A loopback server that announces a 100 kB body and sends one byte every `DRIP_S` seconds,
    for `for_s` seconds at most; `closed_at` is when the client went away (monotonic), if it did."""

    def __init__(self, for_s: float = 12.0) -> None:
        server = self
        self.closed_at: float | None = None
        self.requests = 0

        class Drip(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                end = time.monotonic() + for_s
                try:
                    while time.monotonic() < end:
                        self.wfile.write(b"\x89")
                        self.wfile.flush()
                        time.sleep(DRIP_S)
                except OSError:
                    server.closed_at = time.monotonic()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Drip)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/drip.png"


@pytest.fixture
def drip(monkeypatch):
    monkeypatch.setenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", "true")  # the drip is on loopback
    server = DripServer()
    yield server
    server.shutdown()
    server.server_close()


def test_a_dripping_url_ends_in_timeout_by_the_jobs_deadline(offline_handler, drip):
    deadline_s = 2.5
    t0 = time.monotonic()
    out = _run(offline_handler, {"model": "ltx-2-i2v", "prompt": "a lighthouse at dusk",
                                 "image_urls": [drip.url], "deadline_s": deadline_s})
    took = time.monotonic() - t0
    assert out["error_code"] == "TIMEOUT" and out["retryable"] is True, out
    assert out["message"].startswith("image_urls[0]: the job's deadline passed while downloading it")
    assert took < deadline_s + 5, f"took {took:.1f} s against a {deadline_s} s deadline"
    assert deadline_s - 0.5 < took, f"gave up after {took:.1f} s, before the deadline"


def test_a_dripping_url_is_stopped_by_the_per_file_budget(drip):
    """IMAGE_FETCH_TIMEOUT_S bounds one download's wall-clock time, not one socket read."""
    t0 = time.monotonic()
    with pytest.raises(WorkerError) as err:
        fetch_source(drip.url, field="audio_url", max_bytes=1 << 20, timeout_s=1.0)
    took = time.monotonic() - t0
    assert err.value.code is ErrorCode.INPUT_FETCH_FAILED, err.value
    assert err.value.message.startswith("audio_url: the download took longer than the 1 s"), err.value.message
    assert took < 3.0, f"took {took:.1f} s against a 1 s budget"  # 12 s before (the drip's whole length)
    _gone_within(drip, time.monotonic(), 1.0)  # the reading thread stopped too


def test_a_cancel_stops_a_download_at_once(drip):
    cancel = threading.Event()
    threading.Timer(0.6, cancel.set).start()
    with pytest.raises(WorkerError) as err:
        fetch_source(drip.url, field="keyframes[1].image_url", max_bytes=1 << 20, timeout_s=30.0,
                     budget=InputBudget(time.monotonic() + 30, cancel))
    stopped = time.monotonic()
    assert err.value.code is ErrorCode.CANCELLED and err.value.retryable is False, err.value
    assert err.value.message.startswith("keyframes[1].image_url: the job was cancelled")
    assert drip.requests == 1
    _gone_within(drip, stopped, 1.0)


def test_a_cancelled_job_stops_its_download_and_its_thread(offline_handler, drip):
    """RunPod cancels the job (the handler's task is cancelled): the inputs thread stops within a
    second; before the fix it kept reading for as long as the server dripped."""
    job = {"id": "cancelled", "input": {"model": "ltx-2-i2v", "prompt": "a lighthouse at dusk",
                                        "image_urls": [drip.url]}}

    async def cancel_midway() -> float:
        task = asyncio.create_task(offline_handler(job))
        await asyncio.sleep(0.8)
        task.cancel()
        cancelled = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        return cancelled

    cancelled = asyncio.run(cancel_midway())  # returns once the inputs thread has ended, too
    assert time.monotonic() - cancelled < 2.0
    _gone_within(drip, cancelled, 1.0)


def _gone_within(drip: DripServer, since: float, seconds: float) -> None:
    end = time.monotonic() + seconds + 2 * DRIP_S
    while drip.closed_at is None and time.monotonic() < end:
        time.sleep(0.02)
    assert drip.closed_at is not None, "the download kept reading"
    assert drip.closed_at - since < seconds + DRIP_S, f"read on for {drip.closed_at - since:.2f} s"


@pytest.mark.parametrize(("what", "budget"), [
    ("TIMEOUT", InputBudget(deadline=0.0)),
    ("CANCELLED", InputBudget(cancel=threading.Event())),
])
def test_decoding_stops_past_the_deadline_or_on_cancel(what, budget):
    if budget.cancel is not None:
        budget.cancel.set()
    with pytest.raises(WorkerError) as err:
        prepare_audio(tone_wav(2.0, rate=8_000), field="audio_url", start_s=0.0, max_s=60.0, min_s=1.0,
                      budget=budget)
    assert err.value.code.value == what and err.value.message.startswith("audio_url: "), err.value


class _RecordingClient:
    """Stands in for `ComfyClient.upload_input`: records names; `cancel_after` uploads, it sets
    the job's cancel event, as the handler does when RunPod cancels mid-upload."""

    def __init__(self, cancel: threading.Event, cancel_after: int) -> None:
        self.cancel, self.cancel_after, self.names = cancel, cancel_after, []

    def upload_input(self, data: bytes, filename: str, content_type: str, *, deadline=None) -> str:
        self.names.append(filename)
        if len(self.names) >= self.cancel_after:
            self.cancel.set()
        return filename


@pytest.mark.parametrize("cancel_after", [0, 1, 2])
def test_nothing_is_uploaded_once_the_job_is_cancelled(cancel_after):
    cancel = threading.Event()
    if cancel_after == 0:
        cancel.set()
    client = _RecordingClient(cancel, cancel_after)
    checked = CheckedInputs(plan=None, start_image=b"png", guides=[(b"png", 24, 1.0)], audio=b"wav")
    with pytest.raises(WorkerError) as err:
        checked.upload(client, "job", None, cancel)
    assert err.value.code is ErrorCode.CANCELLED
    assert len(client.names) == cancel_after


# -- 7. an SSRF refusal does not echo the address -------------------------------------------------------

@pytest.mark.parametrize(("url", "address"), [
    ("http://127.0.0.1/x.png", "127.0.0.1"),
    ("http://10.0.0.1/x.png", "10.0.0.1"),
    ("http://localhost/x.png", None),  # whatever localhost resolves to here
])
def test_an_ssrf_refusal_names_no_address(monkeypatch, caplog, url, address):
    monkeypatch.delenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", raising=False)
    addresses = {address} if address else {info[4][0] for info in socket.getaddrinfo("localhost", 80)}
    with caplog.at_level(logging.WARNING, logger="ltx_worker.inputs"), pytest.raises(WorkerError) as err:
        fetch_source(url, field="image_urls[0]", max_bytes=1 << 20, timeout_s=5.0)
    out = err.value.to_output()
    assert out["error_code"] == "INVALID_INPUT" and out["message"].startswith("image_urls[0]: URL refused")
    shown = out["error"] + out["message"] + repr(out.get("details"))
    assert not any(a in shown for a in addresses), out
    assert out["details"] == {"reason": "not a public http(s) address"}
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert any(a in logged for a in addresses), logged  # the operator still sees why
