"""Job throughput with 1 and 2 Celery workers on this machine, measured in the same run (the ratio).

    python bench/bench_workers.py [--jobs 24] [--workers 1,2]

For each worker count: a fresh redis-server, API server and `sensorium worker --concurrency 1` processes
(bench/load.py's Cluster, all on 127.0.0.1); one warm-up job per worker (each worker process loads its
models on its first job), then `--jobs` transcription jobs (a ~4 s Piper clip, POST /api/analyze/audio
async=true) submitted at once; throughput = jobs / (time from the first submission to the last job's end).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import write
from bench.load import Cluster


def submit(url: str, speech: bytes) -> str:
    r = httpx.post(f"{url}/api/analyze/audio", files={"audio": ("clip.wav", speech)},
                   data={"language": "en", "async": "true"}, timeout=120)
    r.raise_for_status()
    return r.json()["data"]["result"]["job_id"]


def wait_all(url: str, ids: list[str], timeout: float = 1800) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [httpx.get(f"{url}/api/jobs/{i}", timeout=30).json()["data"]["result"] for i in ids]
        if all(j["status"] in ("succeeded", "failed", "cancelled") for j in jobs):
            return jobs
        time.sleep(0.5)
    raise RuntimeError("jobs did not finish in time")


def run(workers: int, n_jobs: int, speech: bytes, lib: Path) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"sensorium-workers{workers}-"))
    cluster = Cluster(root, "celery", workers, lib)
    try:
        cluster.start()
        url = cluster.server.url
        warm = wait_all(url, [submit(url, speech) for _ in range(workers)])
        assert all(j["status"] == "succeeded" for j in warm), warm
        t0 = time.monotonic()
        jobs = wait_all(url, [submit(url, speech) for _ in range(n_jobs)])
        seconds = time.monotonic() - t0
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    ok = sum(j["status"] == "succeeded" for j in jobs)
    return {"workers": workers, "jobs": n_jobs, "succeeded": ok, "seconds": round(seconds, 2),
            "jobs_per_s": round(n_jobs / seconds, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=24)
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from testkit.media_factory import speak

    tmp = Path(tempfile.mkdtemp(prefix="sensorium-bw-"))
    speech = speak("Please send the quarterly report to the whole team before Friday afternoon.",
                   tmp / "speech.wav").read_bytes()
    (tmp / "lib").mkdir()
    load_before = os.getloadavg()
    results = [run(int(w), args.jobs, speech, tmp / "lib") for w in args.workers.split(",")]
    load_after = os.getloadavg()
    shutil.rmtree(tmp, ignore_errors=True)
    base = results[0]["jobs_per_s"]
    for r in results:
        r["speedup_vs_first"] = round(r["jobs_per_s"] / base, 2)
    write("workers", {"jobs": args.jobs, "job": "transcription of a ~4 s Piper clip (whisper tiny.en)",
                      "worker_counts": args.workers, "cores": os.cpu_count()},
          {"runs": results, "load_average_before": [round(x, 2) for x in load_before],
           "load_average_after": [round(x, 2) for x in load_after]},
          [[r["workers"], r["jobs"], r["succeeded"], r["seconds"], r["jobs_per_s"], r["speedup_vs_first"]]
           for r in results],
          ["workers", "jobs", "succeeded", "seconds", "jobs/s", "speed-up"])


if __name__ == "__main__":
    main()
