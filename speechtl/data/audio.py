"""Reading audio as the models want it: float32, mono, at one sample rate.

soundfile reads wav, flac, ogg and mp3; soxr (the resampler librosa uses) converts
the rate. Every failure is an AudioError that names the file and the problem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..constants import SAMPLE_RATE
from ..errors import AudioError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".opus")


@dataclass(frozen=True)
class AudioInfo:
    path: str
    sampling_rate: int
    channels: int
    num_samples: int
    truncated: bool = False  # the header promises more audio than the file holds

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.num_samples / self.sampling_rate


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Read only the header: cheap enough to check a whole manifest."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: file not found")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises several types for bad files
        raise AudioError(f"{path}: cannot read audio ({_reason(exc)})") from None
    if info.frames <= 0:
        raise AudioError(f"{path}: empty audio (0 samples)")
    # libsndfile reads what is there and notes "data : N (should be M)" for a cut-off file
    truncated = any(line.startswith("data") and "should be" in line for line in info.extra_info.splitlines())
    return AudioInfo(str(path), int(info.samplerate), int(info.channels), int(info.frames), truncated)


def load_audio(
    path: str | os.PathLike[str],
    sampling_rate: int = SAMPLE_RATE,
    offset: float = 0.0,
    duration: float | None = None,
) -> np.ndarray:
    """Samples of ``path`` (from ``offset`` seconds, ``duration`` seconds long) as float32 mono."""
    info = audio_info(path)
    start = int(round(offset * info.sampling_rate))
    stop = info.num_samples if duration is None else start + int(round(duration * info.sampling_rate))
    if start >= info.num_samples:
        raise AudioError(f"{path}: offset {offset:.2f}s is past the end ({info.duration:.2f}s)")
    try:
        data, rate = sf.read(str(path), start=start, stop=min(stop, info.num_samples),
                             dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(f"{path}: cannot decode audio ({_reason(exc)})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: empty audio (0 samples)")
    return prepare(data, rate, sampling_rate, name=str(path))


def prepare(data: np.ndarray, rate: int, sampling_rate: int = SAMPLE_RATE, name: str = "audio") -> np.ndarray:
    """Down-mix (channels last) and resample an in-memory signal."""
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)  # down-mix: average the channels
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{name}: audio holds NaN or infinite samples")
    if rate != sampling_rate:
        data = soxr.resample(data, rate, sampling_rate).astype(np.float32, copy=False)
    return np.ascontiguousarray(data)


def normalize_waveform(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance: what Wav2Vec2FeatureExtractor(do_normalize=True) does."""
    x = np.asarray(x, dtype=np.float32)
    return (x - x.mean()) / np.sqrt(x.var() + 1e-7)


def find_audio_files(path: str | os.PathLike[str]) -> list[Path]:
    """``path`` itself if a file, else every audio file under it, sorted."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
    return [path]


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
