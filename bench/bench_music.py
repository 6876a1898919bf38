"""Music benchmark: indexing throughput and recommendation latency at 10 000 tracks.

    .venv/bin/python bench/bench_music.py [--tracks 8] [--seconds 180] [--library 10000] [--queries 100]

1. Indexing: N generated tracks of `--seconds` (drums + chords, testkit/music.py; WAV 22.05 kHz) indexed
   with 2 workers (tags, librosa features over the whole track, YAMNet, MiniLM). Models are loaded and
   numba compiled before timing (one warm-up track). Reports tracks per minute (target >= 20 on 2 cores).
2. Latency: the music collection filled with `--library` SYNTHETIC rows (random unit 384-d description
   vectors, random tempo/energy/mode/brightness): what is timed is the ranking path of
   `recommend_text` (MiniLM query embedding + numpy scoring over the in-memory table), p50/p95 over the
   queries (target p50 <= 50 ms); the one-off load of the table from LanceDB is reported separately.

Prints a table and writes bench/results/music.json (machine, inputs, figures).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/sensorium-numba-cache")

from bench._common import pct, write  # noqa: E402 - after the sys.path and environment set-up above

from sensorium.music.library import SCHEMA  # noqa: E402
from sensorium.music.schemas import COLLECTION  # noqa: E402
from sensorium.services import build_services  # noqa: E402
from testkit import music as gen  # noqa: E402
from testkit.settings import make_settings  # noqa: E402

QUERIES = ["fast energetic", "calm slow piano", "dark sad ambient", "happy upbeat pop", "120 bpm rock",
           "jazz vibraphone", "string orchestra", "drum and bass", "tense action chase", "peaceful morning"]


def bench_indexing(svc, root: Path, n: int, seconds: float) -> dict:
    warm = root / "warm"
    gen.save(warm / "w.wav", gen.track(110, seconds=10))
    svc.music.index_folder(warm)  # loads YAMNet + MiniLM, compiles numba
    lib = root / "lib"
    names = list(gen.CHARACTERS.values())
    for i in range(n):
        bpm, key, mode, bright, loud = names[i % len(names)]
        gen.save(lib / f"t{i:03d}.wav", gen.track(bpm + i, key, mode, bright=bright, loud=loud, seconds=seconds,
                                                  seed=i))
    t0 = time.perf_counter()
    s = svc.music.index_folder(lib, workers=2)
    dt = time.perf_counter() - t0
    assert s.indexed == n, s
    return {"tracks": n, "track_seconds": seconds, "seconds": round(dt, 2), "tracks_per_minute": round(60 * n / dt, 1)}


def fill_synthetic(svc, n: int) -> None:
    rng = np.random.default_rng(0)
    text = rng.standard_normal((n, 384)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    svc.vectors.drop(COLLECTION)
    svc.vectors.create(COLLECTION, SCHEMA)
    rows = []
    for i in range(n):
        rows.append({"id": f"syn{i:06d}", "title": f"synthetic {i}", "artists": [], "album": "", "duration": 180.0,
                     "duration_text": "3:00", "artwork": "", "artwork_size": None, "tempo": float(rng.uniform(60, 180)),
                     "key": "C", "mode": "major" if rng.random() < 0.5 else "minor",
                     "energy": float(rng.random()), "brightness": float(rng.random()), "labels": {},
                     "tempo_class": "Medium", "text": text[i], "profile": np.zeros(521, np.float32),
                     "path": f"/nowhere/{i}.wav", "beats": [], "beat_strengths": []})
    for i in range(0, n, 2000):
        svc.vectors.upsert(COLLECTION, rows[i:i + 2000])
    svc.vectors.set_info(COLLECTION, {"revision": "synthetic"})


def bench_latency(svc, n: int, queries: int) -> dict:
    fill_synthetic(svc, n)
    t0 = time.perf_counter()
    svc.music.recommend_text("warm up", 10)  # loads the table from LanceDB (once per revision)
    load = time.perf_counter() - t0
    times = []
    for i in range(queries):
        q = QUERIES[i % len(QUERIES)] + f" {i}"  # distinct texts: no embedding cache anywhere
        t = time.perf_counter()
        svc.music.recommend_text(q, 10)
        times.append((time.perf_counter() - t) * 1000)
    return {"library": n, "queries": queries, "table_load_ms": round(load * 1000, 1),
            "p50_ms": round(pct(times, 50), 2), "p95_ms": round(pct(times, 95), 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracks", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--library", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-music-") as tmp:
        root = Path(tmp)
        svc = build_services(make_settings(root, job_workers=0))
        svc.start(run_jobs=False)
        try:
            idx = bench_indexing(svc, root, args.tracks, args.seconds)
            lat = bench_latency(svc, args.library, args.queries)
        finally:
            svc.close()
    rows = [["indexing", f"{idx['tracks']} x {idx['track_seconds']:.0f} s tracks", idx["tracks_per_minute"],
             ">= 20 tracks/min", "real analysis"],
            ["text query p50", f"{lat['library']} tracks", lat["p50_ms"], "<= 50 ms", "synthetic vectors"],
            ["text query p95", f"{lat['library']} tracks", lat["p95_ms"], "", "synthetic vectors"],
            ["table load", f"{lat['library']} tracks", lat["table_load_ms"], "", "once per index revision"]]
    write("music", vars(args), {"indexing": idx, "latency": lat}, rows,
          ["what", "input", "value", "target", "note"])


if __name__ == "__main__":
    main()
