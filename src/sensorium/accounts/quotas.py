"""Quota arithmetic: effective limits, UTC days, rate windows, Retry-After values. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sensorium.config import MB, Settings


@dataclass(frozen=True)
class Limits:
    """A user's daily limits; 0 = unlimited."""

    requests_per_day: int
    processing_seconds_per_day: float
    upload_bytes_per_day: int
    requests_per_minute: int


def effective_limits(settings: Settings, requests: int | None, seconds: float | None,
                     upload_bytes: int | None) -> Limits:
    """The settings' defaults, overridden by the user's own values where set (None = default)."""
    return Limits(
        requests_per_day=settings.quota_requests_per_day if requests is None else requests,
        processing_seconds_per_day=settings.quota_processing_seconds_per_day if seconds is None else seconds,
        upload_bytes_per_day=int(settings.quota_upload_mb_per_day * MB) if upload_bytes is None else upload_bytes,
        requests_per_minute=settings.rate_limit_per_minute,
    )


def day_of(now: datetime) -> str:
    """The UTC day a usage counter belongs to, `YYYY-MM-DD`."""
    return now.strftime("%Y-%m-%d")


def seconds_to_next_day(now: datetime) -> int:
    """Retry-After for a daily quota: whole seconds until the next UTC midnight (at least 1)."""
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - now).total_seconds()))


def minute_window(now: datetime) -> int:
    """The fixed one-minute window a request falls in (minutes since the epoch)."""
    return int(now.timestamp() // 60)


def seconds_to_next_minute(now: datetime) -> int:
    return max(1, math.ceil(60 - now.timestamp() % 60))


def login_retry_after(failures: list[datetime], limit: int, window_seconds: float, now: datetime) -> int | None:
    """None while fewer than `limit` failures fall in the window; else seconds until enough of them age
    out of it that one more attempt is allowed."""
    recent = sorted(t for t in failures if (now - t).total_seconds() < window_seconds)
    if len(recent) < limit:
        return None
    oldest_that_counts = recent[len(recent) - limit]
    return max(1, math.ceil(window_seconds - (now - oldest_that_counts).total_seconds()))
