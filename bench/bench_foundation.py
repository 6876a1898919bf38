"""Foundation benchmark: cold start, model load times, transcription real-time factor, peak RSS.

    .venv/bin/python bench/bench_foundation.py        (or: bash scripts/setup.sh bench)

Targets on 2 cores: server ready <= 3 s; RTF <= 0.1 (tiny.en) and <= 0.25 (base) on >= 60 s of speech.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench._common import REPO, SHARED, write

SENTENCES = [
    "Sensorium is a self-hosted service that understands images, video and audio.",
    "It runs on a laptop processor without any connection to the internet once it is installed.",
    "Video editors use it to find sound effects and music that match a scene.",
    "Game developers generate footstep sounds that follow the characters walking on screen.",
    "The speech recognizer writes subtitles with timestamps for every word that is spoken.",
    "When the audio holds only music or noise, the service says so instead of inventing words.",
    "Long recordings run as background jobs that survive a restart of the server.",
    "Every result comes from a real model, and every failure comes back with a clear error code.",
    "A team can scale it out to many workers that share one database and one queue.",
    "The command line tool runs the same pipelines as the server, with progress bars.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "Six spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack for her brother.",
]


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen, int, float]:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "sensorium"), "serve", "--port", str(port)],
                            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc, port, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.perf_counter() - t0 > 60:
            raise RuntimeError("server did not start")
        time.sleep(0.02)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_speech(path: Path, min_seconds: float = 60.0) -> float:
    import wave

    from testkit.media_factory import piper_voice

    voice = piper_voice()
    frames = b""
    rate = 22050
    i = 0
    while len(frames) / 2 / rate < min_seconds:
        tmp = path.with_suffix(f".{i}.wav")
        with wave.open(str(tmp), "wb") as w:
            voice.synthesize_wav(SENTENCES[i % len(SENTENCES)], w)
        with wave.open(str(tmp)) as r:
            rate = r.getframerate()
            frames += r.readframes(r.getnframes()) + b"\0\0" * int(0.4 * rate)
        tmp.unlink()
        i += 1
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return len(frames) / 2 / rate


def main() -> None:
    from sensorium.media.audio import load_audio
    from sensorium.models.catalog import build_registry
    from sensorium.speech.schemas import TranscribeOptions
    from sensorium.speech.transcribe import transcribe
    from testkit.settings import make_settings

    work = Path(tempfile.mkdtemp(prefix="sensorium-bench-"))
    env = {**os.environ, "MODEL_DIRS": str(SHARED / "models"), "DATA_DIR": str(work / "data"),
           "LOG_DIR": str(work / "logs"), "MODEL_CACHE_DIR": str(REPO / ".cache" / "models"),
           "LOG_LEVEL": "WARNING"}

    # 1. cold start to first 200 on /api/health (3 runs)
    starts = []
    for _ in range(3):
        proc, port, secs = start_server(env, work)
        starts.append(secs)
        proc.terminate()
        proc.wait(10)

    # 2. model load times (fresh registry each time; whisper-base assembled beforehand)
    settings = make_settings(work, model_cache_dir=REPO / ".cache" / "models")
    loads: dict[str, list[float]] = {}
    for name in ("whisper-tiny.en", "whisper-base"):
        for _ in range(3):
            reg = build_registry(settings)
            t0 = time.perf_counter()
            reg.get(name)
            loads.setdefault(name, []).append(time.perf_counter() - t0)
            reg.close()

    # 3. real-time factor on >= 60 s of speech (warm models, VAD on, beam 5: the API defaults)
    speech = work / "speech.wav"
    seconds = make_speech(speech, 60.0)
    audio = load_audio(speech, 16000)
    reg = build_registry(settings)
    rtf: dict[str, dict[str, float]] = {}
    for label, lang, beam in (("whisper-tiny.en", "en", None), ("whisper-base", None, None),
                              ("whisper-tiny.en beam 5", "en", 5)):
        transcribe(audio[: 16000 * 5], reg, settings, TranscribeOptions(language=lang))  # warm-up
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            result = transcribe(audio, reg, settings, TranscribeOptions(language=lang, beam_size=beam))
            runs.append(time.perf_counter() - t0)
        best = min(runs)
        median = statistics.median(runs)
        rtf[label] = {"seconds": round(median, 3), "rtf_median": round(median / seconds, 4),
                      "rtf_best": round(best / seconds, 4), "words": len(result.transcription.split())}
    reg.close()

    # 4. peak RSS of a server that loaded both Whisper models and transcribed the minute of speech
    proc, port, _ = start_server(env, work)
    try:
        idle_rss = peak_rss_mb(proc.pid)
        for lang in ("en", "auto"):
            with open(speech, "rb") as fh:
                r = httpx.post(f"http://127.0.0.1:{port}/api/analyze/audio", files={"audio": ("s.wav", fh)},
                               data={"language": lang}, timeout=300)
                r.raise_for_status()
        server_peak = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)

    figures = {
        "cold_start_seconds": {"median": round(statistics.median(starts), 3), "runs": [round(s, 3) for s in starts],
                               "target": 3.0},
        "model_load_seconds": {k: {"median": round(statistics.median(v), 3), "runs": [round(x, 3) for x in v]}
                               for k, v in loads.items()},
        "transcription": {**rtf, "audio_seconds": round(seconds, 2),
                          "targets": {"whisper-tiny.en": 0.1, "whisper-base": 0.25}},
        "server_rss_mb": {"idle_peak": round(idle_rss, 1), "peak_after_both_models": round(server_peak, 1)},
    }
    rows = [
        ["cold start to first 200 /api/health (s)", round(statistics.median(starts), 3), "<= 3.0"],
        ["load whisper-tiny.en (s)", round(statistics.median(loads["whisper-tiny.en"]), 3), ""],
        ["load whisper-base (s)", round(statistics.median(loads["whisper-base"]), 3), ""],
        [f"RTF tiny.en on {seconds:.0f}s speech", rtf["whisper-tiny.en"]["rtf_median"], "<= 0.1"],
        [f"RTF base (auto) on {seconds:.0f}s speech", rtf["whisper-base"]["rtf_median"], "<= 0.25"],
        ["RTF tiny.en with beam 5 (reference)", rtf["whisper-tiny.en beam 5"]["rtf_median"], ""],
        ["server peak RSS idle (MB)", round(idle_rss, 1), ""],
        ["server peak RSS after both models (MB)", round(server_peak, 1), ""],
    ]
    write("foundation", {"speech_seconds": round(seconds, 2), "sentences": len(SENTENCES),
                         "cpu_threads": os.cpu_count(),
                         "decoding": "API defaults: VAD on; tiny.en greedy (beam 1), base beam 5"},
                 figures, rows, ["measure", "value", "target"])


if __name__ == "__main__":
    main()
