"""Load test: N concurrent clients (asyncio + httpx) mixing endpoints against a real server for a bounded time.

    python bench/load.py                          # starts an embedded-mode server on 127.0.0.1, 8 clients, 180 s
    python bench/load.py --mode celery --workers 2   # + redis-server and `sensorium worker` processes
    python bench/load.py --url http://127.0.0.1:8000 --pid 1234   # an already running server

Mix (weights): health 20, image analysis of ../shared/testdata/images/zidane.jpg 25, transcription of a
~3 s Piper clip on /v1/audio/transcriptions 20, sound search by text 20, a sentiment job submitted with
async=true and polled to its end 15. Reported per endpoint: requests, throughput, p50/p95/p99 latency,
answers by status and error code; the server's RSS (with its children) every second.

Pass criteria (stated before running, checked at the end):
  * no 5xx answer except 503 SERVICE_UNAVAILABLE (documented: all analysis slots busy for QUEUE_TIMEOUT_SECONDS);
  * every submitted job ends `succeeded`;
  * RSS flat after warm-up: the median RSS of the last third of the post-warm-up samples is at most
    max(32 MB, 3 %) above the median of the first third.
Every request loop is bounded by --duration and only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import SHARED, pct, write

WEIGHTS = {"health": 20, "image": 25, "transcribe": 20, "sound_search": 20, "job": 15}
COLLECTION = "loadtest"


class Recorder:
    """Latencies (only of requests started after the warm-up) and answers (all) per endpoint."""

    def __init__(self, t0: float, warmup: float) -> None:
        self.t0, self.warmup = t0, warmup
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[str, Counter] = defaultdict(Counter)
        self.job_seconds: list[float] = []
        self.job_status: Counter = Counter()

    def add(self, name: str, r: httpx.Response | None, started: float, seconds: float,
            error: str | None = None) -> None:
        if started - self.t0 >= self.warmup:
            self.lat[name].append(seconds)
        if r is None:
            self.codes[name][f"transport:{error}"] += 1
            return
        code = str(r.status_code)
        if r.status_code >= 400:
            try:
                body = r.json()
                err = body.get("error") or {}
                code += f" {str(err.get('code', '?')).upper()}"
            except ValueError:
                pass
        self.codes[name][code] += 1


async def _timed(rec: Recorder, name: str, call) -> httpx.Response | None:
    t0 = time.perf_counter()
    try:
        r = await call()
    except httpx.HTTPError as exc:
        rec.add(name, None, t0, time.perf_counter() - t0, type(exc).__name__)
        return None
    rec.add(name, r, t0, time.perf_counter() - t0)
    return r


async def _job(c: httpx.AsyncClient, rec: Recorder, i: int, deadline: float) -> None:
    t0 = time.perf_counter()
    r = await _timed(rec, "job_submit", lambda: c.post("/api/analyze/sentiment", data={
        "text": f"I am so happy with this result! Number {i}. But the wait was awful.", "async": "true"}))
    if r is None or r.status_code != 202:
        return
    job_id = r.json()["data"]["result"]["job_id"]
    while time.monotonic() < deadline + 120:  # a job submitted before the end may finish after it
        await asyncio.sleep(0.5)
        p = await _timed(rec, "job_poll", lambda: c.get(f"/api/jobs/{job_id}"))
        if p is not None and p.status_code == 200:
            status = p.json()["data"]["result"]["status"]
            if status in ("succeeded", "failed", "cancelled"):
                rec.job_status[status] += 1
                rec.job_seconds.append(time.perf_counter() - t0)
                return
    rec.job_status["unfinished"] += 1


async def client(url: str, rec: Recorder, inputs: dict[str, bytes], deadline: float, seed: int) -> None:
    rnd = random.Random(seed)
    names, weights = zip(*WEIGHTS.items(), strict=True)
    async with httpx.AsyncClient(base_url=url, timeout=300) as c:
        i = 0
        while time.monotonic() < deadline:
            i += 1
            what = rnd.choices(names, weights)[0]
            if what == "health":
                await _timed(rec, what, lambda: c.get("/api/health"))
            elif what == "image":
                await _timed(rec, what, lambda: c.post("/api/analyze/image",
                                                       files={"image": ("zidane.jpg", inputs["image"])}))
            elif what == "transcribe":
                await _timed(rec, what, lambda: c.post("/v1/audio/transcriptions", data={"language": "en"},
                                                       files={"file": ("clip.wav", inputs["speech"])}))
            elif what == "sound_search":
                q = rnd.choice(["a high beep", "rain on a roof", "low hum", "clicks", "noise"])
                await _timed(rec, what, lambda q=q: c.post("/api/sound/search",
                                                           data={"query": q, "collection": COLLECTION}))
            else:
                await _job(c, rec, seed * 100000 + i, deadline)


async def sample_rss(pids: list[int], out: list[tuple[float, float]], t0: float, stop: asyncio.Event) -> None:
    procs = [psutil.Process(p) for p in pids]
    while not stop.is_set():
        rss = 0
        for p in procs:
            try:
                rss += p.memory_info().rss + sum(ch.memory_info().rss for ch in p.children(recursive=True))
            except psutil.Error:
                pass
        out.append((round(time.monotonic() - t0, 1), rss / 2**20))
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            pass


def make_inputs(folder: Path) -> dict[str, bytes]:
    from testkit.media_factory import speak

    image = (SHARED / "testdata" / "images" / "zidane.jpg").read_bytes()
    speech = speak("Please send the quarterly report to the team before Friday.", folder / "speech.wav")
    return {"image": image, "speech": speech.read_bytes()}


def make_library(folder: Path) -> Path:
    from testkit.media_factory import speak
    from testkit.sounds import build_library

    voices = folder.parent / "voices"
    voices.mkdir(exist_ok=True)
    build_library(folder, lambda text: speak(text, voices / f"v{abs(hash(text)) % 10**8}.wav"))
    return folder


def index_library(url: str, lib: Path) -> None:
    r = httpx.post(f"{url}/api/library/sounds/index", timeout=60,
                   json={"directory": str(lib), "name": COLLECTION, "sfx_embeddings": False})
    r.raise_for_status()
    job_id = r.json()["data"]["result"]["job_id"]
    for _ in range(600):
        job = httpx.get(f"{url}/api/jobs/{job_id}", timeout=30).json()["data"]["result"]
        if job["status"] in ("succeeded", "failed"):
            if job["status"] != "succeeded":
                raise RuntimeError(f"indexing failed: {job['error']}")
            return
        time.sleep(1)
    raise RuntimeError("indexing did not finish in 600 s")


def rss_verdict(samples: list[tuple[float, float]], warmup: float) -> dict:
    post = [mb for t, mb in samples if t >= warmup]
    if len(post) < 6:
        return {"flat": None, "reason": "too few samples after warm-up"}
    third = len(post) // 3
    first, last = statistics.median(post[:third]), statistics.median(post[-third:])
    allowed = max(32.0, 0.03 * first)
    return {"first_third_median_mb": round(first, 1), "last_third_median_mb": round(last, 1),
            "growth_mb": round(last - first, 1), "allowed_growth_mb": round(allowed, 1),
            "max_mb": round(max(post), 1), "flat": last - first <= allowed}


def summarize(rec: Recorder, seconds: float) -> tuple[list[list], dict]:
    rows, per = [], {}
    for name in sorted(set(rec.codes)):
        lat = sorted(rec.lat[name])
        n_all = sum(rec.codes[name].values())
        per[name] = {"requests": n_all, "measured": len(lat), "per_s": round(len(lat) / seconds, 3),
                     "p50_ms": round(pct(lat, 50) * 1000, 1), "p95_ms": round(pct(lat, 95) * 1000, 1),
                     "p99_ms": round(pct(lat, 99) * 1000, 1), "answers": dict(rec.codes[name])}
        p = per[name]
        rows.append([name, n_all, p["per_s"], p["p50_ms"], p["p95_ms"], p["p99_ms"],
                     ", ".join(f"{k}: {v}" for k, v in sorted(rec.codes[name].items()))])
    return rows, per


def bad_answers(rec: Recorder) -> dict[str, int]:
    """Every 5xx other than 503 SERVICE_UNAVAILABLE, and every transport error."""
    bad: Counter = Counter()
    for name, codes in rec.codes.items():
        for code, n in codes.items():
            if code.startswith("transport") or (code[0] == "5" and code != "503 SERVICE_UNAVAILABLE"):
                bad[f"{name} {code}"] += n
    return dict(bad)


async def drive(url: str, pids: list[int], inputs: dict[str, bytes], clients: int, duration: float,
                warmup: float) -> tuple[Recorder, list[tuple[float, float]], float]:
    t0 = time.monotonic()
    rec = Recorder(time.perf_counter(), warmup)
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pids, samples, t0, stop))
    deadline = t0 + duration
    await asyncio.gather(*(client(url, rec, inputs, deadline, seed) for seed in range(clients)))
    stop.set()
    await sampler
    return rec, samples, time.monotonic() - t0


class Cluster:
    """The server under test (and, in Celery mode, redis-server and workers), all on 127.0.0.1."""

    def __init__(self, root: Path, mode: str, workers: int, lib: Path) -> None:
        from testkit.server import ServerProcess, free_port

        self.root, self.mode, self.procs = root, mode, []
        env = {"SOUND_LIBRARY_DIR": str(lib), "LOG_LEVEL": "WARNING"}
        if mode == "celery":
            import subprocess

            exe = shutil.which("redis-server")
            if exe is None:
                raise SystemExit("redis-server is not installed (apt-get install redis-server)")
            port = free_port()
            (root / "redis").mkdir()
            self.procs.append(subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                                "--appendonly", "yes", "--dir", str(root / "redis")],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
            env["BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
        self.server = ServerProcess(root, "api", **env)
        self.workers = workers if mode == "celery" else 0

    def start(self) -> list[int]:
        import subprocess

        time.sleep(0.5)
        self.server.start()
        pids = [self.server.pid]
        for i in range(self.workers):
            log = (self.root / f"worker-{i}.log").open("wb")
            proc = subprocess.Popen([sys.executable, "-m", "sensorium.cli", "worker", "--concurrency", "1"],
                                    env=self.server.env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT)
            self.procs.append(proc)
            pids.append(proc.pid)
        return pids

    def stop(self) -> None:
        self.server.stop()
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(20)
            except Exception:
                p.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="an already running server (else one is started)")
    ap.add_argument("--pid", type=int, action="append", default=[], help="its pid(s), for RSS (with --url)")
    ap.add_argument("--mode", choices=("embedded", "celery"), default="embedded")
    ap.add_argument("--workers", type=int, default=2, help="Celery workers (--mode celery)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=180.0, help="seconds of load, warm-up included")
    ap.add_argument("--warmup", type=float, default=45.0)
    ap.add_argument("--name", default=None, help="result file name (default load_MODE)")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = Path(tempfile.mkdtemp(prefix="sensorium-load-"))
    inputs = make_inputs(root)
    load_before = os.getloadavg()
    cluster = None
    try:
        if args.url:
            url, pids = args.url, args.pid
            index_library(url, make_library(root / "lib"))
        else:
            cluster = Cluster(root, args.mode, args.workers, make_library(root / "lib"))
            pids = cluster.start()
            url = cluster.server.url
            index_library(url, root / "lib")
        rec, samples, seconds = asyncio.run(drive(url, pids, inputs, args.clients, args.duration, args.warmup))
    finally:
        if cluster is not None:
            cluster.stop()
    report(args, rec, samples, seconds, load_before, os.getloadavg())
    shutil.rmtree(root, ignore_errors=True)


def report(args, rec: Recorder, samples, seconds: float, load_before, load_after) -> None:
    measured = max(1e-9, seconds - args.warmup)
    rows, per = summarize(rec, measured)
    verdict = rss_verdict(samples, args.warmup)
    bad = bad_answers(rec)
    jobs_ok = set(rec.job_status) <= {"succeeded"}
    figures = {
        "endpoints": per, "jobs": {"status": dict(rec.job_status),
                                   "end_to_end_p50_s": round(pct(sorted(rec.job_seconds), 50), 2),
                                   "end_to_end_p95_s": round(pct(sorted(rec.job_seconds), 95), 2)},
        "throughput_per_s": round(sum(len(v) for v in rec.lat.values()) / measured, 2),
        "rss": verdict, "rss_samples_mb": samples, "bad_answers": bad,
        "passed": not bad and jobs_ok and bool(verdict.get("flat")),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }
    inputs = {"mode": args.mode, "workers": args.workers if args.mode == "celery" else 0,
              "clients": args.clients, "duration_s": args.duration, "warmup_s": args.warmup,
              "url": args.url or "started here", "weights": WEIGHTS,
              "criteria": "no 5xx but 503 SERVICE_UNAVAILABLE; every job succeeded; RSS median of the last "
                          "third of post-warm-up samples <= first third + max(32 MB, 3 %)"}
    write(args.name or f"load_{args.mode}", inputs, figures, rows,
          ["endpoint", "requests", "per s", "p50 ms", "p95 ms", "p99 ms", "answers"])
    print(f"RSS: {verdict}")
    print(f"jobs: {dict(rec.job_status)}; bad answers: {bad or 'none'}; PASSED: {figures['passed']}")


if __name__ == "__main__":
    main()
