"""The preview render: the video with a track mixed in from a start offset, ducked under speech.

The track (from `offset`, as long as the video) is normalized to `MUSIC_LUFS`, faded in (50 ms) and
out (1.5 s), lowered by `duck_db` while the video's speech spans play (5 ms attack, 250 ms release:
`media.mix.duck_gain`, the curve foley's duck mode uses), added to the video's own audio and muxed
with the video stream copied (`media.encode.mux_audio`). The music is mono (both channels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sensorium.media.audio import load_audio_window
from sensorium.media.encode import audio_rate, mux_audio
from sensorium.media.loudness import normalize
from sensorium.media.mix import duck_gain, load_original, peak_safe, spans_to_gate

MUSIC_LUFS = -20.0
FADE_IN, FADE_OUT = 0.05, 1.5


def music_bed(track: Path, offset: float, seconds: float, sr: int) -> np.ndarray:
    """`seconds` of the track from `offset` at `sr`, loudness-normalized and faded (mono)."""
    n = int(round(seconds * sr))
    y = load_audio_window(track, sr, offset, seconds)
    y = np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.float64)
    y, _ = normalize(y, sr, MUSIC_LUFS)
    fade = np.ones(n)
    k_in, k_out = min(n, int(FADE_IN * sr)), min(n, int(FADE_OUT * sr))
    if k_in:
        fade[:k_in] = np.linspace(0, 1, k_in)
    if k_out:
        fade[n - k_out:] *= np.linspace(1, 0, k_out)
    return y * fade


def render_preview(video: Path, duration: float, track: Path, offset: float, speech_spans: list[list[float]],
                   out: Path, *, duck_db: float = -12.0) -> dict[str, object]:
    """Write the preview MP4 to `out`; returns what was done (for the job result)."""
    sr = audio_rate(video)
    n = int(round(duration * sr))
    bed = music_bed(track, offset, duration, sr)
    gain = duck_gain(spans_to_gate(speech_spans, sr, n), sr, duck_db)
    music = np.vstack([bed * gain, bed * gain])
    original = load_original(video, sr, n)
    mix = peak_safe(music if original is None else original.astype(np.float64) + music)
    how = mux_audio(video, mix, sr, out)
    return {"video": how, "sample_rate": sr, "duration": round(duration, 3), "offset": round(offset, 3),
            "ducked_spans": len(speech_spans), "duck_db": duck_db, "original_audio": original is not None}
