"""Recordings longer than one Whisper window in the two-pass decoder (decode/twopass.py):
cut in pauses into windows that cover every sample, then written window by window
(``LONG_FORM_WINDOWS``); or by Whisper's own long-form decoding, each window's words spotted
and judged, but the windows where the CTC model heard a term written window by window
(``LONG_FORM_TERM_WINDOWS``, the default); or by Whisper's own long-form decoding alone
(``LONG_FORM_WHISPER``).

    class TwoPass(LongRecordings): ...   # decode() sends each long recording to _decode_long
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Sequence

import numpy as np

from ..constants import SAMPLE_RATE
from .align import align_segments
from .greedy import Hypothesis, Word
from .twopass_config import LONG_FORM_TERM_WINDOWS, LONG_FORM_WHISPER, WHISPER_WINDOW_S
from .writer import Clip, digest

# a recording where the CTC model hears terms in more than this share of the windows is
# written window by window as LONG_FORM_WINDOWS does, without Whisper's long-form pass, whose
# words those windows would replace (medical CPU preset, 2026-12-07: terms heard in 31 of 31
# windows of Piper's test read as one dictation, 6 of 64 of three interviews, 0 of 12 of
# real-en-dev joined; the long-form pass made the dictation 2.64x Whisper alone's time)
TERM_DENSE_SHARE = 0.5


class LongRecordings:
    """The long-recording half of :class:`~speechtl.decode.twopass.TwoPass` (whose
    settings, memo, prompts, windows' hypotheses and spotting it uses)."""

    def _decode_long(self, wave: np.ndarray, logprobs: np.ndarray, frame_shift: float) -> Hypothesis:
        """A recording longer than ``WHISPER_WINDOW_S`` seconds, cut in pauses into windows
        that together cover all of it (data/vad.covering_windows: nothing is dropped, a short
        "yes" between turns is in some window), each prompted with the terms heard in it.
        Whisper writes a window without timestamps, as a short clip; where it wrote under
        ``EARLY_STOP_RATIO`` of the words the CTC model heard, it stopped early (after a turn,
        say) and the window is written again with timestamps, going on from its last one.
        tiny.en on four conversations (22 min): without timestamps 21.1% WER, always with
        them 6.8%, redone where it stopped early 6.7%. With ``context_words`` each prompt
        goes on with the text before (decode/twopass_config.WRITER_CONTEXT_WORDS: it helps
        Whisper base and costs tiny.en). With ``long_form`` ``LONG_FORM_TERM_WINDOWS`` only the
        windows where the CTC model heard a term are written so (:meth:`_term_windows`)."""
        if self.config.long_form == LONG_FORM_WHISPER:
            return self._whisper_long(wave, logprobs, frame_shift)
        spans, clips = self._windows(wave, logprobs, frame_shift)
        # the windows' CTC searches run together (in processes, before Whisper loads)
        prompts = self._prompts([c.logprobs for c in clips], [c.logprobs_key for c in clips], frame_shift)
        words: list[Word] = []
        if self.config.long_form == LONG_FORM_TERM_WINDOWS:
            windows = self._term_windows(wave, logprobs, spans, clips, prompts, frame_shift)
        else:
            windows = self._window_hypotheses(clips, prompts, frame_shift, context=self.config.context_words > 0)
        for (first, last), hyp in zip(spans, windows):
            if hyp.text and not hyp.words:  # not alignable: the window's words share its span
                hyp = Hypothesis(hyp.text, tuple(Word(w, 0.0, round((last - first) * frame_shift, 3))
                                                 for w in hyp.text.split()))
            offset = first * frame_shift
            words += [Word(w.word, round(w.start + offset, 3), round(w.end + offset, 3)) for w in hyp.words]
        return Hypothesis(" ".join(w.word for w in words), tuple(words))

    def _term_windows(self, wave: np.ndarray, logprobs: np.ndarray, spans: Sequence[tuple[int, int]],
                      clips: Sequence[Clip], prompts: Sequence[str], frame_shift: float) -> list[Hypothesis]:
        """``LONG_FORM_TERM_WINDOWS``: Whisper's own long-form words, spotted, except in the
        windows where the CTC model's search heard a term: those written prompted, as in
        ``LONG_FORM_WINDOWS`` (each after the text before it, with ``context_words``). Where
        it heard terms in more than ``TERM_DENSE_SHARE`` of the windows, every window is."""
        searched = self._ctc([c.logprobs_key for c in clips], [c.logprobs for c in clips], frame_shift)
        heard = [i for i, hyp in enumerate(searched) if self.vocabulary.written_in(hyp.text)]
        if len(heard) > TERM_DENSE_SHARE * len(clips):  # dictation: no long-form pass to overwrite
            return list(self._window_hypotheses(clips, prompts, frame_shift, context=self.config.context_words > 0))
        hyps = list(self._spotted_windows(wave, logprobs, spans, clips, prompts, frame_shift))
        if not self.config.context_words:  # (written together, in batches)
            written = self._window_hypotheses([clips[i] for i in heard], [prompts[i] for i in heard], frame_shift)
            hyps_of = dict(zip(heard, written))
            return [hyps_of.get(i, hyp) for i, hyp in enumerate(hyps)]
        for i in heard:
            before = hyps[i - 1].text if i else ""
            hyps[i] = next(self._window_hypotheses([clips[i]], [prompts[i]], frame_shift, context=True, before=before))
        return hyps

    def _spotted_windows(self, wave: np.ndarray, logprobs: np.ndarray, spans: Sequence[tuple[int, int]],
                         clips: Sequence[Clip], prompts: Sequence[str], frame_shift: float):
        """Whisper's own long-form words, each in the window its middle falls in, spotted and
        judged there under the window's terms."""
        cuts = [first * frame_shift for first, _ in spans[1:]]
        inside: list[list[str]] = [[] for _ in spans]
        for w in self._whisper_long(wave, logprobs, frame_shift).words:
            inside[bisect_right(cuts, (w.start + w.end) / 2)].append(w.word)
        for clip, prompt, words in zip(clips, prompts, inside):
            yield self._finish(clip, " ".join(words), prompt, frame_shift)

    def _whisper_long(self, wave: np.ndarray, logprobs: np.ndarray, frame_shift: float) -> Hypothesis:
        """Whisper's own long-form decoding, its segments' words timed on the CTC frames
        (memoized: Whisper alone's row and the term windows read the same words)."""
        writer = self._general  # (the writer of windows without terms, ``whisper`` unless a general one is set)
        key = ("whisper-long", writer.whisper.name, digest(wave), len(logprobs), frame_shift)
        if key not in self._memo:
            segments = [(s.start, s.end, writer.normalized(s.text)) for s in writer.whisper.long_segments(wave)]
            words = align_segments(logprobs, segments, self.ctc.alphabet, frame_shift)
            self._memo[key] = Hypothesis(" ".join(w.word for w in words), tuple(words))
        return self._memo[key]

    def _windows(self, wave: np.ndarray, logprobs: np.ndarray,
                 frame_shift: float) -> tuple[list[tuple[int, int]], list[Clip]]:
        """A long recording's windows: their frame spans and clips (one when it fits one window)."""
        from ..data.vad import covering_windows

        hop = frame_shift * SAMPLE_RATE
        key = ("windows", digest(wave), len(logprobs), frame_shift)  # (the VAD runs once per recording)
        if key not in self._memo:
            self._memo[key] = [min(len(logprobs), round(w.end_s / frame_shift))
                               for w in covering_windows(wave, WHISPER_WINDOW_S)[:-1]]
        cuts = [0] + self._memo[key] + [len(logprobs)]
        spans = [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]
        clips = [Clip(wave[round(a * hop): len(wave) if b == len(logprobs) else round(b * hop)],
                       np.asarray(logprobs[a:b], dtype=np.float32)) for a, b in spans]
        return spans, clips
