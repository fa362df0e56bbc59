"""Speech segments of a long recording, cut at pauses by a voice-activity detector:
pseudo-labelling cuts recordings into utterances, two-pass decoding cuts long audio
into pieces Whisper takes in one window.

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
                    pad_s: float = SPEECH_PAD_S) -> list[Segment]:
    """Where ``wave`` (16 kHz mono) holds speech, as segments of at most ``max_s`` seconds."""
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:
        raise SpeechtlError("cutting audio at pauses needs faster-whisper's VAD: pip install 'speechtl[teacher]'") \
            from None

    options = VadOptions(min_silence_duration_ms=int(min_silence_s * 1000), speech_pad_ms=int(pad_s * 1000),
                         max_speech_duration_s=max_s, min_speech_duration_ms=int(MIN_SEGMENT_S * 1000))
    spans = get_speech_timestamps(np.asarray(wave, np.float32), options, sampling_rate=SAMPLE_RATE)
    segments = [Segment(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in spans]
    return [s for s in segments if s.duration_s >= MIN_SEGMENT_S]
