"""Transcribe audio files of any length: the acoustic model (model/chunked.py, chunked
and batched), then a decoder (decode/base.Decoder), with word times and txt/json/srt.

    t = Transcriber(load_pretrained("runs/legal/best"))
    for result in t.transcribe_files(["hearing.wav"]):
        print(result.text)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .data.audio import audio_info, load_audio
from .decode.base import Decoder
from .decode.greedy import Hypothesis, Word
from .decode.policy import Decoding
from .errors import AudioError
from .model.bundle import Bundle
from .model.chunked import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_LENGTH_S, DEFAULT_STRIDE_LENGTH_S, AcousticModel

log = logging.getLogger(__name__)

LONG_AUDIO_S = 120.0  # longer files are read chunk by chunk instead of whole


@dataclass(frozen=True)
class Transcript:
    path: str
    text: str = ""
    words: tuple[Word, ...] = field(default=())
    duration: float = 0.0  # seconds
    error: str | None = None


class Transcriber:
    def __init__(self, bundle: Bundle, device: str | torch.device | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, chunk_length_s: float = DEFAULT_CHUNK_LENGTH_S,
                 stride_length_s: float = DEFAULT_STRIDE_LENGTH_S, decoding: Decoder | None = None,
                 int8: bool = False, half: bool = False) -> None:
        """``decoding``: how log-probabilities become text (decode/base.Decoder; default
        greedy): beam search with an LM and terms (decode/policy.py), or the two-pass,
        Whisper prompted with the terms this model hears (decode/twopass.py), which hears
        the audio too. The rest: how the model runs (model/chunked.AcousticModel)."""
        self.acoustic = AcousticModel(bundle, device, batch_size, chunk_length_s, stride_length_s, int8, half)
        self.bundle, self.batch_size = self.acoustic.bundle, batch_size
        self.decoding: Decoder = decoding or Decoding(bundle.alphabet)

    def transcribe_waveforms(self, waves: Sequence[np.ndarray]) -> list[Hypothesis]:
        return self.decode(self.acoustic.logits(waves), waves)

    def decode(self, logprobs: Sequence[np.ndarray], waves: Sequence[np.ndarray] | None = None) -> list[Hypothesis]:
        """``waves``: the audio (at the model's rate), for a decoding that hears it."""
        return self.decoding.decode(logprobs, self.bundle.frame_shift, waves if self.decoding.needs_audio else None)

    def transcribe_files(self, paths: Iterable[str | os.PathLike[str]], progress: bool = False) -> Iterator[Transcript]:
        """Transcribe files in batches; a file that fails gets a Transcript with ``error``.
        Files longer than ``LONG_AUDIO_S`` are streamed in chunks."""
        paths = [str(p) for p in paths]
        bar = tqdm(total=len(paths), desc="transcribe", unit="file", disable=None if progress else True)
        for b in range(0, len(paths), self.batch_size):
            group = paths[b:b + self.batch_size]
            loaded: list[tuple[str, np.ndarray]] = []
            failed: dict[str, str] = {}
            streamed: dict[str, Transcript] = {}
            for path in group:
                try:
                    if audio_info(path).duration > LONG_AUDIO_S:
                        logprobs, seconds = self.acoustic.stream_logits(path)
                        waves = [load_audio(path, self.bundle.sampling_rate)] if self.decoding.needs_audio else None
                        hyp = self.decode([logprobs], waves)[0]
                        streamed[path] = Transcript(path, hyp.text, hyp.words, seconds)
                    else:
                        loaded.append((path, self.acoustic.check_length(load_audio(path, self.bundle.sampling_rate), path)))
                except AudioError as exc:
                    failed[path] = str(exc)
            hyps = dict(zip([p for p, _ in loaded], self.transcribe_waveforms([w for _, w in loaded]) if loaded else []))
            durations = {p: len(w) / self.bundle.sampling_rate for p, w in loaded}
            for path in group:
                if path in failed:
                    yield Transcript(path, error=failed[path])
                elif path in streamed:
                    yield streamed[path]
                else:
                    yield Transcript(path, hyps[path].text, hyps[path].words, durations[path])
                bar.update(1)
        bar.close()


def to_json(t: Transcript) -> dict:
    return {"path": t.path, "text": t.text, "duration": round(t.duration, 3),
            "words": [{"word": w.word, "start": w.start, "end": w.end} for w in t.words]}


def to_srt(t: Transcript, max_cue_length: float = 6.0, max_cue_words: int = 12) -> str:
    """Subtitles: words grouped into cues of at most ``max_cue_length`` seconds."""
    cues: list[list[Word]] = []
    for w in t.words:
        if cues and w.end - cues[-1][0].start <= max_cue_length and len(cues[-1]) < max_cue_words:
            cues[-1].append(w)
        else:
            cues.append([w])
    blocks = [f"{i}\n{_srt_time(c[0].start)} --> {_srt_time(c[-1].end)}\n{' '.join(w.word for w in c)}\n"
              for i, c in enumerate(cues, start=1)]
    return "\n".join(blocks)


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"
