"""Two walkers at once: two labelled clips side by side (the right one mirrored, so its walker goes the
other way). Both walkers' strikes must be found and each given to the right person."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.footsteps import load_clips, score_pair, side_by_side

PAIR = ("gait_abnormal_08_no_arm_swing.mp4", "gait_abnormal_10_slouch_posture.mp4")


@pytest.fixture(scope="module")
def two_walker_clip(walk_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return side_by_side(walk_dir / PAIR[0], walk_dir / PAIR[1], tmp_path_factory.mktemp("pair") / "pair.mp4")


def test_both_walkers_found_and_attributed(two_walker_clip: Path, walk_dir: Path, foley_registry) -> None:
    from sensorium.foley import DetectOptions, detect_footsteps

    det = detect_footsteps(two_walker_clip, foley_registry, DetectOptions(stride=1))
    clips = load_clips(list(PAIR), folder=walk_dir)
    by_name = {c.name: c for c in clips}
    r = score_pair((by_name[PAIR[0]], by_name[PAIR[1]]), det.events, split_x=det.video["width"] / 2)
    print(f"\ntwo walkers: {r['total']} people {r['people']} attribution {r['attribution']}")
    assert r["attribution"], r["people"]  # no person has strikes on both sides of the frame
    assert len([p for p in det.people if p["steps"] >= 3]) >= 2
    for name, s in r["per_clip"].items():
        assert s["f1_2"] >= 0.9, (name, s)
