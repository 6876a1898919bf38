"""Track tags with mutagen: title, artists, album, duration, embedded artwork.

Handles ID3 (MP3, WAV, AIFF), MP4 atoms (M4A/AAC), Vorbis comments (FLAC, OGG Vorbis/Opus, with
FLAC pictures and `metadata_block_picture`). Missing tags fall back to the file name: "Artist - Title"
is split on " - ", otherwise the whole stem is the title.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Tags:
    title: str
    artists: list[str]
    album: str | None
    duration: float | None  # seconds (None when mutagen cannot tell)
    artwork: bytes | None
    from_tags: bool  # False: title/artists come from the file name


def format_duration(seconds: float) -> str:
    """'m:ss' ('h:mm:ss' from one hour)."""
    s = int(round(max(0.0, seconds)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _first(values: Any) -> str | None:
    if values is None:
        return None
    if isinstance(values, list | tuple):
        values = values[0] if values else None
    text = str(values).strip() if values is not None else ""
    return text or None


def _split_artists(values: Any) -> list[str]:
    if values is None:
        return []
    items = values if isinstance(values, list | tuple) else [values]
    out: list[str] = []
    for item in items:
        for part in str(item).replace("\x00", ";").split(";"):
            if part.strip():
                out.append(part.strip())
    return out


def _id3(tags: Any) -> tuple[str | None, list[str], str | None, bytes | None]:
    def text(frame: str) -> Any:
        f = tags.get(frame)
        return list(f.text) if f is not None and hasattr(f, "text") else None

    art = next((f.data for k, f in tags.items() if k.startswith("APIC")), None)
    return _first(text("TIT2")), _split_artists(text("TPE1")), _first(text("TALB")), art


def _mp4(tags: Any) -> tuple[str | None, list[str], str | None, bytes | None]:
    covr = tags.get("covr")
    return (_first(tags.get("\xa9nam")), _split_artists(tags.get("\xa9ART")), _first(tags.get("\xa9alb")),
            bytes(covr[0]) if covr else None)


def _vorbis(f: Any) -> tuple[str | None, list[str], str | None, bytes | None]:
    tags = f.tags

    def get(key: str) -> Any:
        try:
            return tags.get(key) or tags.get(key.upper())
        except (KeyError, ValueError):
            return None

    art = None
    pictures = getattr(f, "pictures", None)
    if pictures:
        art = pictures[0].data
    else:
        block = get("metadata_block_picture")
        if block:
            from mutagen.flac import Picture

            try:
                art = Picture(base64.b64decode(block[0])).data
            except Exception:  # a broken picture block is not the track's fault
                art = None
    return _first(get("title")), _split_artists(get("artist")), _first(get("album")), art


def _from_name(path: Path) -> tuple[str, list[str]]:
    stem = path.stem.replace("_", " ").strip()
    if " - " in stem:
        artist, title = stem.split(" - ", 1)
        return title.strip() or stem, [artist.strip()] if artist.strip() else []
    return stem or path.name, []


def read_tags(path: Path) -> Tags:
    """The tags of an audio file (never raises for unreadable tags: falls back to the file name)."""
    import mutagen

    title = album = None
    artists: list[str] = []
    art: bytes | None = None
    duration = None
    try:
        f = mutagen.File(str(path))
    except Exception:  # mutagen raises many types on odd files; the audio decoder decides later
        f = None
    if f is not None:
        info = getattr(f, "info", None)
        length = getattr(info, "length", None)
        duration = float(length) if length else None
        tags = f.tags
        if tags is not None:
            try:
                kind = type(tags).__name__
                if kind.startswith("ID3") or hasattr(tags, "getall"):
                    title, artists, album, art = _id3(tags)
                elif kind == "MP4Tags":
                    title, artists, album, art = _mp4(tags)
                else:
                    title, artists, album, art = _vorbis(f)
            except Exception:  # malformed frames: keep what the file name gives
                title, artists, album, art = None, [], None, None
    from_tags = bool(title)
    name_title, name_artists = _from_name(path)
    return Tags(title=title or name_title, artists=artists or ([] if from_tags else name_artists),
                album=album, duration=duration, artwork=art, from_tags=from_tags)
