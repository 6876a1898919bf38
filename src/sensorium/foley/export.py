"""Event exports. Schema (one row per gait event):

| field | meaning |
|---|---|
| time_s | event time in seconds from the start of the video (sub-frame precision) |
| frame | nearest frame index (0-based) |
| person_id | walker id (1, 2, ... in order of appearance) |
| foot | `left` or `right` |
| event | `heel_strike` or `toe_off` |
| confidence | 0..1 (landmark visibility and strength of the gait signal) |
| x, y | contact point in pixels of the original frame (heel for strikes, toe for toe-offs) |
"""

from __future__ import annotations

import csv
import io
from typing import Any

FIELDS = ("time_s", "frame", "person_id", "foot", "event", "confidence", "x", "y")


def events_csv(events: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FIELDS)
    for e in events:
        w.writerow([e[k] for k in FIELDS])
    return buf.getvalue()


def events_document(detection: dict[str, Any]) -> dict[str, Any]:
    """The JSON export: schema'd events plus the summary, people, surface and video facts."""
    return {
        "schema": list(FIELDS),
        "video": detection.get("video"),
        "surface": detection.get("surface"),
        "summary": detection.get("summary"),
        "people": detection.get("people"),
        "events": [{k: e[k] for k in FIELDS} for e in detection.get("events", [])],
    }
