"""Sound library benchmark: indexing throughput and search latency vs exact brute force.

    .venv/bin/python bench/bench_sound.py [--clips 40] [--sizes 1000,10000,100000] [--queries 200]

1. Indexing: N generated 5 s clips (tones, noise, clicks, rain-like noise; WAV 22.05 kHz) indexed with
   YAMNet + aiSFX (default) and with YAMNet only (`sfx_embeddings=False`); models are loaded before
   timing. Reports clips/s.
2. Search: synthetic 512-d vectors (a mixture of 64 Gaussian clusters, like embeddings of a sound
   library) in the LanceDB store at each size; `store.optimize` builds the ANN index above
   INDEX_MIN_ROWS. p50/p95 latency of `store.search(k=10)` over the queries, against exact brute
   force (numpy, the same vectors, measured in the same run): recall@10 and the latency ratio.
3. Text search end to end on the indexed generated library (p50/p95).

Prints a table and writes bench/results/sound.json (machine, inputs, figures).
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
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/sensorium-numba-cache")

from sensorium.config import Settings  # noqa: E402 - after the sys.path and environment set-up above
from sensorium.services import Services, build_services  # noqa: E402
from sensorium.store.vectors import CollectionSchema, LanceVectorStore  # noqa: E402
from testkit.sounds import clicks, noise, rain, save, tone  # noqa: E402


def machine() -> dict:
    import lancedb
    import torch
    from bench._common import machine as common_machine

    return {**common_machine(), "torch_threads": torch.get_num_threads(), "lancedb": lancedb.__version__,
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]}


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def make_clips(folder: Path, n: int, seconds: float = 5.0) -> None:
    makers = [lambda i: tone(seconds, 300 + 40 * i), lambda i: noise(seconds, i),
              lambda i: clicks(seconds, 2 + i % 5, seed=i), lambda i: rain(seconds, i)]
    for i in range(n):
        save(folder / f"clip_{i:04d}.wav", makers[i % 4](i))


def bench_indexing(data: Path, n: int, services: Services) -> dict:
    registry = services.registry
    folder = data / "clips"
    make_clips(folder, n)
    for name in ("yamnet", "aisfx", "minilm"):
        registry.get(name)  # load before timing
    out = {}
    for mode, sfx in (("yamnet+aisfx", True), ("yamnet_only", False)):
        name = "bench_" + mode.replace("+", "_")
        t0 = time.perf_counter()
        summary = services.sound.index_library(folder, name, sfx_embeddings=sfx)
        secs = time.perf_counter() - t0
        assert summary.indexed == n and not summary.failed, summary
        t1 = time.perf_counter()
        again = services.sound.index_library(folder, name, sfx_embeddings=sfx)
        secs_again = time.perf_counter() - t1
        out[mode] = {"clips": n, "clip_seconds": 5.0, "seconds": round(secs, 3),
                     "clips_per_second": round(n / secs, 2),
                     "realtime_factor": round(n * 5.0 / secs, 1),
                     "reindex_unchanged_seconds": round(secs_again, 3), "unchanged": again.unchanged}
    return out


def bench_text_search(services: Services, queries: int = 30) -> dict:
    words = ["rain", "a beep tone", "static hiss", "clock ticking", "speech", "water drops on a roof"]
    services.sound.search_text("warm up", collection="bench_yamnet_aisfx")
    lat = []
    for i in range(queries):
        t0 = time.perf_counter()
        services.sound.search_text(words[i % len(words)], collection="bench_yamnet_aisfx", top_k=10)
        lat.append((time.perf_counter() - t0) * 1000)
    return {"queries": queries, "p50_ms": round(pct(lat, 50), 2), "p95_ms": round(pct(lat, 95), 2)}


def synthetic(n: int, d: int, rng: np.random.Generator, centers: np.ndarray) -> np.ndarray:
    idx = rng.integers(0, len(centers), n)
    x = centers[idx] + 0.35 * rng.standard_normal((n, d)).astype(np.float32)
    return x.astype(np.float32)


def bench_search(root: Path, sizes: list[int], n_queries: int, d: int = 512) -> list[dict]:
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((64, d)).astype(np.float32)
    rows_out = []
    for n in sizes:
        store = LanceVectorStore(root / f"vec_{n}")
        schema = CollectionSchema(fields={"fname": "str", "split": "str"}, vectors={"v": d})
        store.create("bench", schema)
        data = synthetic(n, d, rng, centers)
        t0 = time.perf_counter()
        for i in range(0, n, 10_000):
            chunk = data[i:i + 10_000]
            store.upsert("bench", [{"id": f"c{i + j}", "fname": f"c{i + j}.wav", "split": "train", "v": v}
                                   for j, v in enumerate(chunk)])
        insert_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        opt = store.optimize("bench")
        index_s = time.perf_counter() - t0
        queries = synthetic(n_queries, d, rng, centers)
        unit = data / np.linalg.norm(data, axis=1, keepdims=True)
        store.search("bench", queries[0], 10, field="v", columns=["fname"])  # warm up
        lance_ms, brute_ms, recalls = [], [], []
        for q in queries:
            t0 = time.perf_counter()
            hits = store.search("bench", q, 10, field="v", columns=["fname"])
            lance_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            sims = unit @ (q / np.linalg.norm(q))
            top = np.argpartition(-sims, 10)[:10]
            top = top[np.argsort(-sims[top])]
            brute_ms.append((time.perf_counter() - t0) * 1000)
            exact = {f"c{i}" for i in top}
            recalls.append(len(exact & {h.id for h in hits}) / 10)
        row = {"clips": n, "dim": d, "ann_index": bool(opt["indexed"]), "insert_s": round(insert_s, 2),
               "index_build_s": round(index_s, 2),
               "p50_ms": round(pct(lance_ms, 50), 2), "p95_ms": round(pct(lance_ms, 95), 2),
               "brute_p50_ms": round(pct(brute_ms, 50), 2), "brute_p95_ms": round(pct(brute_ms, 95), 2),
               "ratio_p50": round(pct(lance_ms, 50) / max(pct(brute_ms, 50), 1e-6), 2),
               "recall_at_10": round(float(np.mean(recalls)), 4), "queries": n_queries}
        rows_out.append(row)
        print(f"  {n:>7} clips: p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, "
              f"brute p50 {row['brute_p50_ms']:.1f} ms, recall@10 {row['recall_at_10']:.3f}", flush=True)
        shutil.rmtree(root / f"vec_{n}", ignore_errors=True)
    return rows_out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sound.json"))
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]

    load_before = [round(x, 2) for x in os.getloadavg()]
    work = Path(tempfile.mkdtemp(prefix="bench-sound-"))
    try:
        settings = Settings(_env_file=None, data_dir=work / "data", model_dirs=[ROOT.parent / "shared" / "models"],
                            model_ttl_seconds=-1, model_cache_dir=work / "cache", job_workers=0)
        services = build_services(settings)
        print(f"indexing {args.clips} generated 5 s clips ...", flush=True)
        indexing = bench_indexing(work, args.clips, services)
        text = bench_text_search(services)
        services.close()
        print("search latency (k=10, cosine, 512-d) ...", flush=True)
        search = bench_search(work, sizes, args.queries)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    targets = {"search_p50_ms_at_100k": 50, "indexing_clips_per_second": 10}
    result = {"benchmark": "sound", "machine": {**machine(), "load_average_at_start": load_before},
              "inputs": {"clips": args.clips, "clip_seconds": 5.0, "sizes": sizes, "queries": args.queries,
                         "k": 10, "vector_dim": 512, "ann_index": "IVF_HNSW_SQ (>= 5k rows), nprobes 32, refine 5"},
              "indexing": indexing, "text_search_on_library": text, "search": search, "targets": targets,
              "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print()
    print(f"{'indexing mode':<16}{'clips':>7}{'clips/s':>10}{'x realtime':>12}{'re-index (s)':>14}")
    for mode, r in indexing.items():
        print(f"{mode:<16}{r['clips']:>7}{r['clips_per_second']:>10.2f}{r['realtime_factor']:>12.1f}"
              f"{r['reindex_unchanged_seconds']:>14.3f}")
    print(f"text search on the library: p50 {text['p50_ms']} ms, p95 {text['p95_ms']} ms")
    print()
    print(f"{'clips':>8}{'index':>7}{'p50 ms':>9}{'p95 ms':>9}{'brute p50':>11}{'brute p95':>11}"
          f"{'ratio':>8}{'recall@10':>11}{'build s':>9}")
    for r in search:
        print(f"{r['clips']:>8}{'ann' if r['ann_index'] else 'flat':>7}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}"
              f"{r['brute_p50_ms']:>11.2f}{r['brute_p95_ms']:>11.2f}{r['ratio_p50']:>8.2f}"
              f"{r['recall_at_10']:>11.3f}{r['index_build_s']:>9.1f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
