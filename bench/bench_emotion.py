"""Emotion speed: text-only utterances per second, and seconds per minute of video for the full fusion.

* text: the first N utterances of MELD dev (../shared/testdata/meld/dev_sent_emo.csv) through the text
  model (`TextEmotionModel.predict_dialogue`) in calls of 50 and in one call (a long text), after a
  warm-up call; also where the time of the calls of 50 goes (normalisation, tokenizer, encoder, VADER,
  the rest), the torch thread count and the load average before and after.
* video: a 60 s talking head (skimage's astronaut photo, 640x480 at 25 fps, with Piper speech of
  several sentences) through `EmotionService.analyze_file` (Whisper, text model, prosody, speaker
  turns, faces + FER every 0.5 s, fusion), after a warm-up on a short clip so model loading is not counted.

    .venv/bin/python bench/bench_emotion.py [--utterances 1000] [--seconds 60] [--text-only]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, RESULTS, SHARED, write

sys.path[:0] = [str(REPO / "src"), str(REPO)]

LINES = [
    "Good morning everyone, thank you for coming to this meeting today.",
    "I am really happy to tell you that our project has been a great success.",
    "We finished two weeks early, and the customers love what we built.",
    "But I am also worried about the budget for next year, it is very tight.",
    "Some of you told me that you feel tired and stressed, and I understand that.",
    "So we will hire two more people, and everyone gets a long weekend in May.",
    "Honestly, I could not be prouder of this team. You did something wonderful.",
    "Now, does anyone have questions before we look at the numbers together?",
]


def meld_utterances(n: int) -> list[str]:
    from sensorium.emotion.text_model import normalise_text

    with (SHARED / "testdata" / "meld" / "dev_sent_emo.csv").open(newline="", encoding="utf-8") as f:
        return [normalise_text(row["Utterance"]) for row, _ in zip(csv.DictReader(f), range(n), strict=False)]


def bench_text(svc, n: int) -> dict[str, float]:
    import torch

    from sensorium.emotion.text_model import TEXT_EMOTION, dialogue_context, normalise_text

    texts = meld_utterances(n)
    load_before = os.getloadavg()[0]
    with svc.registry.use(TEXT_EMOTION) as model:
        model.predict_dialogue(texts[:50])  # warm-up
        t0 = time.perf_counter()
        for i in range(0, len(texts), 50):
            model.predict_dialogue(texts[i:i + 50])
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.predict_dialogue(texts)  # one call, as a long text sent to the API is read
        one_call = time.perf_counter() - t0
        # where the time of the calls of 50 goes: the same work, piece by piece
        calls = [texts[i:i + 50] for i in range(0, len(texts), 50)]
        split = {"normalise": 0.0, "tokenize": 0.0, "encoder": 0.0, "vader": 0.0}
        tokenizer = model.encoder.model.tokenizer
        for call in calls:
            t0 = time.perf_counter()
            clean = [normalise_text(t) for t in call]
            [normalise_text(c) for cs in dialogue_context(call, model.context_window) for c in cs]
            t1 = time.perf_counter()
            tokenizer(clean, truncation=True, max_length=256)
            t2 = time.perf_counter()
            model.encoder.encode(clean)
            t3 = time.perf_counter()
            model.vader.scores(clean)
            t4 = time.perf_counter()
            for key, dt in zip(split, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                split[key] += dt
    split["encoder_without_tokenize"] = split["encoder"] - split["tokenize"]
    split["rest (features, heads, results)"] = total - split["normalise"] - split["encoder"] - split["vader"]
    return {"utterances": len(texts), "seconds": round(total, 3), "utterances_per_s": round(len(texts) / total, 1),
            "one_call_seconds": round(one_call, 3), "one_call_utterances_per_s": round(len(texts) / one_call, 1),
            "calls_of_50_split_seconds": {k: round(v, 3) for k, v in split.items()},
            "encoder": type(model.encoder).__name__, "int8": bool(getattr(model.encoder, "quantized", False)),
            "torch_threads": torch.get_num_threads(), "load_average_1m_before": round(load_before, 2),
            "load_average_1m_after": round(os.getloadavg()[0], 2)}


def talking_head(folder: Path, seconds: float) -> Path:
    import cv2
    import librosa
    import numpy as np
    from skimage import data

    from sensorium.media.encode import encode_video
    from testkit.media_factory import read_wav, speak

    parts, total, i = [], 0.0, 0
    while total < seconds:
        audio, sr = read_wav(speak(LINES[i % len(LINES)], folder / f"l{i}.wav"))
        a = librosa.resample(audio.astype(np.float32), orig_sr=sr, target_sr=16000)
        parts += [a, np.zeros(6400, np.float32)]
        total += len(a) / 16000 + 0.4
        i += 1
    speech = np.concatenate(parts)[: int(seconds * 16000)]
    face = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (480, 480))
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, 80:560] = face
    return encode_video(folder / "talk.mp4", [frame] * int(seconds * 25), fps=25, audio=speech, sample_rate=16000)


def bench_video(svc, seconds: float, folder: Path) -> dict[str, float]:
    clip = talking_head(folder, seconds)
    short = talking_head(folder / "warm", 4.0) if (folder / "warm").mkdir() is None else None
    svc.emotion.analyze_file(short)  # load every model once
    stages: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    result = svc.emotion.analyze_file(clip, progress=lambda f, s: stages.append((s, time.perf_counter() - t0)))
    total = time.perf_counter() - t0
    split: dict[str, float] = {}
    for (stage, t), (_, t_next) in zip(stages, [*stages[1:], ("end", total)], strict=True):
        split[stage] = round(split.get(stage, 0.0) + t_next - t, 2)
    return {"video_seconds": seconds, "seconds": round(total, 2),
            "seconds_per_minute": round(total * 60 / seconds, 2), "utterances": len(result.utterances),
            "face_frames": sum(f.frames for f in result.faces), "stages": split}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--utterances", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--text-only", action="store_true",
                    help="measure text only; keep the previous run's video figures (marked with their date)")
    args = ap.parse_args()
    from sensorium.services import build_services
    from testkit.settings import make_settings

    with tempfile.TemporaryDirectory() as d:
        svc = build_services(make_settings(Path(d)))
        text = bench_text(svc, args.utterances)
        if args.text_only:
            previous = json.loads((RESULTS / "emotion.json").read_text())
            video = previous["figures"]["video"]
            video.setdefault("measured", previous["date"])
        else:
            video = bench_video(svc, args.seconds, Path(d))
        svc.close()
    load = os.getloadavg()[0]
    rows = [
        ["text only (MELD dev), calls of 50", f"{text['utterances']} utterances", text["seconds"],
         f"{text['utterances_per_s']} utt/s", ">= 200 utt/s"],
        ["text only (MELD dev), one call", f"{text['utterances']} utterances", text["one_call_seconds"],
         f"{text['one_call_utterances_per_s']} utt/s", ">= 200 utt/s"],
        ["full fusion (talking head)", f"{video['video_seconds']:.0f} s video", video["seconds"],
         f"{video['seconds_per_minute']} s per minute", "<= 20 s per minute"],
    ]
    write("emotion", {"utterances": args.utterances, "video_seconds": args.seconds, "load_average_1m": load},
          {"text": text, "video": video}, rows, ["what", "input", "seconds", "speed", "target"])
    print(f"text split (calls of 50): {text['calls_of_50_split_seconds']}; "
          f"video stages: {video['stages']}; load average {load:.1f}")


if __name__ == "__main__":
    main()
