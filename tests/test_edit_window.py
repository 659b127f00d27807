"""Where an edit works (ltx_worker/edit_window.py): the window on LTX's latent grid (issue 19).

Pure arithmetic, checked on examples and as invariants over many random edits: the window is
8n+1 frames within the cap and the source, the new frames are whole latent frames of it, they
cover the section asked, and the context is what fits.
"""

from __future__ import annotations

import random

import pytest

from ltx_worker.edit_window import EditWindow, WindowError, extend_window, retake_window

CAP = 481  # LTX-2.3 at 24 fps


def latent_boundaries(window_frames: int) -> set[int]:
    """Window-relative frames where a latent frame starts (0, 1, 9, 17, ...) or the window ends."""
    return {0, window_frames} | set(range(1, window_frames, 8))


def test_a_retake_in_the_middle():
    w = retake_window(240, 24.0, 3.0, 3.0, CAP)
    assert (w.new_first, w.new_frames, w.context_before, w.context_after) == (72, 72, 41, 48)
    assert (w.window_first, w.window_frames, w.output_frames) == (31, 161, 240)
    assert w.report()["frames"] == [72, 143] and w.report()["seconds"] == [3.0, 6.0]


def test_a_retake_of_a_source_longer_than_the_cap():
    w = retake_window(30 * 24, 24.0, 20.0, 3.0, CAP)  # 30 s
    assert w.window_frames <= CAP and w.window_first + w.window_frames <= 720 and w.new_first == 480


def test_a_retake_from_the_first_frame_and_one_at_the_end():
    w = retake_window(240, 24.0, 0.0, 3.0, CAP)
    assert (w.new_first, w.new_frames, w.context_before) == (0, 73, 0)
    w = retake_window(240, 24.0, 7.0, 10.0, CAP)  # clamped to the end: grows backwards
    assert w.new_first + w.new_frames == 240 and w.new_first <= 168 and w.context_after == 0


def test_too_little_left_or_too_long_is_refused_naming_retake():
    with pytest.raises(WindowError, match=r"^retake: the section keeps 1\.50 s") as err:
        retake_window(240, 24.0, 8.5, 5.0, CAP)
    assert err.value.field == "retake"
    with pytest.raises(WindowError, match="^retake: .* most one graph makes"):
        retake_window(1200, 24.0, 1.0, 30.0, CAP)


def test_extend_at_the_end_and_at_the_start():
    w = extend_window(240, 24.0, 5.0, CAP)
    assert (w.new_first, w.new_frames, w.output_frames) == (240, 120, 360)
    assert w.context_before == 8 * ((min(240, CAP - 120) - 1) // 8) + 1 and w.window_frames <= CAP
    w = extend_window(240, 24.0, 5.0, CAP, at="start", context_s=2.0)
    assert (w.new_first, w.new_frames, w.context_after, w.output_frames) == (0, 121, 48, 361)
    with pytest.raises(WindowError, match="^extend.duration_s"):
        extend_window(240, 24.0, 20.0, 161)
    with pytest.raises(WindowError, match="^extend.at"):
        extend_window(240, 24.0, 2.0, CAP, at="middle")


def _check(w: EditWindow, source: int, cap: int) -> None:
    assert w.window_frames % 8 == 1 and w.window_frames <= cap
    assert w.context_before + w.new_frames + w.context_after == w.window_frames
    edges = latent_boundaries(w.window_frames)
    start = w.context_before
    assert start in edges and start + w.new_frames in edges, w
    if w.kind == "retake":
        assert 0 <= w.window_first and w.window_first + w.window_frames <= source
        assert w.window_first + w.context_before == w.new_first and w.output_frames == source


@pytest.mark.parametrize("seed", range(4))
def test_random_edits_keep_the_invariants(seed):
    rng = random.Random(seed)
    for _ in range(500):
        fps = rng.choice([24.0, 25.0, 30.0, 48.0, 50.0])
        cap = 8 * int(20 * fps // 8) + 1
        source = rng.randint(73, 3000)
        start = rng.uniform(0, source / fps)
        duration = rng.uniform(2.0, 12.0)
        try:
            w = retake_window(source, fps, start, duration, cap, context_s=rng.uniform(0, 4))
        except WindowError as err:
            assert err.field == "retake"
            continue
        _check(w, source, cap)
        first, end = round(start * fps), min(source, round((start + duration) * fps))
        covered = range(w.new_first, w.new_first + w.new_frames)
        assert first in covered or w.new_first == 0
        assert end - 1 in covered or (w.new_first == 0 and end - w.new_frames < 8)
    for _ in range(300):
        fps = rng.choice([24.0, 25.0])
        cap = 8 * int(20 * fps // 8) + 1
        source = rng.randint(73, 2000)
        at = rng.choice(["end", "start"])
        try:
            w = extend_window(source, fps, rng.uniform(2, 20), cap, at=at,
                              context_s=rng.choice([None, rng.uniform(1, 20)]))
        except WindowError as err:
            assert err.field.startswith("extend.")
            continue
        _check(w, source, cap)
        assert w.output_frames == source + w.new_frames
