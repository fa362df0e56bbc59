"""Whisper's text for the two-pass decoder's clips (decode/twopass.py): memoized by audio
and prompt, transcribed in batches, in the CTC alphabet, and with N-best rescoring
(decode/rescore.py) the best of Whisper's N best under the domain LM and the terms.

    writer = Writer(whisper, decoding, vocabulary, rescore=None, memo={})
    texts = writer.texts(clips, prompts)
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from ..constants import SAMPLE_RATE
from ..text import MAX_COMPRESSION_RATIO, compression_ratio, longest_left_out, normalize
from ..vocabulary import Vocabulary
from .base import Recognizer
from .policy import Decoding
from .rescore import DEFAULT_NBEST, NBestRescorer, RescoreConfig
from .twopass_config import WHISPER_WINDOW_S

# a text that leaves out this many words in a row of those the CTC model heard (its own
# spelling, text.longest_left_out) is written again (Writer.written_again): prompted with
# terms, tiny.en left out the first or last 4-9 words of long LibriSpeech utterances, more
# words than the early-stop share catches (legal fresh run 2026-12-07, 120 dev-clean
# utterances: 22 of the two-pass's 31 words more than Whisper alone); no clip of the legal
# test or real-en-dev left out more than 3
SKIPPED_WORDS = 4


class Clip:
    """One utterance's audio and CTC log-probabilities with their digests (the memo's
    keys), computed once per decode."""

    def __init__(self, wave: np.ndarray, logprobs: np.ndarray) -> None:
        self.wave, self.logprobs = wave, logprobs
        self.wave_key, self.logprobs_key = digest(wave), digest(logprobs)


class Writer:
    """Whisper (a :class:`~speechtl.decode.base.Recognizer`) writing clips for the
    two-pass; ``memo`` is shared with the decoder (and every setting tried on one dev set)."""

    def __init__(self, whisper: Recognizer, ctc: Decoding, vocabulary: Vocabulary, rescore: RescoreConfig | None,
                 memo: dict) -> None:
        self.whisper, self.ctc, self.vocabulary, self._memo = whisper, ctc, vocabulary, memo
        self.rescore = None if rescore is None or rescore.is_off else rescore

    def texts(self, clips: Sequence[Clip], prompts: Sequence[str]) -> list[str]:
        """:meth:`text` of each clip; Whisper's own best (or, rescoring, its N best) of those
        not yet known searched in batches (Whisper's beam search costs a quarter less that way
        on a CPU)."""
        if self._rescore() is None:
            keys = [self._whisper_key(clip, prompt, False, None) for clip, prompt in zip(clips, prompts)]
        else:  # the N best of the clips that are rescored (those of one window)
            keys = [self._nbest_key(clip, prompt) if self._rescore(clip) else None for clip, prompt in zip(clips, prompts)]
        todo = list({key: i for i, key in enumerate(keys) if key is not None and key not in self._memo}.values())
        waves, hotwords = [clips[i].wave for i in todo], [prompts[i] or None for i in todo]
        if self._rescore() is None:
            results = [self.normalized(r.text) for r in self.whisper.transcribe_many(waves, hotwords)]
        else:
            results = self.whisper.nbest_many(waves, DEFAULT_NBEST, hotwords)
        for i, result in zip(todo, results):
            self._memo[keys[i]] = result
        return [self.text(clip, prompt) for clip, prompt in zip(clips, prompts)]

    def _rescore(self, clip: Clip | None = None, timestamps: bool = False) -> RescoreConfig | None:
        """The N-best rescoring that applies to a clip (None: Whisper's own best; windows
        redone with timestamps keep it)."""
        if timestamps or (clip is not None and len(clip.wave) > WHISPER_WINDOW_S * SAMPLE_RATE):
            return None
        return self.rescore

    def _whisper_key(self, clip: Clip, prompt: str, timestamps: bool, rescore: RescoreConfig | None,
                     fallback: bool = False) -> tuple:
        return ("whisper", self.whisper.name, clip.wave_key, prompt, timestamps, rescore) + (("fallback",) if fallback else ())

    def text(self, clip: Clip, prompt: str, timestamps: bool = False, fallback: bool = False) -> str:
        """Whisper's text for a clip, normalized to the CTC alphabet: its best, or with
        ``rescore`` the best of its N best under the domain LM and terms (``fallback``:
        sampled again where it loops, Recognizer.transcribe)."""
        rescore = None if fallback else self._rescore(clip, timestamps)
        key = self._whisper_key(clip, prompt, timestamps, rescore, fallback)
        if key not in self._memo:
            if rescore is None:
                text = self.whisper.transcribe(clip.wave, prompt or None, timestamps=timestamps, fallback=fallback).text
            else:
                text = self._rescorer.with_config(rescore).best(self._nbest(clip, prompt))
            self._memo[key] = self.normalized(text)
        return self._memo[key]

    def written_again(self, clip: Clip, prompt: str, text: str, heard: Sequence[str],
                      early_stop: float) -> tuple[str, str]:
        """(prompt, text): ``text`` where it is whole: at least ``early_stop`` as many words as
        the CTC model ``heard``, no run of ``SKIPPED_WORDS`` of them left out, and no
        repetition loop; else the first of these that is: the clip written again with
        timestamps, then (a prompt's terms can make Whisper skip speech) unprompted, then,
        where that still loops, unprompted with Whisper's fallback to sampling. Where none
        is, the longest text without a loop. (Whisper base, LibriSpeech dev-clean chapters
        joined, 2026-12-05: one window wrote "you know" 35 times; another, its prompted texts
        stopping early, wrote "i'm sorry" 56 times unprompted.)"""
        def loops(written: str) -> bool:
            return compression_ratio(written) > MAX_COMPRESSION_RATIO

        def whole(written: str) -> bool:
            words = written.split()
            return (len(words) >= early_stop * len(heard) and not loops(written)
                    and longest_left_out(heard, words) < SKIPPED_WORDS)

        tries = [(prompt, text)]
        for again in [prompt, ""] if prompt else [""]:
            if whole(tries[-1][1]):
                return tries[-1]
            tries.append((again, self.text(clip, again, timestamps=True)))
        if loops(tries[-1][1]):  # (at temperature 0 sampling writes the same: only for a loop)
            tries.append(("", self.text(clip, "", timestamps=True, fallback=True)))
        if whole(tries[-1][1]):
            return tries[-1]
        unlooped = [t for t in tries if not loops(t[1])]
        return max(unlooped, key=lambda t: len(t[1].split())) if unlooped else tries[-1]

    def _nbest_key(self, clip: Clip, prompt: str) -> tuple:
        return ("nbest", self.whisper.name, clip.wave_key, prompt)  # (every weight setting shares them)

    def _nbest(self, clip: Clip, prompt: str) -> list[tuple[str, float]]:
        key = self._nbest_key(clip, prompt)
        if key not in self._memo:
            self._memo[key] = self.whisper.nbest(clip.wave, DEFAULT_NBEST, prompt or None)
        return self._memo[key]

    @property
    def _rescorer(self) -> NBestRescorer:
        """The CTC decoder's LM (already loaded; None without one) and the terms."""
        if "rescorer" not in self._memo:
            lm = self.ctc.beam.kenlm_model if self.ctc.beam is not None else None
            self._memo["rescorer"] = NBestRescorer(lm, self.vocabulary)
        return self._memo["rescorer"]

    def normalized(self, text: str) -> str:
        """Whisper's text in the CTC alphabet: normalized, and the words the alphabet
        cannot spell left out (the normalizer's alphabet can exceed the model's)."""
        return " ".join(w for w in normalize(text).split() if not self.ctc.alphabet.unknown_characters(w))


def digest(array: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(array, dtype=np.float32).tobytes(), digest_size=16).hexdigest()


def with_context(terms: str, before: str, words: int) -> str:
    """A window's prompt: its terms, then the last ``words`` words written before it (as
    Whisper's long-form decoding conditions each window on the text before)."""
    tail = " ".join(before.split()[-words:]) if words else ""
    return f"{terms}. {tail}" if terms and tail else terms or tail
