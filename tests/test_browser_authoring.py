"""The authoring round trip (docs/authoring.md) in the real ComfyUI web editor, driven by a browser.

The session's ComfyUI (tests/conftest.py: ComfyUI 0.33.0 with the node pack and tiny weights)
serves its web UI; headless Chromium (Debian's ``chromium`` and ``chromium-driver``, a fresh
profile) drives it through selenium. Before each page load the editor's first-run state (its
Templates browser, tours, release notes, the export's file-name prompt) is settled through
ComfyUI's settings API (tests/comfy_frontend.py says which settings, and why), and every click
waits for no dialog over the editor, failing with a screenshot when one stays. For every
template, with its UI-format twin ``workflows/<family>/ui/<name>.json``:

1. the twin is opened through the editor's own file input (what File > Open uses), and the editor
   reports nothing missing: no node type, model or media error card;
2. where the template has the project's camera node (LTXWCameraLoRAPreset), clicking its
   ``preset`` combo on the canvas lists the node pack's presets;
3. File > Export (API) downloads the graph; the worker's checks pass on it (schema against the
   live ``/object_info``, every binding resolves) and it fills to the same graph as the committed
   template (compared by title: node ids aside), as does File > Export (the UI format) read back
   by `ltx_worker.ui_format.ui_to_api`;
4. the bound sizes are lowered in the editor (a tiny CPU job), Run queues the prompt, and the MP4
   appears in ComfyUI's output and in the editor's job queue panel.

A node renamed in the editor makes the export check fail, naming the binding. Screenshots go to
``build/browser-authoring/`` (git-ignored). Skipped, saying why, without Chromium, chromedriver
or selenium (CI installs them: scripts/install_chromium.sh). ``LTXW_AUTHORING_SCREENSHOT=PATH``
also writes the docs' screenshot (docs/img/authoring-ui.png) from the ``ltx2_i2v_fast`` run.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
import wave
from fractions import Fraction
from pathlib import Path

import pytest
import requests

from ltx_worker.templates import load_template, template_paths
from ltx_worker.ui_format import by_title, complete, differences, ui_path, ui_to_api
from ltx_worker.workflow_check import check_bindings, check_graph

import comfy_frontend
from support import browser_parts

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
ARTIFACTS = REPO / "build" / "browser-authoring"
TEMPLATES = {p.stem: p for p in template_paths(WORKFLOWS)}

CHROMIUM, CHROMEDRIVER, _MISSING = browser_parts()
try:
    from selenium import webdriver
    from selenium.common.exceptions import ElementClickInterceptedException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
except ImportError:  # pragma: no cover - the test extras install it
    webdriver = None

pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"browser test needs {', '.join(_MISSING)} (Debian: apt-get install chromium chromium-driver; "
           "CI: scripts/install_chromium.sh)",
)

#: Sizes of the job queued from the editor (a CPU renders it in seconds on the tiny weights): the
#: smallest the templates take (tests/test_comfy_client.py's). Sampling grows with the latent
#: tokens: at 256 x 256 the 21 jobs took 69 s instead of 51 s on 2 idle cores, and a pro job
#: 47 s instead of 20 s on busy ones.
TINY = {"width": 128, "height": 128, "half_width": 64, "half_height": 64, "frames": 9}
#: Steps of an LTXVScheduler (the pro templates' stage 1) in that run.
RUN_STEPS = 4
#: Values the export check fills both graphs with; other parameters keep the template's own.
VALUES = {"prompt": "A red fox runs through fresh snow at dawn.", "negative_prompt": "blurry",
          "width": 1280, "height": 704, "half_width": 640, "half_height": 352, "frames": 121,
          "fps": 24, "seed": 123456789, "filename_prefix": "ltxw/job-1",
          "camera_preset": "dolly_in", "camera_strength": 1.5}
LOAD_TIMEOUT_S = 60
#: How long after a load the editor has had to check models and media (it does so after the
#: graph is configured) before the test reads its error overlay.
CHECK_S = 1.5
RUN_TIMEOUT_S = 300
#: How long a click waits for an overlay over the editor to go before the test fails on it.
OVERLAY_TIMEOUT_S = 15


# ---------------------------------------------------------------------------------------------
# media the templates load (ComfyUI's input folder must hold them, or the editor reports them)
# ---------------------------------------------------------------------------------------------

def _png(width: int = 320, height: int = 240) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (width, height))
    img.putdata([(x * 255 // width, y * 255 // height, 128) for y in range(height) for x in range(width)])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _mp4(frames: int = 24, fps: int = 24, size: tuple[int, int] = (160, 128)) -> bytes:
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            arr = np.full((size[1], size[0], 3), 40, dtype=np.uint8)
            x = (i * 5) % (size[0] - 32)
            arr[40:72, x:x + 32] = 230
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def _wav(seconds: float, rate: int = 16_000) -> bytes:
    samples = int(seconds * rate)
    pcm = b"".join(int(12000 * math.sin(2 * math.pi * 220 * i / rate)).to_bytes(2, "little", signed=True)
                   for i in range(samples))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buf.getvalue()


def _provide_media(graph: dict, input_dir: Path) -> list[Path]:
    """Write a small sample under each file name a Load Image/Video/Audio node of `graph` holds;
    returns the files written."""
    written = []
    input_dir.mkdir(parents=True, exist_ok=True)
    makers = {"LoadImage": ("image", _png), "LoadVideo": ("file", _mp4),
              "LoadAudio": ("audio", lambda: _wav(8.0))}
    for node in graph.values():
        spec = makers.get(node["class_type"])
        if spec is None:
            continue
        name = node["inputs"].get(spec[0])
        if isinstance(name, str) and not (input_dir / name).is_file():
            (input_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (input_dir / name).write_bytes(spec[1]())
            written.append(input_dir / name)
    return written


# ---------------------------------------------------------------------------------------------
# the browser
# ---------------------------------------------------------------------------------------------

class Editor:
    """One headless Chromium (a profile of its own) on the session's ComfyUI web UI, and what an
    author does in it. Every click goes through `when_clear`: no overlay over the editor."""

    def __init__(self, comfy, downloads: Path, profile: Path):
        self.url = comfy.url
        self.comfy_version = comfy.version
        self.downloads = downloads
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1600,1000", "--force-device-scale-factor=1",
                    f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check"):
            opts.add_argument(arg)
        opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                               "download.prompt_for_download": False})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.driver.set_script_timeout(30)
        self.loaded_at = 0.0

    def quit(self) -> None:
        self.driver.quit()

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, what: str, predicate, timeout: float = LOAD_TIMEOUT_S, every: float = 0.05):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                shot = self.screenshot("timeout")
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (screenshot {shot})")
            time.sleep(every)

    def overlays(self) -> list[str]:
        """The overlays over the editor now (`comfy_frontend.OVERLAYS`), described."""
        return self.js(comfy_frontend.VISIBLE_OVERLAYS_JS, list(comfy_frontend.OVERLAYS))

    def when_clear(self, what: str, action=lambda: None, timeout: float = OVERLAY_TIMEOUT_S) -> None:
        """Do `action` (a click on `what`, a hover) once no overlay covers the editor; one that
        stays (or takes the click) for `timeout` s fails the test, naming it, with a screenshot."""
        deadline = time.monotonic() + timeout
        while True:
            blocking = self.overlays()
            if not blocking:
                try:
                    action()
                    return
                except ElementClickInterceptedException as err:
                    blocking = [err.msg.splitlines()[0]]
            if time.monotonic() > deadline:
                shot = self.screenshot("overlay-" + "".join(c if c.isalnum() else "_" for c in what))
                blocking += [f"the editor's error card {card!r}" for card in self.error_cards_now()]
                raise AssertionError(f"{'; '.join(blocking)} stayed over the editor for {timeout:.0f} s, "
                                     f"in the way of {what} (screenshot {shot})")
            time.sleep(0.05)

    def click(self, what: str, element) -> None:
        self.when_clear(f"a click on {what}", element.click)

    def click_at(self, what: str, x: int, y: int) -> None:
        def action() -> None:
            actions = ActionBuilder(self.driver)
            actions.pointer_action.move_to_location(x, y)
            actions.pointer_action.click()
            actions.perform()
        self.when_clear(f"a click on {what}", action)

    def hover(self, what: str, element) -> None:
        self.when_clear(f"the pointer on {what}", ActionChains(self.driver).move_to_element(element).perform)

    def open(self) -> None:
        """A fresh page: the editor as an author opens it, without the workflow tabs of earlier
        tests (the editor restores those from the browser's storage). Its first-run state
        (templates browser, tours, release notes...) is settled on the server before the page
        loads (`comfy_frontend.settle`), so no dialog opens whenever its startup ends."""
        comfy_frontend.settle(self.url, self.comfy_version)
        if not self.driver.current_url.startswith(self.url):
            self.driver.get(self.url + "/")
        self.js("localStorage.clear(); sessionStorage.clear();")
        self.driver.get(self.url + "/")
        # vueAppReady comes at the start of the startup; the splash screen goes at its end
        # (after the workflow restore and the first-run check)
        self.wait("the editor to start", lambda: self.js(
            "return !!(window.app && window.app.vueAppReady && window.app.graph"
            " && !document.getElementById('splash-loader'))"))
        assert self.js("return app.extensionManager.setting.get('Comfy.TutorialCompleted')") is True, \
            "the editor did not read the settled first-run settings"

    def load(self, path: Path, expected_nodes: int) -> None:
        """Open a workflow file through the editor's own file input (File > Open uses it)."""
        self.driver.find_element(By.ID, "comfy-file-input").send_keys(str(path))
        self.wait(f"{path.name} to load",
                  lambda: self.js("return app.graph.nodes.length") == expected_nodes
                  and path.stem in self.js("return document.title + ' ' + "
                                           "(document.querySelector('[data-testid=topbar-workflow-tabs]')"
                                           "?.innerText || '')"))
        self.loaded_at = time.monotonic()

    def error_cards(self) -> list[str]:
        """What the editor's error overlay says (missing node types, models, media...), once
        `CHECK_S` has passed since the last `load` (the test does other work meanwhile)."""
        time.sleep(max(0.0, self.loaded_at + CHECK_S - time.monotonic()))
        return self.error_cards_now()

    def error_cards_now(self) -> list[str]:
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, "[data-testid=error-overlay]")
                if e.is_displayed()]

    def node_errors(self) -> list[str]:
        return self.js("""return app.graph.nodes.filter(n => n.has_errors || !LiteGraph.registered_node_types[n.type])
                          .map(n => n.id + ' ' + n.type + ' ' + n.title)""")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def menu(self, *labels: str) -> None:
        """Click through the editor's main menu (the Comfy logo), e.g. ("File", "Export (API)")."""
        self.click("the main menu", self.driver.find_element(By.CSS_SELECTOR, ".comfy-menu-button-wrapper"))
        for i, label in enumerate(labels):
            item = self.wait(f"menu item {label!r}", lambda label=label: next(
                (e for e in self.driver.find_elements(By.CSS_SELECTOR, "[role=menuitem]")
                 if e.is_displayed() and e.get_attribute("aria-label") == label), None), timeout=10)
            if i < len(labels) - 1:
                self.hover(f"menu item {label!r}", item)
                deadline = time.monotonic() + 0.5
                while not (opened := any(e.is_displayed() and e.get_attribute("aria-label") == labels[i + 1]
                                         for e in self.driver.find_elements(By.CSS_SELECTOR, "[role=menuitem]"))):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                if not opened:
                    self.click(f"menu item {label!r}", item)  # a submenu opens on hover, or else on a click
            else:
                self.click(f"menu item {label!r}", item)

    def export(self, api: bool, dest: Path) -> dict:
        """File > Export (API) (or File > Export): the downloaded JSON (no file name asked:
        `comfy_frontend.FIRST_RUN_SETTINGS` turns Comfy.PromptFilename off)."""
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.iterdir():
            old.unlink()
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": str(dest)})
        self.menu("File", "Export (API)" if api else "Export")

        def downloaded() -> list[Path]:
            if self.overlays():  # a dialog instead of the download: fail on it, not on a timeout
                self.when_clear("the export's download")
            return [p for p in dest.iterdir() if p.suffix == ".json"]

        # Chromium writes `<name>.crdownload` and renames it when the download is complete
        files = self.wait("the export download", downloaded, timeout=20)
        return json.loads(files[0].read_text(encoding="utf-8"))

    def combo_entries(self, title: str, widget: str) -> list[str]:
        """Click a combo widget on the canvas and read the list the editor opens (then close it)."""
        point = self.js("""
            const [title, name] = arguments;
            const node = app.graph.nodes.find(n => n.title === title);
            const w = node.widgets.find(w => w.name === name);
            const c = app.canvas;
            c.ds.scale = 1.0;
            c.centerOnNode(node);
            c.setDirty(true, true);
            c.draw(true, true);
            const p = c.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2,
                                                   node.pos[1] + w.y + (w.computedHeight || 20) / 2]);
            const r = c.canvas.getBoundingClientRect();
            const ratio = c.canvas.width / r.width;
            return [r.left + p[0] / ratio, r.top + p[1] / ratio];""", title, widget)
        time.sleep(0.3)
        self.click_at(f"the {widget!r} combo of {title!r}", int(point[0]), int(point[1]))
        entries = self.wait("the combo list", lambda: self.js(
            "return Array.from(document.querySelectorAll('.litecontextmenu .litemenu-entry'))"
            ".map(e => e.innerText.trim())"), timeout=10)
        self.screenshot(f"combo-{title.replace(' ', '_')}")
        ActionChains(self.driver).send_keys(Keys.ESCAPE).perform()
        self.js("document.querySelectorAll('.litecontextmenu').forEach(m => m.remove())")
        return entries

    def set_widgets(self, values: list[tuple[str, str, object]]) -> list[str]:
        """Set widget values as an author does (the widget's value and callback)."""
        return self.js("""
            const missing = [];
            for (const [title, name, value] of arguments[0]) {
              const node = app.graph.nodes.find(n => n.title === title);
              const w = node && (node.widgets || []).find(w => w.name === name);
              if (!w) { missing.push(title + '.' + name); continue; }
              w.value = value;
              if (w.callback) w.callback(value, app.canvas, node);
            }
            app.graph.setDirtyCanvas(true, true);
            return missing;""", [list(v) for v in values])

    def rename(self, old: str, new: str) -> int:
        return self.js("""
            const nodes = app.graph.nodes.filter(n => n.title === arguments[0]);
            nodes.forEach(n => { n.title = arguments[1]; });
            app.graph.setDirtyCanvas(true, true);
            return nodes.length;""", old, new)

    def run(self) -> None:
        """Press the editor's Run (queue) button."""
        self.click("Run", self.driver.find_element(By.CSS_SELECTOR, "[data-testid=queue-button]"))

    def queue_panel(self) -> tuple[str, list[str]]:
        """Open the job queue panel: its text and the media it shows."""
        def shown() -> str:
            return self.js("return document.querySelector('[data-testid=queue-progress-overlay]')?.innerText || ''")
        if "Job Queue" not in shown():
            self.click("the job queue toggle",
                       self.driver.find_element(By.CSS_SELECTOR, "[data-testid=queue-overlay-toggle]"))
        self.wait("the job queue panel", lambda: "Job Queue" in shown(), timeout=10)
        return shown(), self.js("return Array.from(document.querySelectorAll('video, img')).map(e => e.src)"
                                ".filter(s => s.includes('/view?'))")


