"""Speech segments of a long recording, cut at pauses by a voice-activity detector:
pseudo-labelling cuts recordings into utterances; two-pass decoding cuts long audio
into windows Whisper takes whole, at pauses, keeping every sample (:func:`covering_windows`).

Silero VAD as faster-whisper ships it (ONNX, no download); long stretches of speech are
split at the quietest frame so no segment exceeds ``max_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import SAMPLE_RATE
from ..errors import SpeechtlError

MIN_SILENCE_S = 0.5  # a pause at least this long ends a segment
SPEECH_PAD_S = 0.2  # kept each side of a segment, so word edges are not clipped
MAX_SEGMENT_S = 20.0  # longer speech is split (training drops utterances over max_duration)
MIN_SEGMENT_S = 0.5


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def speech_segments(wave: np.ndarray, min_silence_s: float = MIN_SILENCE_S, max_s: float = MAX_SEGMENT_S,
                    pad_s: float = SPEECH_PAD_S, min_segment_s: float = MIN_SEGMENT_S) -> list[Segment]:
    """Where ``wave`` (16 kHz mono) holds speech, as segments of at most ``max_s`` seconds."""
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:
        raise SpeechtlError("cutting audio at pauses needs faster-whisper's VAD: pip install 'speechtl[teacher]'") \
            from None

    options = VadOptions(min_silence_duration_ms=int(min_silence_s * 1000), speech_pad_ms=int(pad_s * 1000),
                         max_speech_duration_s=max_s, min_speech_duration_ms=int(min_segment_s * 1000))
    spans = get_speech_timestamps(np.asarray(wave, np.float32), options, sampling_rate=SAMPLE_RATE)
    segments = [Segment(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in spans]
    return [s for s in segments if s.duration_s >= min_segment_s]


def covering_windows(wave: np.ndarray, max_s: float, min_pause_s: float = 0.1) -> list[Segment]:
    """``wave`` (16 kHz mono) cut into consecutive windows of at most ``max_s`` seconds
    that together cover all of it: each cut in the middle of the last pause (at least
    ``min_pause_s``, by the VAD) that keeps the window within ``max_s``; where speech runs
    on longer than that, at the quietest 10 ms near the limit. Nothing is dropped, so a
    word the VAD misses, or a short "yes" between turns, still reaches the recognizer."""
    total = len(wave) / SAMPLE_RATE
    speech = speech_segments(wave, min_silence_s=min_pause_s, max_s=max(max_s, 1.0), pad_s=0.0, min_segment_s=0.0)
    # the middle of each pause; silence before the first and after the last speech counts
    gaps = [(a.end_s, b.start_s) for a, b in zip(speech, speech[1:])]
    if speech:
        gaps = [(0.0, speech[0].start_s)] + gaps + [(speech[-1].end_s, total)]
    pauses = [(a + b) / 2 for a, b in gaps if b - a >= min_pause_s]
    windows, start = [], 0.0
    while total - start > max_s:
        inside = [m for m in pauses if start + 1.0 < m <= start + max_s]
        cut = inside[-1] if inside else _quietest(wave, start + max_s - 2.0, start + max_s)
        windows.append(Segment(start, cut))
        start = cut
    windows.append(Segment(start, total))
    return windows


def _quietest(wave: np.ndarray, from_s: float, to_s: float) -> float:
    """The middle of the lowest-energy 10 ms in [from_s, to_s)."""
    hop = SAMPLE_RATE // 100
    a, b = int(from_s * SAMPLE_RATE), int(to_s * SAMPLE_RATE)
    frames = np.asarray(wave[a:b], np.float64)[: (b - a) // hop * hop].reshape(-1, hop)
    return (a + (int(np.argmin((frames ** 2).sum(axis=1))) + 0.5) * hop) / SAMPLE_RATE
