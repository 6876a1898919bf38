"""Sidecar metadata of a sound folder: captions, labels and splits from CSV/JSON tables.

Any `*.csv` / `*.json` in the tree whose rows name a file (column `fname`, `filename`, `file`,
`file_name`, `path`, `name` or `audio`) gives `caption`, `labels`, `split` and extra `metadata`; per-file
sidecars `<file>.json` / `<stem>.json` work too.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

#: file extensions of sound files (a per-file sidecar `<stem>.json` is matched against them)
AUDIO_EXTENSIONS = {".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp4"}

FILE_KEYS = ("fname", "filename", "file_name", "file", "path", "name", "audio", "sound", "audio_file")
CAPTION_KEYS = ("caption", "description", "desc", "text", "title", "captions")
LABEL_KEYS = ("labels", "label", "tags", "tag", "category", "categories", "class", "classes",
              "subcategory", "keywords")
SPLIT_KEYS = ("split", "fold", "set", "subset")


def _split_labels(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value)
    for sep in (";", "|", ","):
        if sep in text:
            return [p.strip() for p in text.split(sep) if p.strip()]
    return [text.strip()] if text.strip() else []


def _entry_from_record(rec: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    low = {str(k).strip().lower(): v for k, v in rec.items()}
    key = next((str(low[k]) for k in FILE_KEYS if low.get(k)), None)
    entry: dict[str, Any] = {}
    cap = next((low[k] for k in CAPTION_KEYS if low.get(k)), None)
    if isinstance(cap, list):
        cap = " / ".join(str(c) for c in cap)
    if cap:
        entry["caption"] = str(cap).strip()
    labels: list[str] = []
    for k in LABEL_KEYS:
        labels += _split_labels(low.get(k))
    if labels:
        entry["labels"] = list(dict.fromkeys(labels))
    split = next((low[k] for k in SPLIT_KEYS if low.get(k) not in (None, "")), None)
    if split is not None:
        entry["split"] = str(split)
    used = set(FILE_KEYS) | set(CAPTION_KEYS) | set(LABEL_KEYS) | set(SPLIT_KEYS)
    extra = {k: v for k, v in low.items() if k not in used and v not in (None, "")}
    if extra:
        entry["metadata"] = extra
    return key, entry


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        if k == "labels":
            out["labels"] = list(dict.fromkeys([*out.get("labels", []), *v]))
        elif k == "metadata":
            out["metadata"] = {**out.get("metadata", {}), **v}
        else:
            out[k] = v
    return out


class Sidecars:
    """Captions, labels and splits from the metadata tables and per-file sidecars of a tree."""

    def __init__(self) -> None:
        self.by_path: dict[str, dict[str, Any]] = {}  # rel path (posix) -> entry
        self.by_name: dict[str, dict[str, Any]] = {}  # basename -> entry
        self.sources: list[str] = []
        self.errors: list[dict[str, str]] = []

    def add(self, folder_rel: str, key: str, entry: dict[str, Any]) -> None:
        key = key.replace("\\", "/").strip().lstrip("./")
        if not key or not entry:
            return
        rel = f"{folder_rel}/{key}" if folder_rel else key
        self.by_path[rel] = _merge(self.by_path.get(rel, {}), entry)
        base = key.rsplit("/", 1)[-1]
        self.by_name[base] = _merge(self.by_name.get(base, {}), entry)

    def load_table(self, path: Path, root: Path) -> None:
        folder_rel = path.parent.relative_to(root).as_posix()
        folder_rel = "" if folder_rel == "." else folder_rel
        records: list[tuple[str | None, dict[str, Any]]] = []
        try:
            if path.suffix.lower() == ".csv":
                with open(path, newline="", encoding="utf-8-sig") as fh:
                    sample = fh.read(4096)
                    fh.seek(0)
                    try:
                        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
                    except csv.Error:
                        dialect = csv.excel
                    for rec in csv.DictReader(fh, dialect=dialect):
                        records.append(_entry_from_record(rec))
            else:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and isinstance(data.get("clips") or data.get("files"), list):
                    data = data.get("clips") or data.get("files")
                if isinstance(data, list):
                    records = [_entry_from_record(r) for r in data if isinstance(r, dict)]
                elif isinstance(data, dict):
                    key, entry = _entry_from_record(data)
                    if key is None and entry and self._is_per_file(path):
                        records = [(self._per_file_target(path), entry)]
                    elif key is not None:
                        records = [(key, entry)]
                    else:  # {"file.wav": {...} | "caption"}
                        for k, v in data.items():
                            rec = v if isinstance(v, dict) else {"caption": v}
                            records.append((k, _entry_from_record(rec)[1]))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
            self.errors.append({"path": str(path), "error": f"unreadable metadata: {exc}"})
            return
        found = 0
        for key, entry in records:
            if key:
                self.add(folder_rel, key, entry)
                found += 1
        if found:
            self.sources.append(str(path.relative_to(root)))

    @staticmethod
    def _is_per_file(path: Path) -> bool:
        return Sidecars._per_file_target(path) is not None

    @staticmethod
    def _per_file_target(path: Path) -> str | None:
        stem = path.name[: -len(path.suffix)]
        if Path(stem).suffix.lower() in AUDIO_EXTENSIONS and (path.parent / stem).exists():
            return stem  # clip.wav.json
        for ext in AUDIO_EXTENSIONS:
            if (path.parent / (stem + ext)).exists():
                return stem + ext  # clip.json
        return None

    def lookup(self, rel_path: str) -> dict[str, Any]:
        return self.by_path.get(rel_path) or self.by_name.get(rel_path.rsplit("/", 1)[-1], {})

