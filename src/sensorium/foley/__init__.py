"""Footstep foley: detect the footsteps of walkers in a video, synthesize a synchronized footstep
track, mux it, render an annotated video, export the events.

    det = detect_footsteps(video, registry, DetectOptions(stride=1))
    run_foley(video, out, surface="auto", annotate=..., csv=..., json=...)   # CLI entry point
"""

from __future__ import annotations

from sensorium.foley.detect import Detection, DetectOptions, detect_footsteps

__all__ = ["DetectOptions", "Detection", "detect_footsteps"]
