"""Video encoding and muxing with PyAV: the only place that writes video files.

* `encode_video(path, frames, fps, audio=...)` writes H.264 (+ optional AAC) clips (tests, benches,
  annotated renders).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np


def encode_video(
    path: Path | str,
    frames: Iterator[np.ndarray] | Sequence[np.ndarray],
    fps: int = 25,
    *,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
    gop: int | None = None,
    crf: int = 23,
    preset: str = "veryfast",
    faststart: bool = False,
    display_rotation: int = 0,
) -> Path:
    """Write BGR uint8 frames as H.264 (yuv420p) in MP4, with an optional mono AAC track.

    faststart: put the index (moov) before the data, as streaming encoders do.
    display_rotation: degrees counter-clockwise a player must rotate the stored frames (as phones
    write portrait videos)."""
    import av

    path = Path(path)
    it = iter(frames)
    first = next(it)
    h, w = first.shape[:2]
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else None) as out:
        vs = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        vs.width, vs.height, vs.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        opts = {"crf": str(crf), "preset": preset}
        if gop:
            vs.gop_size = gop
            opts["keyint_min"] = str(gop)
            opts["sc_threshold"] = "0"
        vs.options = opts
        if display_rotation:
            vs.set_display_rotation(display_rotation)
        a_stream = None
        if audio is not None:
            a_stream = out.add_stream("aac", rate=sample_rate)
            a_stream.layout = "mono"

        def put(img: np.ndarray) -> None:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[: vs.height, : vs.width]), format="bgr24")
            for pkt in vs.encode(vf):
                out.mux(pkt)

        put(first)
        for img in it:
            put(img)
        for pkt in vs.encode():
            out.mux(pkt)
        if a_stream is not None and audio is not None:
            pcm = np.asarray(audio, dtype=np.float32).reshape(1, -1)
            step = 1024
            for i in range(0, pcm.shape[1], step):
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, i:i + step]), format="fltp",
                                                layout="mono")
                af.sample_rate = sample_rate
                af.pts = i
                for pkt in a_stream.encode(af):
                    out.mux(pkt)
            for pkt in a_stream.encode():
                out.mux(pkt)
    return path
