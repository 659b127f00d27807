#!/usr/bin/env bash
# Container test: build the real Dockerfile with podman and run the image as RunPod would, on a
# machine with no GPU and no Docker Hub (../shared/reference/FACTS.md, "Building and running the
# Docker image on a machine without Docker Hub"). Needs podman (with runc), debootstrap once, root.
#
#   1. base: Debian 12 made with debootstrap and imported as $LTXW_BASE_IMAGE (once; cached);
#   2. ComfyUI: the pinned source archive ($COMFYUI_ARCHIVE, its sha256 checked against pins.env),
#      unpacked once and handed to the build as the named context comfyui-src (where GitHub is
#      reachable the Dockerfile's own comfyui-src stage clones the pin instead);
#   3. podman build of the Dockerfile with BASE_IMAGE=<that base>, PYTHON_VERSION=3.11 (Debian 12's),
#      MODEL_PROFILE=none, pip's CA bundle as the pip_ca secret, in docker format (podman's default
#      OCI format drops SHELL, and the RUNs need bash); podman's layer cache and the pip cache
#      mount make a rerun fast. Build time, image size and its largest layers are reported;
#   4. a network volume: tiny LTX-2 weights (python -m ltx_worker.tinymodels, run in the image) in
#      a folder mounted at /runpod-volume/models, without the files only the pro profile needs, so
#      the worker holds `fast` and not `pro`; the test-only node pack tests/comfy_nodes/
#      tiny_text_encoders (it sizes ComfyUI's text encoders to the tiny weights) mounted into
#      ComfyUI's custom_nodes;
#   5. the image run as RunPod runs it: its own user (uid 10001), its CMD's entrypoint.sh with the
#      local API (./entrypoint.sh --rp_serve_api --rp_api_host 0.0.0.0), the volume found by the
#      entrypoint itself; then checks, each reported PASS or FAIL:
#        user         the worker runs as uid 10001;
#        i2v-fast     an ltx-2-i2v fast job through POST /runsync completes and its MP4 is in the
#                     output folder (mounted from the host);
#        pro-refused  an ltx-2-i2v pro job fails with MODEL_MISSING naming the missing files;
#        stop         `podman stop` (10 s grace, as docker's default) ends the container with exit
#                     status 0 or 143 within the grace period; the seconds and status are printed.
# Exit status: 0 when every check passed, 1 when one failed, 2 when the test could not run.
#
# Environment: COMFYUI_ARCHIVE (default ../shared/deps/comfyui-0.33.0-783545f6.tar.gz next to the
# repository), LTXW_CACHE (default ~/.cache/ltx-worker/container-test), LTXW_IMAGE (default
# localhost/ltx-worker:container-test), LTXW_PORT (host port of the local API, default 18080),
# LTXW_PODMAN_RUNTIME (default runc when installed), LTXW_KEEP=1 (keep the container), PIP_CERT
# (CA bundle for pip inside the build; default /etc/ssl/certs/ca-certificates.crt when present).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=pins.env
source "$root/pins.env"

archive="${COMFYUI_ARCHIVE:-$root/../shared/deps/comfyui-$COMFYUI_VERSION-${COMFYUI_COMMIT:0:8}.tar.gz}"
cache="${LTXW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ltx-worker/container-test}"
base_image="${LTXW_BASE_IMAGE:-localhost/ltx-worker-test-base:bookworm}"
image="${LTXW_IMAGE:-localhost/ltx-worker:container-test}"
port="${LTXW_PORT:-18080}"
name="ltxw-container-test"
mirror="${LTXW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ulimits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
runtime="${LTXW_PODMAN_RUNTIME-}"
if [ -z "${LTXW_PODMAN_RUNTIME+x}" ] && command -v runc >/dev/null; then runtime=runc; fi

