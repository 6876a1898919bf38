"""The LanceDB vector store behind the VectorStore interface."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensorium.errors import SensoriumError
from sensorium.store.vectors import CollectionSchema, LanceVectorStore

SCHEMA = CollectionSchema(fields={"fname": "str", "n": "int", "tags": "json"}, vectors={"v": 16})


def test_upsert_search_delete(tmp_path: Path) -> None:
    store = LanceVectorStore(tmp_path)
    store.create("c1", SCHEMA)
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((50, 16)).astype(np.float32)
    rows = [{"id": f"r{i}", "fname": f"f{i}", "n": i % 3, "tags": {"i": i}, "v": vecs[i]} for i in range(50)]
    assert store.upsert("c1", rows) == 50 and store.count("c1") == 50
    store.upsert("c1", [{**rows[0], "fname": "renamed"}])
    assert store.count("c1") == 50 and store.get("c1", ["r0"])[0]["fname"] == "renamed"
    q = vecs[7] + 0.01
    hits = store.search("c1", q, 5, field="v")
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    exact = np.argsort(-(unit @ (q / np.linalg.norm(q))))[:5]
    assert [h.id for h in hits] == [f"r{i}" for i in exact]
    assert hits[0].distance == pytest.approx(1 - float(unit[7] @ (q / np.linalg.norm(q))), abs=1e-4)
    filtered = store.search("c1", q, 50, field="v", filter={"n": 1}, columns=["fname", "n"])
    assert filtered and all(h.row["n"] == 1 for h in filtered) and len(filtered) == 17
    assert store.get("c1", ["r3"])[0]["tags"] == {"i": 3}
    assert store.delete("c1", ["r1", "r2", "nope"]) == 2 and store.count("c1") == 48
    ids, mat = store.vectors("c1", "v")
    assert len(ids) == 48 and mat.shape == (48, 16)
    assert store.collections() == ["c1"]
    store.set_info("c1", {"root": "/x"})
    assert store.get_info("c1")["root"] == "/x"
    assert store.drop("c1") and store.collections() == []


def test_bad_input(tmp_path: Path) -> None:
    store = LanceVectorStore(tmp_path)
    with pytest.raises(SensoriumError):
        store.create("bad name!", SCHEMA)
    store.create("c", SCHEMA)
    with pytest.raises(SensoriumError):
        store.upsert("c", [{"id": "a", "v": np.zeros(3)}])
    with pytest.raises(SensoriumError):
        store.search("c", np.zeros(16), 3, field="v", filter={"nope": 1})
    with pytest.raises(SensoriumError) as err:
        store.count("missing")
    assert err.value.code.value == "NOT_FOUND"
