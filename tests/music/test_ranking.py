"""Text recommendations on the generated library: feature words rank the right characters first."""

from __future__ import annotations

from sensorium.music.ranking import parse_query

FAST = {"fast_bright_loud", "fast_bright_loud_2"}
SLOW_QUIET = {"slow_dark_quiet", "slow_dark_quiet_2"}


def _names(songs) -> list[str]:
    out = []
    for s in songs:
        out.append({"Neon Sprint": "fast_bright_loud", "Major Rush": "fast_bright_loud_2"}.get(
            s.title, s.title.replace(" ", "_")))
    return out


def test_fast_energetic_and_calm_slow(services, music_indexed) -> None:
    fast = _names(services.music.recommend_text("fast energetic", 10))
    assert set(fast[:2]) == FAST
    calm = _names(services.music.recommend_text("calm slow", 10))
    assert set(calm[:2]) == SLOW_QUIET
    assert calm.index("fast_bright_loud") > 3 and calm.index("fast_bright_loud_2") > 3
    dark = _names(services.music.recommend_text("dark sad music", 3))
    assert set(dark[:2]) == SLOW_QUIET


def test_every_song_says_why_and_has_the_contract_fields(services, music_indexed) -> None:
    songs = services.music.recommend_text("happy upbeat 130 bpm", 4)
    assert len(songs) == 4 and songs[0].score >= songs[-1].score
    for s in songs:
        assert s.why and "130 bpm" in s.why and s.videoId is None and s.duration
        assert s.audio_url == f"/api/library/music/{s.id}/audio"
    neon = next(s for s in services.music.recommend_text("fast", 10) if s.title == "Neon Sprint")
    assert neon.thumbnails and neon.thumbnails[0].url.endswith("/artwork")


def test_query_words() -> None:
    t = parse_query("Calm, slow piano at 80 BPM")
    assert t.values["tempo"] == 0.2 and t.values["energy"] == 0.1  # the explicit BPM wins over words
    assert parse_query("jazz vibraphone").values == {}  # genre words: text similarity only
    assert parse_query("dark tense").values["mode"] == 0.0