log() { printf '[container_test] %s\n' "$*" >&2; }
die() { log "cannot run: $*"; exit 2; }
pm() { if [ -n "$runtime" ]; then podman --runtime "$runtime" "$@"; else podman "$@"; fi; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

command -v podman >/dev/null || die "podman is not installed (apt-get install podman runc)"
command -v curl >/dev/null || die "curl is not installed"
command -v python3 >/dev/null || die "python3 is not installed"
[ -f "$archive" ] || die "no ComfyUI source archive at $archive (set COMFYUI_ARCHIVE)"
mkdir -p "$cache"

declare -a results=()
failed=0
check() {  # check NAME PASS|FAIL DETAIL
  results+=("$(printf '%-12s %s  %s' "$1" "$2" "$3")")
  [ "$2" = PASS ] || failed=1
  log "$1: $2 $3"
}

# -- 1. the base image --------------------------------------------------------------------------
if ! pm image exists "$base_image"; then
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  [ "$(id -u)" = 0 ] || die "debootstrap needs root to make $base_image"
  log "making $base_image with debootstrap (Debian 12, minbase; about a minute)"
  rootfs="$cache/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || die "debootstrap failed (see $cache/debootstrap.log)"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | pm import - "$base_image" >/dev/null
  rm -rf "$rootfs"
fi

# -- 2. the pinned ComfyUI from its source archive ----------------------------------------------
sum="$(sha256sum "$archive" | cut -d' ' -f1)"
[ "$sum" = "$COMFYUI_ARCHIVE_SHA256" ] \
  || die "$archive is not the pinned ComfyUI (sha256 $sum, pins.env says $COMFYUI_ARCHIVE_SHA256)"
src="$cache/comfyui-src-${COMFYUI_COMMIT:0:8}"
if [ ! -f "$src/comfyui/main.py" ]; then
  rm -rf "$src"
  mkdir -p "$src/comfyui"
  tar -xzf "$archive" -C "$src/comfyui" --strip-components=1
  [ -f "$src/comfyui/main.py" ] || die "the archive holds no ComfyUI tree"
fi

# -- 3. build -----------------------------------------------------------------------------------
secret=()
ca="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
if [ -f "$ca" ]; then secret=(--secret "id=pip_ca,src=$ca"); fi
log "building $image (podman $(podman version --format '{{.Client.Version}}'), runtime ${runtime:-default})"
t0="$(now)"
pm build "${ulimits[@]}" --format docker --layers -f Dockerfile -t "$image" \
  --build-arg "BASE_IMAGE=$base_image" --build-arg PYTHON_VERSION=3.11 --build-arg MODEL_PROFILE=none \
  --build-context "comfyui-src=$src" "${secret[@]}" . >"$cache/build.log" 2>&1 \
  || { tail -n 40 "$cache/build.log" >&2; die "the build failed (log: $cache/build.log)"; }
build_s="$(since "$t0")"
image_id="$(pm image inspect --format '{{.Id}}' "$image")"
image_bytes="$(pm image inspect --format '{{.Size}}' "$image")"
log "built in ${build_s} s: $image ${image_id:0:12}, $((image_bytes / 1000000)) MB"

# -- 4. the network volume: tiny LTX-2 weights, fast only ---------------------------------------
volume="$cache/volume/models"
if [ "$(cat "$cache/volume/.image" 2>/dev/null)" != "$image_id" ]; then
  log "writing tiny LTX-2 weights into $volume (ltx_worker.tinymodels, inside the image)"
  rm -rf "$cache/volume"
  mkdir -p "$volume"
  pm run --rm "${ulimits[@]}" --user 0 --network none -v "$volume:/vol:rw" "$image" \
    python -m ltx_worker.tinymodels --comfyui-dir /comfyui --models-dir /vol --family ltx2 \
    >"$cache/tinymodels.log" 2>&1 || { tail -n 20 "$cache/tinymodels.log" >&2; die "tinymodels failed"; }
  echo "$image_id" >"$cache/volume/.image"
fi
# The files only `pro` needs (models.txt: profile pro, not fast) leave the volume.
mapfile -t pro_only < <(awk '!/^[[:space:]]*#/ && NF == 5 && ("," $5 ",") ~ /,pro,/ && ("," $5 ",") !~ /,fast,/ { print $1 }' models.txt)
for f in "${pro_only[@]}"; do rm -f "$volume/$f"; done
chmod -R a+rX "$cache/volume"
out="$cache/output"
rm -rf "$out"
mkdir -p "$out"
chmod 0777 "$out"

# -- 5. run as RunPod would ---------------------------------------------------------------------
trap '[ "${LTXW_KEEP:-0}" = 1 ] || pm rm -f "$name" >/dev/null 2>&1 || true' EXIT
pm rm -f "$name" >/dev/null 2>&1 || true
log "starting $name: ./entrypoint.sh --rp_serve_api on 127.0.0.1:$port"
pm run -d --name "$name" "${ulimits[@]}" -p "127.0.0.1:$port:8000" \
  -v "$volume:/runpod-volume/models:ro" \
  -v "$root/tests/comfy_nodes/tiny_text_encoders:/comfyui/custom_nodes/tiny_text_encoders:ro" \
  -v "$out:/worker/output:rw" \
  "$image" ./entrypoint.sh --rp_serve_api --rp_api_host 0.0.0.0 --rp_api_port 8000 >/dev/null
api="http://127.0.0.1:$port"
t0="$(now)"
until curl -fsS -o /dev/null "$api/docs" 2>/dev/null; do
  if [ "$(pm inspect --format '{{.State.Running}}' "$name")" != true ]; then
    pm logs "$name" 2>&1 | tail -n 60 >&2
    die "the worker exited before its API came up"
  fi
  if [ "$(awk -v s="$(since "$t0")" 'BEGIN { print (s > 600) }')" = 1 ]; then
    pm logs "$name" 2>&1 | tail -n 60 >&2
    die "the local API did not come up in 600 s"
  fi
  sleep 2
done
ready_s="$(since "$t0")"
log "API up after ${ready_s} s"

uid="$(pm exec "$name" id -u)"
if [ "$uid" = 10001 ]; then check user PASS "uid $uid"; else check user FAIL "uid $uid, expected 10001"; fi

job() {  # job QUALITY: prints the /runsync answer
  python3 - "$1" "$root/examples/lighthouse.jpg" <<'PY'
import base64, json, sys
quality, image = sys.argv[1], sys.argv[2]
data = base64.b64encode(open(image, "rb").read()).decode()
print(json.dumps({"input": {"model": "ltx-2-i2v", "quality": quality, "resolution": "720p", "duration": 2,
                            "seed": 42, "prompt": "A lighthouse on a rocky coast at dusk, waves breaking.",
                            "image_urls": [f"data:image/jpeg;base64,{data}"]}}))
PY
}

t0="$(now)"
job fast | curl -sS -m 1800 -H 'Content-Type: application/json' -d @- "$api/runsync" \
  >"$cache/i2v-fast.json" || true
fast_s="$(since "$t0")"
verdict="$(python3 - "$cache/i2v-fast.json" "$out" <<'PY'
import json, os, sys
answer, out = sys.argv[1], sys.argv[2]
try:
    body = json.load(open(answer))
except ValueError:
    raise SystemExit(print("FAIL the answer is not JSON"))
if body.get("status") != "COMPLETED":
    raise SystemExit(print(f"FAIL status {body.get('status')}: {str(body.get('error'))[:300]}"))
o = body["output"]
path = o.get("video_path") or ""
host = os.path.join(out, os.path.basename(path))
if not path.startswith("/worker/output/") or not os.path.isfile(host) or os.path.getsize(host) == 0:
    raise SystemExit(print(f"FAIL video_path {path!r}: no MP4 at {host}"))
v = o["video"]
print(f"PASS {os.path.basename(host)}: {os.path.getsize(host)} bytes, {v['width']}x{v['height']}, "
      f"{v['frames']} frames, audio {v['has_audio']}")
PY
)"
check i2v-fast "${verdict%% *}" "${verdict#* } (${fast_s} s)"

