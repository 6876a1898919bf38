"""How well Resemblyzer speaker turns work on generated two-voice dialogue (issue 10).

Voices: Piper en_US joe and four espeak-ng voices. Each voice says the same 8 sentences (so text
cannot give the speaker away). The same-speaker threshold is chosen by leave-one-voice-pair-out:
for each dialogue (a pair of voices, 8 alternating turns), the threshold is the one that scores best on
the dialogues that share no voice with it, then it is scored on that dialogue.

    python bench/emotion_speakers.py      # writes bench/results/emotion_speakers.json
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from testkit.media_factory import espeak, read_wav, speak  # noqa: E402

SENTENCES = [
    "I really did not expect to see you here today.",
    "The train was late again, so I walked the whole way.",
    "Could you pass me the salt and the pepper, please?",
    "We should paint the kitchen a brighter colour this spring.",
    "Nobody told me the meeting had been moved to Friday.",
    "My grandmother grew tomatoes in a tiny garden by the sea.",
    "If it rains tomorrow we can go to the museum instead.",
    "That was the best soup I have eaten in a very long time.",
]
VOICES = ["piper", "en-us", "en+f3", "en-gb+m7", "en+f5"]
THRESHOLDS = [round(x, 2) for x in np.arange(0.60, 0.96, 0.025)]


def resample16(audio: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    return librosa.resample(audio.astype(np.float32), orig_sr=sr, target_sr=16000) if sr != 16000 else audio


def clips(tmp: Path) -> dict[str, list[np.ndarray]]:
    out: dict[str, list[np.ndarray]] = {}
    for v in VOICES:
        out[v] = []
        for i, s in enumerate(SENTENCES):
            p = tmp / f"{v}_{i}.wav"
            speak(s, p) if v == "piper" else espeak(s, p, voice=v)
            a, sr = read_wav(p)
            out[v].append(resample16(a, sr))
    return out


def pair_accuracy(labels: list[int], truth: list[int]) -> float:
    """Share of utterance pairs whose same/different-speaker relation is right."""
    pairs = list(itertools.combinations(range(len(truth)), 2))
    return float(np.mean([(labels[i] == labels[j]) == (truth[i] == truth[j]) for i, j in pairs]))


def main() -> None:
    from resemblyzer import VoiceEncoder, preprocess_wav

    from sensorium.emotion.speakers import cluster

    enc = VoiceEncoder("cpu", verbose=False)
    with tempfile.TemporaryDirectory() as d:
        audio = clips(Path(d))
    emb = {v: [enc.embed_utterance(preprocess_wav(a, source_sr=16000)) for a in audio[v]] for v in VOICES}
    dialogues = []
    for a, b in itertools.combinations(VOICES, 2):
        turns = [(a if i % 2 == 0 else b, i) for i in range(len(SENTENCES))]  # A says s0, B s1, ...
        e = np.stack([emb[v][i] for v, i in turns])
        truth = [0 if v == a else 1 for v, _ in turns]
        dialogues.append({"voices": [a, b], "emb": e, "truth": truth})
    same = [float(np.dot(x, y)) for v in VOICES for x, y in itertools.combinations(emb[v], 2)]
    diff = [float(np.dot(x, y)) for v, w in itertools.combinations(VOICES, 2) for x in emb[v] for y in emb[w]]

    def score(d: dict, t: float) -> tuple[float, int]:
        labels = cluster(d["emb"], t)
        return pair_accuracy(labels, d["truth"]), len(set(labels))

    rows = []
    for d in dialogues:
        train = [o for o in dialogues if not set(o["voices"]) & set(d["voices"])]
        best = max(THRESHOLDS, key=lambda t: (np.mean([score(o, t)[0] for o in train]), -abs(t - 0.8)))
        acc, n = score(d, best)
        rows.append({"voices": d["voices"], "threshold": best, "pair_accuracy": round(acc, 3), "speakers_found": n})
    # one-voice monologues: must give one speaker
    mono = []
    for v in VOICES:
        others = [d for d in dialogues if v not in d["voices"]]
        best = max(THRESHOLDS, key=lambda t: (np.mean([score(o, t)[0] for o in others]), -abs(t - 0.8)))
        mono.append({"voice": v, "threshold": best, "speakers_found": len(set(cluster(np.stack(emb[v]), best)))})
    result = {
        "similarity_same_voice": {"mean": round(float(np.mean(same)), 3), "min": round(min(same), 3)},
        "similarity_other_voice": {"mean": round(float(np.mean(diff)), 3), "max": round(max(diff), 3)},
        "dialogues": rows,
        "two_speakers_found": sum(r["speakers_found"] == 2 for r in rows),
        "mean_pair_accuracy": round(float(np.mean([r["pair_accuracy"] for r in rows])), 3),
        "monologues": mono,
        "one_speaker_found": sum(m["speakers_found"] == 1 for m in mono),
    }
    out = ROOT / "bench" / "results" / "emotion_speakers.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"same-voice cosine mean {result['similarity_same_voice']}, other-voice {result['similarity_other_voice']}")
    for r in rows:
        print(f"{'+'.join(r['voices']):22s} t={r['threshold']:.3f} pair acc {r['pair_accuracy']:.3f} "
              f"speakers {r['speakers_found']}")
    print(f"dialogues with 2 speakers: {result['two_speakers_found']}/{len(rows)}; mean pair accuracy "
          f"{result['mean_pair_accuracy']}; monologues with 1 speaker: {result['one_speaker_found']}/{len(mono)}")


if __name__ == "__main__":
    main()
