"""The pgvector store against the VectorStore contract, side by side with LanceDB: the same rows, searches
(cosine and dot, filters, columns), info and errors give the same answers; with the HNSW index built,
recall@10 against exact numpy search stays >= 0.95."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sensorium.errors import SensoriumError
from sensorium.store.vectors import CollectionSchema, LanceVectorStore, VectorStore
from sensorium.store.vectors_pg import PgVectorStore, table_for

SCHEMA = CollectionSchema(fields={"fname": "str", "n": "int", "x": "float", "tags": "json", "key": "str"},
                          vectors={"v": 16, "w": 8})


@pytest.fixture(params=["lancedb", "pgvector"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "lancedb":
        s: VectorStore = LanceVectorStore(tmp_path / "vectors")
    else:
        s = PgVectorStore(request.getfixturevalue("pg_url"))
    yield s
    s.close()


def rows(n: int = 50, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    v, w = rng.standard_normal((n, 16)).astype(np.float32), rng.random((n, 8)).astype(np.float32)
    return [{"id": f"r{i}", "fname": f"f{i}", "n": i % 3, "x": i / 2, "tags": {"i": i, "l": ["a", "é"]},
             "key": "C" if i % 2 else None, "v": v[i], "w": w[i]} for i in range(n)]


def test_the_contract(store: VectorStore) -> None:
    data = rows()
    store.create("c-1", SCHEMA)
    store.create("c-1", SCHEMA)  # idempotent
    assert store.exists("c-1") and not store.exists("c2")
    assert store.upsert("c-1", data) == 50 and store.count("c-1") == 50
    store.upsert("c-1", [{**data[0], "fname": "renamed"}])
    got = store.get("c-1", ["r0", "r3", "nope"])
    by_id = {r["id"]: r for r in got}
    assert set(by_id) == {"r0", "r3"} and by_id["r0"]["fname"] == "renamed"
    assert by_id["r3"]["tags"] == {"i": 3, "l": ["a", "é"]} and by_id["r3"]["x"] == 1.5 and by_id["r3"]["n"] == 0
    assert by_id["r3"]["key"] == "C" and by_id["r0"]["key"] is None
    assert np.allclose(by_id["r3"]["v"], data[3]["v"]) and by_id["r3"]["v"].dtype == np.float32

    q = data[7]["v"] + 0.01
    hits = store.search("c-1", q, 5, field="v")
    unit = np.stack([r["v"] for r in data])
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    sims = unit @ (q / np.linalg.norm(q))
    assert [h.id for h in hits] == [f"r{i}" for i in np.argsort(-sims)[:5]]
    assert hits[0].distance == pytest.approx(1 - sims[7], abs=1e-4)
    assert set(hits[0].row) == {"id", *SCHEMA.fields, *SCHEMA.vectors}

    w = np.stack([r["w"] for r in data])
    qw = data[2]["w"]
    dot_hits = store.search("c-1", qw, 4, field="w", metric="dot", columns=["id"])
    assert [h.id for h in dot_hits] == [f"r{i}" for i in np.argsort(-(w @ qw))[:4]]
    assert dot_hits[0].distance == pytest.approx(1 - float(np.max(w @ qw)), abs=1e-4)
    assert set(dot_hits[0].row) == {"id"}

    filtered = store.search("c-1", q, 50, field="v", filter={"n": 1}, columns=["fname", "n"])
    assert len(filtered) == 17 and all(h.row["n"] == 1 for h in filtered)
    assert set(filtered[0].row) == {"id", "fname", "n"}
    some = store.search("c-1", q, 50, field="v", filter={"fname": ["f1", "f2", "f4"], "n": [1, 2]})
    assert sorted(h.id for h in some) == ["r1", "r2", "r4"]
    assert store.search("c-1", q, 5, field="v", filter={"id": []}) == []

    assert store.delete("c-1", ["r1", "r2", "nope"]) == 2 and store.count("c-1") == 48
    ids, mat = store.vectors("c-1", "v")
    assert len(ids) == 48 and mat.shape == (48, 16) and np.allclose(mat[ids.index("r9")], data[9]["v"])
    assert sorted(r["id"] for r in store.rows("c-1", ["id", "n"])) == sorted(ids)
    assert set(store.rows("c-1", ["n"])[0]) == {"n"}
    assert store.collections() == ["c-1"]
    store.set_info("c-1", {"root": "/x", "revision": "a"})
    store.set_info("c-1", {"revision": "b", "_schema": "ignored"})
    info = store.get_info("c-1")
    assert (info["root"], info["revision"]) == ("/x", "b") and info["_schema"]["vectors"] == {"v": 16, "w": 8}
    assert store.drop("c-1") and store.collections() == [] and not store.drop("c-1")


def test_bad_input(store: VectorStore) -> None:
    with pytest.raises(SensoriumError):
        store.create("bad name!", SCHEMA)
    store.create("c", SCHEMA)
    with pytest.raises(SensoriumError):
        store.upsert("c", [{**rows(1)[0], "v": np.zeros(3)}])
    with pytest.raises(SensoriumError):
        store.search("c", np.zeros(16), 3, field="v", filter={"nope": 1})
    with pytest.raises(SensoriumError):
        store.search("c", np.zeros(5), 3, field="v")
    with pytest.raises(SensoriumError) as err:
        store.count("missing")
    assert err.value.code.value == "NOT_FOUND"


def test_long_names_fit_postgresql_identifiers() -> None:
    long = "sounds__" + "x" * 64
    assert len(table_for(long)) <= 63 and table_for(long) != table_for(long[:-1] + "y")


def clustered(n: int, d: int, rng: np.random.Generator, centers: np.ndarray) -> np.ndarray:
    return (centers[rng.integers(0, len(centers), n)] + 0.35 * rng.standard_normal((n, d))).astype(np.float32)


def test_hnsw_recall_against_exact_search(pg_url: str) -> None:
    """6 000 clustered 512-d vectors (aiSFX's dimension), HNSW built by optimize(): 50 held-out queries, with
    and without a filter, recall@10 against exact numpy search."""
    rng = np.random.default_rng(1)
    d, n = 512, 6000
    centers = rng.standard_normal((48, d)).astype(np.float32)
    data = clustered(n, d, rng, centers)
    store = PgVectorStore(pg_url)
    try:
        store.create("big", CollectionSchema(fields={"split": "str"}, vectors={"v": d}))
        store.upsert("big", [{"id": f"c{i}", "split": "a" if i % 4 else "b", "v": v} for i, v in enumerate(data)])
        assert store.optimize("big")["indexed"] == ["v"]
        with store.engine.connect() as conn:
            plan = "\n".join(r[0] for r in conn.exec_driver_sql(
                f"EXPLAIN SELECT id FROM {table_for('big')} ORDER BY v <=> %s LIMIT 10", (data[0],)))
        assert "hnsw" in plan.lower()
        unit = data / np.linalg.norm(data, axis=1, keepdims=True)
        recall, recall_b = [], []
        for qv in clustered(50, d, rng, centers):
            sims = unit @ (qv / np.linalg.norm(qv))
            exact = {f"c{i}" for i in np.argsort(-sims)[:10]}
            recall.append(len(exact & {h.id for h in store.search("big", qv, 10, field="v")}) / 10)
            b = np.flatnonzero(np.arange(n) % 4 == 0)
            exact_b = {f"c{i}" for i in b[np.argsort(-sims[b])[:10]]}
            hits_b = store.search("big", qv, 10, field="v", filter={"split": "b"})
            assert len(hits_b) == 10 and all(h.row["split"] == "b" for h in hits_b)
            recall_b.append(len(exact_b & {h.id for h in hits_b}) / 10)
        assert np.mean(recall) >= 0.95 and np.mean(recall_b) >= 0.95, (np.mean(recall), np.mean(recall_b))
    finally:
        store.close()


def test_an_unreachable_server_is_service_unavailable() -> None:
    from testkit.postgres import free_port

    store = PgVectorStore(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
    with pytest.raises(SensoriumError) as err:
        store.collections()
    assert err.value.code.value == "SERVICE_UNAVAILABLE" and err.value.status == 503
    with pytest.raises(SensoriumError) as err:
        PgVectorStore("sqlite:///x.db")
    assert "postgresql" in err.value.message
