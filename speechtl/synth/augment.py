"""Seeded augmentation of synthetic speech: additive noise, reverberation, speed, telephone.

Each function takes a ``numpy.random.Generator`` so that a corpus built twice with
the same seed is the same corpus.
"""

from __future__ import annotations

import numpy as np
import soxr

from ..constants import SAMPLE_RATE


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add pink-ish noise (white noise through a one-pole low-pass) at ``snr_db``."""
    white = rng.standard_normal(len(x))
    noise = np.empty_like(white)
    acc = 0.0
    alpha = 0.9  # low-pass: more energy at low frequencies, like room and fan noise
    for i, w in enumerate(white):  # a short python loop per utterance is fine at corpus scale
        acc = alpha * acc + (1 - alpha) * w
        noise[i] = acc
    return mix_at_snr(x, noise, snr_db)


def mix_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    signal_power = float(np.mean(x.astype(np.float64) ** 2)) or 1e-12
    noise_power = float(np.mean(noise ** 2)) or 1e-12
    scale = np.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    return (x + scale * noise).astype(np.float32)


def reverberate(x: np.ndarray, rt60: float, rng: np.random.Generator,
                sampling_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Convolve with a synthetic room response: exponentially decaying noise
    reaching -60 dB after ``rt60`` seconds, after a direct-path impulse."""
    n = max(1, int(rt60 * sampling_rate))
    t = np.arange(n) / sampling_rate
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 0.3
    ir[0] = 1.0
    wet = np.convolve(x, ir)[: len(x)]
    peak = np.max(np.abs(wet)) or 1.0
    return (wet * (np.max(np.abs(x)) / peak)).astype(np.float32)


def change_speed(x: np.ndarray, factor: float, sampling_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Speed perturbation (tempo and pitch together, as Kaldi's): factor 1.1 is 10% faster."""
    if factor == 1.0:
        return x
    return soxr.resample(x, sampling_rate * factor, sampling_rate).astype(np.float32)


TELEPHONE_RATE = 8_000
TELEPHONE_BAND_HZ = (300.0, 3400.0)
MU_LAW = 255


def telephone(x: np.ndarray, sampling_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A narrowband phone line: 8 kHz, 300-3400 Hz, G.711 mu-law 8-bit companding, back to
    ``sampling_rate`` (what dictation over a phone or a cheap recorder sounds like)."""
    narrow = soxr.resample(x.astype(np.float32), sampling_rate, TELEPHONE_RATE)
    spectrum = np.fft.rfft(narrow)
    freqs = np.fft.rfftfreq(len(narrow), 1 / TELEPHONE_RATE)
    spectrum[(freqs < TELEPHONE_BAND_HZ[0]) | (freqs > TELEPHONE_BAND_HZ[1])] = 0
    narrow = np.fft.irfft(spectrum, len(narrow))
    peak = float(np.max(np.abs(narrow))) or 1.0
    y = narrow / peak
    companded = np.sign(y) * np.log1p(MU_LAW * np.abs(y)) / np.log1p(MU_LAW)
    quantized = np.round((companded + 1) / 2 * MU_LAW) / MU_LAW * 2 - 1  # 256 levels
    expanded = np.sign(quantized) * ((1 + MU_LAW) ** np.abs(quantized) - 1) / MU_LAW * peak
    return soxr.resample(expanded.astype(np.float32), TELEPHONE_RATE, sampling_rate).astype(np.float32)


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """Measured SNR of ``noisy`` against ``clean`` (same length)."""
    noise = noisy.astype(np.float64) - clean
    return 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise ** 2))