job pro | curl -sS -m 600 -H 'Content-Type: application/json' -d @- "$api/runsync" \
  >"$cache/i2v-pro.json" || true
verdict="$(python3 - "$cache/i2v-pro.json" "${pro_only[@]}" <<'PY'
import json, sys
wanted = [p.split("/")[-1] for p in sys.argv[2:]]
try:
    body = json.load(open(sys.argv[1]))
    error = json.loads(body.get("error") or "{}")
except ValueError:
    raise SystemExit(print("FAIL no JSON error in the answer"))
named = [w for w in wanted if w in error.get("message", "")]
if body.get("status") == "FAILED" and error.get("code") == "MODEL_MISSING" and named == wanted:
    print(f"PASS MODEL_MISSING naming {', '.join(named)}")
else:
    print(f"FAIL status {body.get('status')}, code {error.get('code')}: {error.get('message', '')[:300]}")
PY
)"
check pro-refused "${verdict%% *}" "${verdict#* }"

log "podman stop (10 s grace)"
t0="$(now)"
pm stop -t 10 "$name" >/dev/null
stop_s="$(since "$t0")"
status="$(pm inspect --format '{{.State.ExitCode}}' "$name")"
pm logs "$name" >"$cache/container.log" 2>&1 || true
if { [ "$status" = 0 ] || [ "$status" = 143 ]; } && [ "$(awk -v s="$stop_s" 'BEGIN { print (s < 10) }')" = 1 ]; then
  check stop PASS "exit status $status after ${stop_s} s"
else
  check stop FAIL "exit status $status after ${stop_s} s (expected 0 or 143 within the 10 s grace)"
fi

# -- summary ------------------------------------------------------------------------------------
printf '\nContainer test of %s (%s)\n' "$image" "${image_id:0:12}"
printf '  build %s s; image %s MB; API up %s s after start\n' "$build_s" "$((image_bytes / 1000000))" "$ready_s"
printf '  largest layers (of %s):\n' "$(pm history --quiet "$image" | wc -l)"
pm history --format json "$image" | python3 -c '
import json, sys
layers = sorted(((x["size"], x["CreatedBy"]) for x in json.load(sys.stdin)), reverse=True)
for size, by in layers[:5]:
    print(f"    {size / 1e6:9.1f} MB  {by[:90]}")'
printf '  logs: %s (build.log, container.log, i2v-*.json)\n' "$cache"
printf '  %s\n' "${results[@]}"
exit "$failed"
