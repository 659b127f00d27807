"""What the browser test (tests/test_browser_authoring.py) knows about ComfyUI's web frontend:
the user settings that settle its first-run state before a page loads, and the overlays that
would take a click meant for the editor.

Read from the frontend ComfyUI 0.33.0 serves (``comfyui-frontend-package`` 1.49.6, its bundle in
``comfyui_frontend_package/static/assets/``: ``GraphView-*.js``, ``settingStore-*.js``,
``releaseStore-*.js``). The frontend reads its settings from the server once, at page load
(``GET /settings``); ComfyUI keeps them per user in ``<ComfyUI>/user/default/comfy.settings.json``
(app/app_settings.py), which lives as long as the ComfyUI tree, not the test session: without
these settings the editor behaves one way on a clean clone and another on every later run.
"""

from __future__ import annotations

import time
from importlib import metadata

import requests

#: The frontend's user settings, posted (``POST /settings`` merges them) before every page load.
#: Evidence in the bundle, quoted (minified names as they are):
FIRST_RUN_SETTINGS: dict[str, object] = {
    # GraphView: `handleStartupOutcome(n){if(n!=='restored'&&!e.get('Comfy.TutorialCompleted'))
    # {... await markTutorialCompleted(),await na().execute('Comfy.BrowseTemplates')}}` - on a
    # profile without it the editor opens its Templates browser ([data-testid=dialog-overlay])
    # once its startup settles, whenever that is (issue 22); `resolveStartupOutcome` also
    # loads a blank workflow for it instead of restoring one. It is also the "tutorial"
    # (getting started) flag: `dismissGettingStarted(){... markTutorialCompleted()}`.
    "Comfy.TutorialCompleted": True,
    # GraphView: the onboarding tours `Zu=['appMode','firstRun']` start unless
    # `hasSeenTour(t){return e.get(Qu).includes(t)}`, Qu=`Comfy.OnboardingCoachmarks.Seen`
    # (this build never offers them: `isFirstRunCandidate(){...,!1}`; a later one may).
    "Comfy.OnboardingCoachmarks.Seen": ["appMode", "firstRun"],
    # releaseStore: the release notes (toast, red dot, "what's new" popup) are compiled out of
    # this build (`shouldShowToast:b` with `b=e(()=>!1)`, likewise RedDot and Popup), but
    # `fetchReleases()` still asks the Comfy API (`p.get('/releases')`) while
    # `Comfy.Notification.ShowVersionUpdates` is on: off, the page asks nothing outside the
    # test machine. Comfy.Release.Version/Status/Timestamp (`handleWhatsNewSeen`) are set in
    # `settle` to "what's new seen" for the server's version, for a frontend that shows them.
    "Comfy.Notification.ShowVersionUpdates": False,
    # GraphView: `checkVersionCompatibility` adds an alert (`r.addAlert(...)`) when the
    # frontend is not the one ComfyUI asks for, unless `Comfy.VersionCompatibility.DisableWarnings`.
    "Comfy.VersionCompatibility.DisableWarnings": True,
    # settingStore `exportWorkflowAction`: `if(n.get('Comfy.PromptFilename')){let e=await
    # r.prompt({title:...exportWorkflow...})` - File > Export asks for a file name in a modal
    # dialog; off, it downloads under the workflow's name at once.
    "Comfy.PromptFilename": False,
    # GraphView `UnloadWindowConfirmDialog`: `beforeunload` asks "leave site?" while
    # `Comfy.Window.UnloadConfirmation` is on and a workflow is modified (the test reloads the
    # page after editing widgets).
    "Comfy.Window.UnloadConfirmation": False,
    # settingStore: the job queue panel's state persists (`set('Comfy.Queue.History.Expanded',
    # t)`); the test opens it, so every page starts with it closed.
    "Comfy.Queue.History.Expanded": False,
}

#: What takes a click meant for the editor: the splash screen until the frontend's startup is
#: done (`#splash-loader`, z-index 9999, removed when its spinner ends), the reka dialogs'
#: overlay (the Templates browser: `"data-testid":'dialog-overlay'`) and PrimeVue's modal masks.
OVERLAYS = ("#splash-loader", "[data-testid=dialog-overlay]", ".p-dialog-mask", ".p-overlay-mask")


def frontend_version() -> str | None:
    """The installed frontend's version (ComfyUI runs in this Python environment)."""
    try:
        return metadata.version("comfyui-frontend-package")
    except metadata.PackageNotFoundError:
        return None


def settle(url: str, comfy_version: str) -> dict:
    """Post FIRST_RUN_SETTINGS (and what a clean install of this frontend records) to the
    ComfyUI at `url`; returns the settings the server then holds."""
    settings = dict(FIRST_RUN_SETTINGS)
    version = frontend_version()
    if version:
        # settingStore `initializeIfNewUser`: a new user's first load records
        # `e.set('Comfy.InstalledVersion','1.49.6')`, which picks the `defaultsByInstallVersion`
        # of some settings (Comfy.LinkRelease.Action, Comfy.VueNodes.Enabled): record it as a
        # clean install does, since the flags above make the frontend skip that step.
        settings["Comfy.InstalledVersion"] = version
    # releaseStore `handleWhatsNewSeen`: `setMany({'Comfy.Release.Version':e,
    # 'Comfy.Release.Status':"what's new seen",'Comfy.Release.Timestamp':Date.now()})`
    settings.update({"Comfy.Release.Version": comfy_version, "Comfy.Release.Status": "what's new seen",
                     "Comfy.Release.Timestamp": int(time.time() * 1000)})
    requests.post(url + "/settings", json=settings, timeout=10).raise_for_status()
    held = requests.get(url + "/settings", timeout=10).json()
    wrong = {k: held.get(k) for k, v in settings.items() if held.get(k) != v}
    assert not wrong, f"ComfyUI did not keep the frontend settings posted to {url}/settings: {wrong}"
    return held


#: JavaScript: the visible overlays of OVERLAYS (arguments[0]), each described by its selector
#: and the title of the dialog over the page, if any.
VISIBLE_OVERLAYS_JS = """
const found = [];
for (const sel of arguments[0]) {
  for (const e of document.querySelectorAll(sel)) {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    if (r.width < 1 || r.height < 1 || s.display === 'none' || s.visibility === 'hidden') continue;
    const dialog = Array.from(document.querySelectorAll('[role=dialog], .p-dialog'))
      .map(d => (d.innerText || '').trim().split('\\n')[0]).find(t => t) || '';
    found.push(sel + (dialog ? ` (dialog: ${dialog.slice(0, 80)})` : ''));
  }
}
return found;
"""