@pytest.fixture(scope="module")
def editor(comfy, tmp_path_factory):
    """The module's browser on the session's ComfyUI; skipped when it serves no web UI. It quits
    when the module ends: an editor page left open keeps drawing its canvas and following
    ComfyUI's websocket, a third of a core taken from every later test."""
    if "LTXAVTextEncoderLoader" not in comfy.object_info:
        pytest.skip(f"ComfyUI {comfy.version} has no LTX-2 nodes; the UI files are for 0.33.0")
    page = requests.get(comfy.url + "/", timeout=10)
    if page.status_code != 200 or "comfy" not in page.text.lower():
        pytest.skip("this ComfyUI serves no web UI (pip install comfyui-frontend-package)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # exports and screenshots; absent on a clean clone
    try:
        browser = Editor(comfy, tmp_path_factory.mktemp("downloads"), tmp_path_factory.mktemp("chromium-profile"))
    except WebDriverException as err:
        pytest.skip(f"chromium did not start: {err.msg}")
    yield browser
    browser.quit()


# ---------------------------------------------------------------------------------------------
# the checks
# ---------------------------------------------------------------------------------------------

def _fill_values(template) -> dict:
    """VALUES plus, for every other parameter, the template's own value (a repeated group: one
    item of its own values)."""
    values = {}
    for param, targets in template.params.items():
        title, name = targets[0]
        values[param] = VALUES.get(param, template.graph[template.node_id(template.graph, title)]["inputs"][name])
    for param, group in template.repeat.items():
        item = {}
        for key, targets in group.params.items():
            title, name = targets[0]
            item[key] = template.graph[template.node_id(template.graph, title)]["inputs"][name]
        values[param] = [item]
    return values


def _variants(template) -> list[dict]:
    out = [{}]
    if template.unlink_when_false:
        out.append({p: False for p in template.unlink_when_false})
    if template.when_true:
        out.append({p: True for p in template.when_true})
    return out


def _assert_fills_the_same(exported: dict, name: str, object_info: dict, tmp: Path) -> None:
    path = TEMPLATES[name]
    folder = tmp / "workflows" / path.parent.name
    shutil.copytree(path.parent, folder, ignore=shutil.ignore_patterns("ui"))
    (folder / path.name).write_text(json.dumps(exported, indent=2))
    committed, reexported = load_template(path), load_template(folder / path.name)
    values = _fill_values(committed)
    for variant in _variants(committed):
        mine = complete(reexported.fill({**values, **variant}), object_info)
        theirs = complete(committed.fill({**values, **variant}), object_info)
        assert by_title(mine) == by_title(theirs), (variant, differences(mine, theirs))


def _bindings(name: str) -> dict:
    path = TEMPLATES[name]
    return json.loads(path.with_name(path.stem + ".bindings.json").read_text())


def _wait_history(comfy, before: set[str], timeout: float) -> tuple[str, dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        history = requests.get(comfy.url + "/history", timeout=10).json()
        for prompt_id in set(history) - before:
            status = history[prompt_id].get("status") or {}
            if status.get("completed") or status.get("status_str") == "error":
                return prompt_id, history[prompt_id]
        time.sleep(0.1)
    raise AssertionError(f"the queued prompt did not finish in {timeout:.0f} s")


def _is_mp4(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[4:8] == b"ftyp"


@pytest.fixture
def leave_comfy_as_found(comfy):
    """Files and history entries a test adds to the session's ComfyUI, removed afterwards."""
    added: dict[str, list] = {"files": [], "prompts": []}
    yield added
    for path in added["files"]:
        path.unlink(missing_ok=True)
    if added["prompts"]:
        requests.post(comfy.url + "/history", json={"delete": added["prompts"]}, timeout=10)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_round_trip_in_the_editor(name, editor, comfy, tmp_path, leave_comfy_as_found):
    path = TEMPLATES[name]
    graph = json.loads(path.read_text())
    missing = sorted({n["class_type"] for n in graph.values()} - set(comfy.object_info))
    if missing:
        pytest.skip(f"ComfyUI {comfy.version} lacks {', '.join(missing)}")
    twin = ui_path(path)
    assert twin.is_file(), f"no {twin.relative_to(REPO)}: run `ltx-worker templates ui --template {name}`"
    ui = json.loads(twin.read_text())
    leave_comfy_as_found["files"] += _provide_media(graph, comfy.input_dir)

    # 1. open the UI file as an author does; the editor reports nothing missing
    t0 = time.monotonic()
    editor.open()
    editor.load(twin, expected_nodes=len(ui["nodes"]))
    assert editor.node_errors() == []
    if name == "ltx2_i2v_fast" and os.environ.get("LTXW_AUTHORING_SCREENSHOT"):
        _docs_screenshot(editor, Path(os.environ["LTXW_AUTHORING_SCREENSHOT"]))

    # 2. the camera preset node lists the node pack's presets
    presets = [n["_meta"]["title"] for n in graph.values() if n["class_type"] == "LTXWCameraLoRAPreset"]
    for title in presets:
        spec = comfy.object_info["LTXWCameraLoRAPreset"]["input"]["required"]["preset"]
        options = spec[0] if isinstance(spec[0], list) else spec[1]["options"]
        assert editor.combo_entries(title, "preset") == options

    # 3. Export (API): binds, checks and fills like the committed template; so does the UI export
    t_loaded = time.monotonic()
    exported = editor.export(api=True, dest=tmp_path / "export-api")
    (ARTIFACTS / f"{name}-export-api.json").write_text(json.dumps(exported, indent=2))
    assert check_graph(exported, comfy.object_info) == []
    assert check_bindings(exported, _bindings(name)) == []
    assert by_title(exported) == by_title(complete(graph, comfy.object_info)), \
        differences(exported, complete(graph, comfy.object_info))
    _assert_fills_the_same(exported, name, comfy.object_info, tmp_path)
    saved_ui = editor.export(api=False, dest=tmp_path / "export-ui")
    assert differences(ui_to_api(saved_ui, comfy.object_info), exported) == []
    # (step 1's last check, read once the editor has had CHECK_S to check models and media)
    shot = editor.screenshot(f"{name}-loaded")
    assert editor.error_cards() == [], f"the editor reports problems (screenshot {shot})"
    assert editor.node_errors() == []

    # 4. a tiny job from the editor's Run button; the MP4 appears
    bindings = _bindings(name)
    prefix = f"ltxw-browser/{name}"
    sizes = [(title, inp, TINY[p]) for p, targets in bindings["params"].items() if p in TINY
             for title, inp in targets]
    sizes += [(title, inp, prefix) for title, inp in bindings["params"].get("filename_prefix", [])]
    # the pro templates' full schedules (20-30 steps with CFG) prove nothing more here than 4 steps
    sizes += [(n["_meta"]["title"], "steps", RUN_STEPS) for n in graph.values() if n["class_type"] == "LTXVScheduler"]
    assert editor.set_widgets(sizes) == []
    before = set(requests.get(comfy.url + "/history", timeout=10).json())
    started = time.monotonic()
    editor.run()
    prompt_id, entry = _wait_history(comfy, before, RUN_TIMEOUT_S)
    leave_comfy_as_found["prompts"].append(prompt_id)
    leave_comfy_as_found["files"] += [comfy.output_dir / f["subfolder"] / f["filename"]
                                      for out in entry["outputs"].values() for f in out.get("images") or []
                                      if f.get("type") == "output"]
    shot = editor.screenshot(f"{name}-ran")
    assert entry["status"].get("status_str") == "success", json.dumps(entry["status"])[-3000:]
    save_id = next(nid for nid, n in graph.items() if n["_meta"]["title"] == bindings.get("output", "Save Video"))
    files = (entry["outputs"].get(save_id) or {}).get("images") or []
    assert files, f"no video from {save_id!r}: {entry['outputs']}"
    video = comfy.output_dir / files[0]["subfolder"] / files[0]["filename"]
    assert video.suffix == ".mp4" and _is_mp4(video), video
    shown = editor.js("return (app.nodeOutputs[arguments[0]]?.images || []).map(f => f.filename)", save_id)
    assert files[0]["filename"] in shown, f"the Save Video node does not show the video: {shown}"
    # the job queue panel lists the job (by its first output) with a preview from /view
    outputs = [f["filename"] for out in entry["outputs"].values() for f in out.get("images") or []]
    text, media = editor.queue_panel()
    assert any(name in text for name in outputs), (outputs, text)
    assert any(f"filename={name}" in src for src in media for name in outputs), media
    editor.screenshot(f"{name}-queue")
    print(f"{name}: open+checks {t_loaded - t0:.1f} s, exports {started - t_loaded:.1f} s, "
          f"run {time.monotonic() - started:.1f} s ({prompt_id}); screenshots in {ARTIFACTS}")


def test_renamed_bound_node_fails_the_export_check(editor, comfy, tmp_path):
    """An author renames a bound node in the editor: the exported file no longer binds, and
    `ltx-worker templates check` says which binding broke."""
    name = "ltx2_t2v_fast" if "ltx2_t2v_fast" in TEMPLATES else sorted(TEMPLATES)[0]
    path = TEMPLATES[name]
    bindings = _bindings(name)
    bound = bindings["params"]["prompt"][0][0]
    ui = json.loads(ui_path(path).read_text())
    editor.open()
    editor.load(ui_path(path), expected_nodes=len(ui["nodes"]))
    assert editor.rename(bound, "My Prompt") == 1
    exported = editor.export(api=True, dest=tmp_path / "export")
    problems = check_bindings(exported, bindings)
    assert any("'prompt'" in p and f"no node titled {bound!r}" in p for p in problems), problems

    folder = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, folder, ignore=shutil.ignore_patterns("ui"))
    (folder / path.parent.name / path.name).write_text(json.dumps(exported, indent=2))
    oi = tmp_path / "object_info.json"
    oi.write_text(json.dumps(comfy.object_info))
    done = subprocess.run([sys.executable, "-m", "ltx_worker.cli", "templates", "check", "--workflows",
                           str(folder), "--template", name, "--object-info", str(oi)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert any("binding:" in line and "'prompt'" in line and bound in line
               for line in done.stdout.splitlines()), done.stdout


def _docs_screenshot(editor: Editor, dest: Path) -> None:
    """The docs' picture: the template's left half (note, models, prompt, inputs) at a readable
    zoom, stored as a small palette PNG."""
    from PIL import Image

    if "Job Queue" in (editor.js("return document.querySelector('[data-testid=queue-progress-overlay]')"
                                 "?.innerText || ''")):
        editor.click("the job queue toggle",
                     editor.driver.find_element(By.CSS_SELECTOR, "[data-testid=queue-overlay-toggle]"))
    editor.driver.set_window_size(1440, 860)
    time.sleep(0.5)
    editor.js("""const c = app.canvas; c.ds.scale = 0.62; c.ds.offset = [690, 100];
                 document.querySelectorAll('[data-testid=close-minimap-button]').forEach(b => b.click());
                 c.setDirty(true, true); c.draw(true, true);""")
    time.sleep(0.8)
    raw = Image.open(io.BytesIO(editor.driver.get_screenshot_as_png())).convert("RGB")
    dest.parent.mkdir(parents=True, exist_ok=True)
    raw.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(dest, optimize=True)
    editor.driver.set_window_size(1600, 1000)
