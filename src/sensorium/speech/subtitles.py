"""SRT and WebVTT from timed segments."""

from __future__ import annotations

from collections.abc import Iterable

from sensorium.speech.schemas import Segment, given


def _stamp(seconds: float, sep: str) -> str:
    ms_total = max(0, int(round(seconds * 1000)))
    h, rem = divmod(ms_total, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cues(segments: Iterable[Segment]) -> list[tuple[float, float, str]]:
    cues = []
    for seg in segments:
        text = " ".join(seg.text.split())
        start, end = given(seg.start), given(seg.end)
        if not text or start is None or end is None:
            continue
        cues.append((start, max(end, start + 0.001), text.replace("-->", "->")))
    return cues


def to_srt(segments: Iterable[Segment]) -> str:
    blocks = [
        f"{i}\n{_stamp(a, ',')} --> {_stamp(b, ',')}\n{text}\n"
        for i, (a, b, text) in enumerate(_cues(segments), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: Iterable[Segment]) -> str:
    blocks = [f"{_stamp(a, '.')} --> {_stamp(b, '.')}\n{text}\n" for a, b, text in _cues(segments)]
    return "WEBVTT\n\n" + "\n".join(blocks)
