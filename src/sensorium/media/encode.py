"""Video encoding and muxing with PyAV: the only place that writes video files.

* `encode_video(path, frames, fps, audio=...)` writes H.264 (+ optional AAC) clips (tests, benches).
* `mux_audio(video, audio, sr, out)` copies a video's packets unchanged (no re-encoding) into an MP4
  with a new stereo AAC track; when the source codec cannot go into MP4 it re-encodes as H.264.
* `reencode_video(video, out, draw=...)` re-encodes a video as H.264, each frame optionally redrawn
  (annotated renders), with an optional new stereo AAC track.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import SensoriumError
from sensorium.media.audio import write_audio_frames

log = logging.getLogger(__name__)

#: (frame index, time s, BGR frame) -> the BGR frame to encode
Draw = Callable[[int, float, np.ndarray], np.ndarray]


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


def audio_rate(path: Path | str, default: int = 48000) -> int:
    """The sample rate of a file's first audio stream (`default` when it has none)."""
    import av

    with av.open(str(path), metadata_errors="ignore") as c:
        if c.streams.audio:
            return int(c.streams.audio[0].codec_context.sample_rate or default)
    return default


def _write_audio(container: Any, stream: Any, audio: np.ndarray, sr: int) -> None:
    """Encode (2, n) float audio into `stream` and mux it."""
    write_audio_frames(container, stream, audio, sr, "stereo")


def mux_audio(video: Path | str, audio: np.ndarray, sr: int, out: Path | str) -> str:
    """MP4 with the source's video stream (copied when possible) and (2, n) `audio` as AAC.

    Returns how the video went in: `copied` or `re-encoded (h264)`."""
    import av

    out = Path(out)
    try:
        with av.open(str(video), metadata_errors="ignore") as inp:
            vin = inp.streams.video[0]
            with av.open(str(out), "w", format="mp4") as dst:
                vout = dst.add_stream_from_template(vin)
                aout = dst.add_stream("aac", rate=sr, layout="stereo")
                aout.bit_rate = 160_000
                for packet in inp.demux(vin):
                    if packet.dts is None:
                        continue
                    packet.stream = vout
                    dst.mux(packet)
                _write_audio(dst, aout, audio, sr)
        return "copied"
    except SensoriumError:
        raise
    except Exception as exc:  # codec not allowed in MP4, odd timestamps...
        log.info("stream copy into MP4 failed (%s); re-encoding the video as H.264", exc)
        out.unlink(missing_ok=True)
    reencode_video(video, out, audio=audio, sr=sr)
    return "re-encoded (h264)"


def reencode_video(video: Path | str, out: Path, *, audio: np.ndarray | None = None, sr: int = 48000,
                   draw: Draw | None = None, extra_h: int = 0,
                   progress: Callable[[float], None] | None = None) -> None:
    """H.264 MP4 of `video`'s frames, each passed through `draw` (which may make it `extra_h` px taller),
    with (2, n) `audio` as AAC at `sr` when given."""
    import av

    from sensorium.media.video import iter_frames, probe_video

    info = probe_video(video)
    rate = Fraction(info.fps).limit_denominator(1001) if info.fps else Fraction(30)
    with av.open(str(out), "w", format="mp4") as dst:
        vs = dst.add_stream("libx264", rate=rate)
        vs.width = info.width + (info.width % 2)
        vs.height = info.height + extra_h + ((info.height + extra_h) % 2)
        vs.pix_fmt = "yuv420p"
        vs.options = {"crf": "21", "preset": "veryfast"}
        aout = None
        if audio is not None:
            aout = dst.add_stream("aac", rate=sr, layout="stereo")
            aout.bit_rate = 160_000
        total = max(1, info.frame_count)
        for k, (idx, t, bgr) in enumerate(iter_frames(video)):
            img = draw(idx, t, bgr) if draw is not None else bgr
            if img.shape[1] != vs.width or img.shape[0] != vs.height:
                canvas = np.zeros((vs.height, vs.width, 3), dtype=np.uint8)
                canvas[:img.shape[0], :img.shape[1]] = img
                img = canvas
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            frame.pts = idx
            frame.time_base = 1 / rate
            for packet in vs.encode(frame):
                dst.mux(packet)
            if progress is not None and k % 15 == 0:
                progress(min(0.99, k / total))
        for packet in vs.encode(None):
            dst.mux(packet)
        if aout is not None and audio is not None:
            _write_audio(dst, aout, audio, sr)
