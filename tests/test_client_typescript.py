"""The TypeScript types and zod schemas for Node backends (clients/typescript, issue 21).

Both files are generated from `ltx-worker schema` by clients/typescript/generate.mjs with the npm
packages json-schema-to-typescript and json-schema-to-zod (installed here with ``npm ci`` from
the committed package-lock.json). The test regenerates them from the worker's schema of now and
fails when the committed ones differ, then runs the zod schemas in Node on jobs the worker's
pydantic model takes and refuses: the same verdict for every case JSON Schema can express. (What
it cannot: the validators in code, such as a camera move's name, a prompt's control characters,
a LoRA entry's url-or-name rule; and JSON's 4.0, which JavaScript reads as the integer 4.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ltx_worker.contract.job import JobInput

ROOT = Path(__file__).resolve().parents[1]
TS = ROOT / "clients" / "typescript"
#: Jobs and whether the worker's JobInput takes them (its field rules, before the family's).
JOBS = [
    ({"model": "ltx-2-t2v", "prompt": "a calm sea at dawn"}, True),
    ({"model": "ltx-2.3-i2v", "prompt": "a calm sea", "image_urls": ["https://x/y.png"], "duration": 5,
      "keyframes": [{"image_url": "https://x/k.png", "at_s": 1.5, "strength": 0.5}],
      "loras": [{"url": "https://x/l.safetensors", "strength": -0.5}], "enhance_prompt": True}, True),
    ({"model": "ltx-2-t2v", "prompt": "a calm sea", "duration": "4"}, False),
    ({"model": "ltx-2-t2v", "prompt": "a calm sea", "enhance_prompt": "yes"}, False),
    ({"model": "ltx-2-t2v", "prompt": "a calm sea", "camera_strength": "1.5"}, False),
    ({"model": "ltx-2-t2v", "prompt": "a calm sea", "colour": "red"}, False),
    ({"model": "ltx-2-t2v", "prompt": "hi"}, False),
    ({"model": "ltx-2-t2v", "prompt": "a calm sea", "fps": 30}, False),
    ({"model": "ltx-2-t2v", "prompt": "a calm sea", "loras": [{"url": "https://x/l", "strength": 9}]}, False),
    ({"model": "ltx-2-t2v", "prompt": "a calm sea", "loras": [{"name": "a"}] * 5}, False),
    ({"model": "ltx-2-t2v", "prompt": "a calm sea", "keyframes": [{"image_url": "x", "at_s": 1, "extra": 1}]}, False),
    ({"model": "ltx-2-t2v", "prompt": "a calm sea", "webhook_url": "ftp://x"}, False),
    ({"model": "ltx-2-t2v", "prompt": "a calm sea", "seed": -1}, False),
    # edits (issue 19): the fields' own rules (which model takes them is the family's, as for every field)
    ({"model": "ltx-2.3-edit", "prompt": "a retake", "video_url": "https://x/v.mp4",
      "retake": {"start_s": 2, "duration_s": 3.5, "replace": "video"}}, True),
    ({"model": "ltx-2.3-edit", "prompt": "an extend", "video_url": "https://x/v.mp4",
      "extend": {"duration_s": 5, "at": "start", "context_s": 2}}, True),
    ({"model": "ltx-2.3-edit", "prompt": "a retake", "video_url": "https://x/v.mp4",
      "retake": {"start_s": "2", "duration_s": 3}}, False),
    ({"model": "ltx-2.3-edit", "prompt": "a retake", "video_url": "https://x/v.mp4",
      "retake": {"start_s": 0, "duration_s": 1}}, False),
    ({"model": "ltx-2.3-edit", "prompt": "a retake", "video_url": "https://x/v.mp4",
      "retake": {"start_s": 0, "duration_s": 2, "replace": "both"}}, False),
    ({"model": "ltx-2.3-edit", "prompt": "a retake", "video_url": "https://x/v.mp4",
      "retake": {"start_s": 0, "duration_s": 2, "context_s": 1}}, False),
    ({"model": "ltx-2.3-edit", "prompt": "an extend", "video_url": "https://x/v.mp4",
      "extend": {"duration_s": 21}}, False),
    ({"model": "ltx-2.3-edit", "prompt": "an extend", "video_url": "https://x/v.mp4",
      "extend": {"duration_s": 4, "at": "middle"}}, False),
]
CHECK = """
import { JobInputSchema } from "./schemas.mjs";
const jobs = JSON.parse(process.argv[2]);
console.log(JSON.stringify(jobs.map((job) => JobInputSchema.safeParse(job).success)));
"""


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the TypeScript contract (Debian: apt install nodejs npm)")
    modules = TS / "node_modules"
    stamp = modules / ".lock-stamp"
    lock = (TS / "package-lock.json").read_text()
    if not stamp.is_file() or stamp.read_text() != lock:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TS, check=True,
                       capture_output=True, text=True, timeout=300)
        stamp.write_text(lock)
    return modules


def test_the_types_and_zod_schemas_are_generated_from_the_schema_of_now(node_modules, tmp_path):
    schema = subprocess.run([sys.executable, "-m", "ltx_worker.cli", "schema"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    (tmp_path / "schema.json").write_text(schema)
    work = tmp_path / "ts"
    (work / "src").mkdir(parents=True)
    shutil.copy(TS / "generate.mjs", work)
    (work / "node_modules").symlink_to(node_modules)
    out = subprocess.run(["node", "generate.mjs", str(tmp_path / "schema.json")], cwd=work, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for name in ("contract.ts", "schemas.ts"):
        assert (work / "src" / name).read_text() == (TS / "src" / name).read_text(), (
            f"clients/typescript/src/{name} is out of date: ltx-worker schema > /tmp/s.json && "
            "(cd clients/typescript && npm ci && node generate.mjs /tmp/s.json)")


def test_zod_gives_the_workers_verdict(node_modules, tmp_path):
    for job, taken in JOBS:
        try:
            JobInput.model_validate(job)
            worker = True
        except ValueError:
            worker = False
        assert worker == taken, job
    (tmp_path / "schemas.mjs").write_text((TS / "src" / "schemas.ts").read_text())
    (tmp_path / "check.mjs").write_text(CHECK)
    (tmp_path / "node_modules").symlink_to(node_modules)
    out = subprocess.run(["node", "check.mjs", json.dumps([job for job, _ in JOBS])], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for (job, taken), zod in zip(JOBS, json.loads(out.stdout), strict=True):
        assert zod == taken, job
