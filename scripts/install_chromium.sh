#!/usr/bin/env bash
# Install headless Chromium and its WebDriver from the distribution's packages (Debian: chromium,
# chromium-driver), for the browser test of the authoring round trip (tests/test_browser_authoring.py).
# CI runs it (.ci/run); on a workstation it is optional: without them that test is skipped, saying why.
# Needs apt-get and root (or password-less sudo); otherwise it says so and exits 0. A no-op when both
# are installed. About 120 MB of packages: ~10 s on a fast mirror, plus an apt-get update when the
# package lists are missing or stale.
set -euo pipefail
log() { printf '[install_chromium] %s\n' "$*" >&2; }

have() { command -v "$1" >/dev/null 2>&1; }
if have chromedriver && { have chromium || have chromium-browser; }; then
  log "chromium and chromedriver are installed"
  exit 0
fi
if ! have apt-get; then
  log "no apt-get here: install chromium and chromedriver yourself (the browser test is skipped)"
  exit 0
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  if have sudo && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    log "not root and no password-less sudo: the browser test is skipped"
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
packages=(chromium chromium-driver)
install() { "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }
start=$SECONDS
if ! install; then
  log "updating the package lists"
  if ! { "${sudo[@]}" apt-get update -qq >/dev/null && install; }; then
    log "apt-get could not install ${packages[*]}: the browser test is skipped"
    exit 0
  fi
fi
log "installed ${packages[*]} in $((SECONDS - start)) s: $(chromium --version 2>/dev/null | head -1)"
