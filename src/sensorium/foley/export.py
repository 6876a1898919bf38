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

from sensorium.foley.schemas import DetectionDocument, EventsDocument, ExportedEvent, FootEvent

FIELDS = tuple(ExportedEvent.model_fields)


def events_csv(events: list[FootEvent]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FIELDS)
    for e in events:
        w.writerow([getattr(e, k) for k in FIELDS])
    return buf.getvalue()


def events_document(detection: DetectionDocument) -> EventsDocument:
    """The JSON export: schema'd events plus the summary, people, surface and video facts."""
    return EventsDocument(
        schema=list(FIELDS),
        video=detection.video,
        surface=detection.surface,
        summary=detection.summary,
        people=detection.people,
        events=[ExportedEvent.model_validate(e.model_dump(include=set(FIELDS))) for e in detection.events],
    )
