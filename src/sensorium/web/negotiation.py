"""Content negotiation for `GET /`: browsers that prefer HTML go to the studio, API clients get JSON."""

from __future__ import annotations


def _accept_q(accept: str) -> list[tuple[str, float]]:
    out = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        out.append((fields[0].lower(), q))
    return out


def _quality(ranges: list[tuple[str, float]], media_type: str) -> float:
    """The q of the most specific range matching `media_type` (RFC 9110 section 12.5.1)."""
    main = media_type.split("/")[0]
    best, specificity = 0.0, -1
    for rng, q in ranges:
        if rng == media_type:
            s = 2
        elif rng == f"{main}/*":
            s = 1
        elif rng == "*/*":
            s = 0
        else:
            continue
        if s > specificity:
            best, specificity = q, s
    return best


def prefers_html(accept: str | None) -> bool:
    """True when the Accept header rates text/html strictly above application/json (ties go to JSON)."""
    if not accept:
        return False
    ranges = _accept_q(accept)
    return _quality(ranges, "text/html") > _quality(ranges, "application/json")
