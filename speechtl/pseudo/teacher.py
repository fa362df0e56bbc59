"""Teachers label speech segments: faster-whisper with the offline Whisper weights (the
``[teacher]`` extra), or speechtl's own CTC model with its LM, so the loop can iterate.

    teacher = WhisperTeacher("whisper-tiny.en")
    label = teacher.label(wave)          # Label(text, avg_logprob, no_speech_prob, compression_ratio)
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..constants import DEFAULT_WHISPER
from ..model.seq2seq import WhisperRecognizer
from ..model.seq2seq import require_faster_whisper as _require
from ..text import compression_ratio
from .filter import Label


class Teacher(Protocol):
    name: str

    def label(self, wave: np.ndarray) -> Label: ...


def require_faster_whisper() -> None:
    _require("pseudo-labelling")


class WhisperTeacher:
    """Whisper on CPU (:class:`~speechtl.model.seq2seq.WhisperRecognizer`) with an offline
    Whisper. ``hotwords``: the domain terms, passed as Whisper's prompt."""

    def __init__(self, model: str = DEFAULT_WHISPER, hotwords: str | None = None, threads: int = 2) -> None:
        require_faster_whisper()
        self.name = model
        self.hotwords = hotwords
        self.settings = {"hotwords": hotwords}
        self._whisper = WhisperRecognizer(model, threads=threads, device="cpu")

    def label(self, wave: np.ndarray) -> Label:
        r = self._whisper.transcribe(wave, self.hotwords)
        return Label(text=r.text, avg_logprob=r.avg_logprob, no_speech_prob=r.no_speech_prob,
                     compression_ratio=compression_ratio(r.text))


class CTCTeacher:
    """speechtl's own model (a loaded Bundle) with its decoding: confidence is the mean
    log-probability of the best path's frames."""

    def __init__(self, bundle, decoding=None, name: str = "speechtl") -> None:
        from ..decode.policy import Decoding
        from ..model.chunked import AcousticModel

        self.name = name
        self._acoustic = AcousticModel(bundle)
        self._decoding = decoding or Decoding(bundle.alphabet)

    def label(self, wave: np.ndarray) -> Label:
        logprobs = self._acoustic.logits([wave])[0]
        text = self._decoding.decode([logprobs], self._acoustic.bundle.frame_shift)[0].text
        return Label(text=text, avg_logprob=float(logprobs.max(axis=-1).mean()), no_speech_prob=0.0,
                     compression_ratio=compression_ratio(text))
