"""Footstep foley: detect the footsteps of walkers in a video, synthesize a synchronized footstep
track, mux it, render an annotated video, export the events.

    det = detect_footsteps(video, registry, DetectOptions(stride=1))        # the algorithm
    services.foley.run_once(video, output=out, surface="auto", annotate_to=..., csv=..., json_out=...)  # CLI
    services.foley.create_task(...) / process(...) / status(...)           # the API's task workflow
"""

from __future__ import annotations

from sensorium.foley.detect import Detection, DetectOptions, detect_footsteps

__all__ = ["DetectOptions", "Detection", "detect_footsteps"]
