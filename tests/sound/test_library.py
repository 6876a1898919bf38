"""Indexing a generated sound library: facts, profiles, metadata, incremental runs, bad files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from sensorium.errors import SensoriumError
from sensorium.sound import library as lib
from sensorium.sound import sidecars
from testkit.sounds import rain, save, tone
from tests.sound.conftest import COLLECTION

pytestmark = pytest.mark.usefixtures("shared_models")  # these tests run YOLOX-nano / YAMNet


def rows_by_name(services) -> dict[str, dict]:
    store = services.vectors
    return {r["fname"]: r for r in store.rows(lib.table_name(COLLECTION))}


def test_index_summary_and_bad_files(indexed, sound_library) -> None:
    _, kinds = sound_library
    assert indexed["indexed"] == 15 and indexed["total"] == 15
    failed = {f["path"]: f for f in indexed["failed"]}
    assert set(failed) == {"broken.wav", "empty.flac"}
    assert all(f["code"] == "PROCESSING_FAILED" and f["error"] for f in failed.values())
    assert indexed["ignored_files"] == 1  # readme.txt (metadata.csv is a table, not ignored)
    assert indexed["metadata_sources"] == ["metadata.csv"]
    assert indexed["stats"]["formats"] == {"wav": 10, "flac": 2, "mp3": 1, "ogg": 1, "m4a": 1}
    fractions = [f for f, _ in indexed["_progress"]]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_rows_hold_facts_profiles_and_embeddings(indexed, sound_library, services) -> None:
    _, kinds = sound_library
    rows = rows_by_name(services)
    ogg = rows[kinds["noise"][1].name]
    assert ogg["format"] == "ogg" and ogg["orig_sr"] == 48000 and ogg["channels"] == 1
    wav = rows[kinds["tones"][0].name]
    assert wav["orig_sr"] == 22050 and wav["duration"] == pytest.approx(4.0, abs=0.01)
    assert wav["split"] in ("train", "test")  # from metadata.csv, not the folder name (a/b)
    assert {r["split"] for r in rows.values()} == {"train", "test"}
    for r in rows.values():
        assert r["profile"].shape == (521,) and r["yamnet"].shape == (1024,) and r["aisfx"].shape == (512,)
        assert r["has_aisfx"] == 1 and np.linalg.norm(r["aisfx"]) == pytest.approx(1.0, abs=1e-3)
        assert len(r["top_labels"]) == 5 and len(r["sha256"]) == 64
    for p in kinds["speech"]:
        assert rows[p.name]["top_labels"][0]["label"] == "Speech"
    rain_top = [rows[p.name]["top_labels"][0]["label"] for p in kinds["rain"]]
    assert sum(lab in ("Rain", "Rain on surface", "Raindrop") for lab in rain_top) >= 2


def test_incremental_reindex(tmp_path: Path, sound_library, services) -> None:
    root, kinds = sound_library
    work = tmp_path / "lib"
    work.mkdir()
    picks = [kinds["tones"][0], kinds["rain"][0], kinds["clicks"][0], kinds["noise"][0]]
    for p in picks:
        shutil.copy2(p, work / p.name)
    name = "incremental"
    first = services.sound.index_library(work, name, sfx_embeddings=False)
    assert (first.indexed, first.unchanged, first.failed) == (4, 0, [])
    again = services.sound.index_library(work, name, sfx_embeddings=False)
    assert (again.indexed, again.reindexed, again.updated, again.unchanged) == (0, 0, 0, 4)
    # same bytes, new mtime: hash says unchanged -> facts refreshed, no analysis
    t = work / picks[0].name
    os.utime(t, (t.stat().st_atime, t.stat().st_mtime + 100))
    # new content in another file, one removed, one added, a caption added by a sidecar
    save(work / picks[1].name, tone(3.0, 660))
    (work / picks[2].name).unlink()
    save(work / "new_rain.wav", rain(3.0, 42))
    (work / "captions.json").write_text(json.dumps([{"filename": picks[3].name,
                                                     "caption": "hiss of an old radio", "tags": "radio;hiss"}]))
    third = services.sound.index_library(work, name, sfx_embeddings=False)
    assert third.indexed == 1 and third.reindexed == 1 and third.removed == 1
    assert third.updated == 2 and third.unchanged == 0 and third.total == 4
    rows = {r["fname"]: r for r in services.vectors.rows(lib.table_name(name))}
    assert picks[2].name not in rows and "new_rain.wav" in rows
    assert rows[picks[3].name]["caption"] == "hiss of an old radio"
    assert rows[picks[3].name]["labels"] == ["radio", "hiss"]
    assert rows[picks[1].name]["duration"] == pytest.approx(3.0, abs=0.01)
    assert rows["new_rain.wav"]["has_aisfx"] == 0
    assert services.sound.delete_collection(name).deleted
    with pytest.raises(SensoriumError) as err:
        services.sound.delete_collection(name)
    assert err.value.code.value == "NOT_FOUND"


def test_empty_folder_gives_empty_collection(tmp_path: Path, services) -> None:
    summary = services.sound.index_library(tmp_path, "emptylib")
    assert summary.total == 0 and summary.files_seen == 0
    res = services.sound.search_text("rain", collection="emptylib")
    assert res.results == [] and res.total_results == 0
    services.sound.delete_collection("emptylib")


def test_bad_arguments(tmp_path: Path, services) -> None:
    with pytest.raises(SensoriumError) as err:
        services.sound.index_library(tmp_path / "missing", "x")
    assert err.value.code.value == "VALIDATION_ERROR"
    with pytest.raises(SensoriumError) as err:
        services.sound.index_library(tmp_path, "../etc")
    assert err.value.code.value == "VALIDATION_ERROR"


def test_sidecar_formats(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.wav").write_bytes(b"")
    (tmp_path / "meta.csv").write_text("filename;description;category;fold\nsub/x.wav;A door slams;Doors|Wood;3\n")
    (tmp_path / "sub" / "x.wav.json").write_text(json.dumps({"labels": ["slam"], "mic": "MKH416"}))
    side = sidecars.Sidecars()
    side.load_table(tmp_path / "meta.csv", tmp_path)
    side.load_table(tmp_path / "sub" / "x.wav.json", tmp_path)
    entry = side.lookup("sub/x.wav")
    assert entry["caption"] == "A door slams" and entry["split"] == "3"
    assert entry["labels"] == ["Doors", "Wood", "slam"] and entry["metadata"] == {"mic": "MKH416"}
