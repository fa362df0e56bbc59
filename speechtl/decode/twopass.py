"""Two-pass decoding: Whisper writes the English, the adapted CTC model supplies the terms.

A CTC model adapted on a few hours of speech knows the domain's terms but hears new
voices poorly; Whisper hears voices well but misspells terms it was never prompted
with ("rehearing on bunk"), and its prompt holds a few hundred tokens, not a whole
vocabulary. So, per utterance:

1. the CTC model's own decoding (beam search, its LM and terms) gives a hypothesis, and
   :meth:`TermSpotter.heard` ranks the terms its posteriors support most;
2. Whisper transcribes with the ``top_terms`` best of them as its prompt;
3. Whisper's words are aligned to the CTC frames (:func:`align_words`) and term spotting
   proposes to replace a span where a term scores ``spot_threshold`` or more per character
   above Whisper's words (None: no spotting) or is spelled alike (``near_spelling``);
4. with ``whisper_margin`` set, Whisper judges each proposal: the changed sentence may be
   at most ``-whisper_margin`` less likely under Whisper (same prompt) than its own. The
   CTC model hears the letters, Whisper knows which sentence is English: a term wins
   where both allow it ("rehearing on bunk" -> "rehearing en banc"). So every term may be
   proposed; without the judge only the prompted ones are (on general speech every span
   would otherwise be a chance to insert one of hundreds of terms).

    two_pass = TwoPass(decoding, WhisperRecognizer("whisper-tiny.en"), vocabulary)
    hyps = two_pass.decode(logprobs, bundle.frame_shift, waves)
    # an adapted writer, the original where the adapted one's text holds no term
    two_pass = TwoPass(decoding, WhisperRecognizer("runs/legal/model/best/writer"), vocabulary,
                       general=WhisperRecognizer("whisper-tiny.en"))
    two_pass = load_two_pass(decoding, "runs/legal/model/best")   # as a recipe tuned it (decoders.py)

With ``top_terms=0`` and no spotting it is Whisper alone: the baseline row.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from ..constants import SAMPLE_RATE
from ..vocabulary import Vocabulary
from .align import align_words, frame_words
from .base import Recognizer
from .greedy import Hypothesis, Word, greedy_decode
from .packing import Packed, join, pack, split
from .policy import Decoding
from .spotting import FrameWord, Substitution, TermSpotter, near_spelled
from .writer import Clip, Writer, digest, with_context
from .twopass_config import WHISPER_WINDOW_S, TwoPassConfig
from .twopass_long import LongRecordings

# a long recording's window where Whisper wrote fewer words than this share of the CTC
# model's is decoded again with timestamps (Whisper stopped early; see _decode_long)
EARLY_STOP_RATIO = 0.9
# the same for a short clip, lower: prompted with terms falsely heard in real English,
# tiny.en wrote 1 of 16 and 6 of 18 words of two LJ Speech clips (legal fresh run 2026-12-05:
# real-en-dev 8.82% vs 5.06% alone). Redone below 0.9: 4.77%, legal dev 16.98 -> 18.11%
# (synthetic voices' CTC spelling splits words); below 0.7: 5.06%, 16.77%, test 13.96 -> 13.73%
CLIP_EARLY_STOP_RATIO = 0.7
# clips (or a long recording's windows) transcribed, spotted and judged together: the judge
# scores a clip's proposals while Whisper still holds its encoder output (the writers the
# decoders load keep 32, decoders.WHISPER_ENCODER_CACHE). Judged after all of a set's clips,
# 50 of the legal test's 134 were encoded twice (52 s of the two-pass's 293 s).
CHUNK_CLIPS = 16


@dataclass
class TwoPass(LongRecordings):
    """Whisper prompted by the terms the CTC model hears, then CTC term spotting."""

    ctc: Decoding
    whisper: Recognizer
    vocabulary: Vocabulary
    config: TwoPassConfig = TwoPassConfig()
    _memo: dict = field(default_factory=dict, repr=False)  # Whisper's texts and the prompts, by input digest
    # the writer of the windows where ``whisper``'s finished text holds no term (None: ``whisper``
    # writes every window). A writer adapted on the domain's audio writes the domain better and
    # real English worse (README: 0.3-1.3 points on unseen LibriSpeech speakers); speech where
    # it writes no term, real English above all, is then written as the original writes it
    general: Recognizer | None = None

    def __post_init__(self) -> None:
        # every span is a candidate: Whisper writes real words, so "an unknown word" is no sign of a missed term
        self._spotter = TermSpotter(self.vocabulary, self.ctc.alphabet)
        self._terms = {" ".join(t.words): t for t in self.vocabulary}
        self._writer = Writer(self.whisper, self.ctc, self.vocabulary, self.config.rescore, self._memo)
        self._general = self._writer if self.general is None else \
            Writer(self.general, self.ctc, self.vocabulary, self.config.rescore, self._memo)

    @property
    def name(self) -> str:
        return "whisper" if self.config.top_terms == 0 and self.config.spot_threshold is None else "two-pass"

    def with_config(self, config: TwoPassConfig | None = None, **changes) -> "TwoPass":
        """Same models and the same memo of Whisper's outputs, other settings: ``config``
        (default: these), with ``changes``."""
        return TwoPass(self.ctc, self.whisper, self.vocabulary, replace(config or self.config, **changes), self._memo,
                       self.general)

    def with_changes(self, **changes) -> "TwoPass":
        """:meth:`with_config` for the tuner (decode/tune.py); ``config=`` replaces the settings whole."""
        return self.with_config(changes.pop("config", None), **changes)

    def with_whisper(self, whisper: Recognizer, general: Recognizer | None = None) -> "TwoPass":
        """Another writer over the same CTC model, terms, settings and memo (its texts are
        kept apart by the writer's name; the CTC searches and alignments are shared), and
        ``general`` for the windows where its text holds no term (None: none apart)."""
        return TwoPass(self.ctc, whisper, self.vocabulary, self.config, self._memo, general)

    def prompts(self, logprobs: Sequence[np.ndarray], frame_shift: float) -> list[str]:
        """Each utterance's Whisper prompt: the terms its CTC posteriors support most."""
        return self._prompts(logprobs, [digest(lp) for lp in logprobs], frame_shift)

    def _prompts(self, logprobs: Sequence[np.ndarray], digests: Sequence[str], frame_shift: float) -> list[str]:
        if self.config.top_terms == 0 or not len(self._spotter):
            return [""] * len(logprobs)
        keys = [("prompt", d, self.config.top_terms, self.config.prompt_min_gain) for d in digests]
        min_gain = -np.inf if self.config.prompt_min_gain is None else self.config.prompt_min_gain
        todo = [i for i, key in enumerate(keys) if key not in self._memo]
        for i, hyp in zip(todo, self._ctc([digests[i] for i in todo], [logprobs[i] for i in todo], frame_shift)):
            words = frame_words(hyp.words, frame_shift)
            self._memo[keys[i]] = ", ".join(self._spotter.heard(np.asarray(logprobs[i]), words, self.config.top_terms,
                                                                    min_gain))
        return [self._memo[key] for key in keys]

    def ctc_hypotheses(self, logprobs: Sequence[np.ndarray], frame_shift: float) -> list[Hypothesis]:
        """The CTC decoding's hypotheses, memoized: the prompts of every setting start from
        them. Called before Whisper loads, the beam searches use every core
        (``ctc.processes``); forked once Whisper's threads run, workers can hang."""
        return self._ctc([digest(lp) for lp in logprobs], logprobs, frame_shift)

    def _ctc(self, digests: Sequence[str], logprobs: Sequence[np.ndarray], frame_shift: float) -> list[Hypothesis]:
        keys = [("ctc", d) for d in digests]
        todo = [i for i, key in enumerate(keys) if key not in self._memo]
        if todo:
            loaded = self.whisper.loaded or (self.general is not None and self.general.loaded)
            ctc = self.ctc if not loaded else self.ctc.with_processes(None)
            for i, hyp in zip(todo, ctc.decode([logprobs[i] for i in todo], frame_shift)):
                self._memo[keys[i]] = hyp
        return [self._memo[key] for key in keys]

    @property
    def needs_audio(self) -> bool:
        return True

    def decode(self, logprobs: Sequence[np.ndarray], frame_shift: float,
               waves: Sequence[np.ndarray] | None = None) -> list[Hypothesis]:
        """One hypothesis per utterance of any length, from the CTC model's log-probabilities
        and the 16 kHz mono ``waves`` (required). Utterances of one Whisper window are
        decoded together; longer recordings window by window (:meth:`_decode_long`)."""
        if waves is None or len(waves) != len(logprobs):
            raise ValueError("two-pass decoding needs each utterance's audio (waves) beside its log-probabilities")
        short = [i for i, w in enumerate(waves) if len(w) <= WHISPER_WINDOW_S * SAMPLE_RATE]
        decode_short = self._decode_packed if self.config.pack_clips else self._decode_short
        out = dict(zip(short, decode_short([waves[i] for i in short], [logprobs[i] for i in short], frame_shift)))
        for i in range(len(waves)):
            if i not in out:
                out[i] = self._decode_long(waves[i], np.asarray(logprobs[i], dtype=np.float32), frame_shift)
        return [out[i] for i in range(len(waves))]

    def texts(self, logprobs: Sequence[np.ndarray], frame_shift: float,
              waves: Sequence[np.ndarray] | None = None) -> list[str]:
        return [h.text for h in self.decode(logprobs, frame_shift, waves)]

    def search_first(self, logprobs: Sequence[np.ndarray], frame_shift: float, waves: Sequence[np.ndarray]) -> None:
        """Every CTC search :meth:`decode` will need for these utterances (each short one
        whole, each long one's windows), in one batch, memoized. Called before Whisper
        loads, the searches use every core (``ctc.processes``); forked once Whisper's
        threads run, workers can hang."""
        short = [i for i, w in enumerate(waves) if len(w) <= WHISPER_WINDOW_S * SAMPLE_RATE]
        if self.config.pack_clips:  # the packed windows' searches (clips in a window that cannot be aligned: later)
            clips = [Clip(p.wave, p.logprobs) for p in self._packs([waves[i] for i in short],
                                                                    [logprobs[i] for i in short], frame_shift)[1]]
        else:
            clips = [Clip(waves[i], np.asarray(logprobs[i], dtype=np.float32)) for i in short]
        for i in sorted(set(range(len(waves))) - set(short)):
            clips += self._windows(waves[i], logprobs[i], frame_shift)[1]
        self._ctc([c.logprobs_key for c in clips], [c.logprobs for c in clips], frame_shift)

    def _decode_short(self, waves: Sequence[np.ndarray], logprobs: Sequence[np.ndarray],
                      frame_shift: float) -> list[Hypothesis]:
        """Clips of one window each, decoded as a long recording's windows are (a clip where
        Whisper stopped early is written again, at ``CLIP_EARLY_STOP_RATIO``)."""
        clips = [Clip(wave, np.asarray(lp, dtype=np.float32)) for wave, lp in zip(waves, logprobs)]
        # every prompt first: the CTC searches run together (in processes, before Whisper loads)
        prompts = self._prompts([c.logprobs for c in clips], [c.logprobs_key for c in clips], frame_shift)
        return list(self._window_hypotheses(clips, prompts, frame_shift, CLIP_EARLY_STOP_RATIO))

    def _decode_packed(self, waves: Sequence[np.ndarray], logprobs: Sequence[np.ndarray],
                       frame_shift: float) -> list[Hypothesis]:
        """Short clips packed into windows (decode/packing.py), decoded as a long recording's
        windows are, each clip's words given back by their frames. A window whose text cannot
        be aligned has its clips decoded one by one."""
        groups, packs = self._packs(waves, logprobs, frame_shift)
        clips = [Clip(p.wave, p.logprobs) for p in packs]
        prompts = self._prompts([c.logprobs for c in clips], [c.logprobs_key for c in clips], frame_shift)
        out: dict[int, Hypothesis] = {}
        for group, packed, hyp in zip(groups, packs, self._window_hypotheses(clips, prompts, frame_shift)):
            if hyp.text and not hyp.words:
                hyps = self._decode_short([waves[i] for i in group], [logprobs[i] for i in group], frame_shift)
            else:
                hyps = split(hyp.words, packed, frame_shift)
            out.update(zip(group, hyps))
        return [out[i] for i in range(len(waves))]

    def _packs(self, waves: Sequence[np.ndarray], logprobs: Sequence[np.ndarray],
               frame_shift: float) -> tuple[list[list[int]], list[Packed]]:
        groups = pack([len(w) / SAMPLE_RATE for w in waves], WHISPER_WINDOW_S)
        ids = self.ctc.alphabet.blank_id, self.ctc.alphabet.delimiter_id
        return groups, [join([waves[i] for i in g], [logprobs[i] for i in g], frame_shift, *ids) for g in groups]

    def _window_hypotheses(self, clips: Sequence[Clip], prompts: Sequence[str], frame_shift: float,
                           early_stop: float = EARLY_STOP_RATIO, context: bool = False, before: str = ""):
        """Each window's hypothesis (words timed from its start): Whisper's text, written
        again where it wrote under ``early_stop`` of the words the CTC model heard, left a run
        of them out or looped (``Writer.written_again``), spotted and judged; with ``context``,
        in turn, each prompted with the text before it too (the first with ``before``)."""
        words = self.config.context_words if context else 0
        texts = self._window_texts(clips, prompts) if not words else ((c, t, None) for c, t in zip(clips, prompts))
        for clip, terms, text in texts:
            prompt = with_context(terms, before, words)
            # the CTC model's own spelling, not its LM search (which merges letter soup into fewer words)
            heard = [w.word for w in greedy_decode(clip.logprobs, self.ctc.alphabet, frame_shift).words]
            hyp = self._written(self._writer, clip, prompt, terms, text, heard, frame_shift, early_stop)
            if self.general is not None and not self.vocabulary.written_in(hyp.text):
                hyp = self._written(self._general, clip, prompt, terms, None, heard, frame_shift, early_stop)
            before = hyp.text
            yield hyp

    def _written(self, writer: Writer, clip: Clip, prompt: str, terms: str, text: str | None,
                 heard: Sequence[str], frame_shift: float, early_stop: float) -> Hypothesis:
        """A window's hypothesis from ``writer``: its ``text`` under ``prompt`` (None: written
        now), written again where it fell short of the words ``heard``, spotted and judged."""
        text = writer.texts([clip], [prompt])[0] if text is None else text
        prompt, text = writer.written_again(clip, prompt, text, heard, early_stop)
        return self._finish(clip, text, prompt, frame_shift, terms if prompt else "", writer)

    def _window_texts(self, clips: Sequence[Clip], prompts: Sequence[str]):
        """Each window's clip, prompt and Whisper's text, transcribed ``CHUNK_CLIPS`` at a
        time, each chunk's yielded before the next is transcribed (its redos and judge find
        the encoder outputs still kept)."""
        for b in range(0, len(clips), CHUNK_CLIPS):
            part = clips[b:b + CHUNK_CLIPS], prompts[b:b + CHUNK_CLIPS]
            yield from zip(*part, self._writer.texts(*part))

    def _finish(self, clip: Clip, text: str, prompt: str, frame_shift: float, terms: str | None = None,
                writer: Writer | None = None) -> Hypothesis:
        """Whisper's ``text`` (written under ``prompt``: ``terms``, and maybe the text before,
        by ``writer``: default ``general``'s) aligned to the CTC frames, spotted and judged
        by the writer that wrote it."""
        key = ("aligned", clip.logprobs_key, text)  # (settings tried on one dev set share the alignments)
        if key not in self._memo:
            self._memo[key] = align_words(clip.logprobs, text, self.ctc.alphabet) if text else []
        aligned = self._memo[key]
        if aligned is None:  # more letters than frames: keep Whisper's words, without times
            return Hypothesis(text, ())
        if self.config.spot_threshold is not None and len(self._spotter):
            subs = [s for s in self._proposals(clip, text, aligned, prompt if terms is None else terms) if s.gain >=
                    self.config.spot_threshold or near_spelled(aligned, s, self.config.judged_near_spelling)]
            if self.config.whisper_margin is not None:
                subs = self._judged(clip, prompt, [w for w, _ in aligned], subs, (writer or self._general).whisper)
            aligned = TermSpotter.apply(aligned, subs)
        words = tuple(Word(w, round(s * frame_shift, 3), round(e * frame_shift, 3)) for w, (s, e) in aligned)
        return Hypothesis(" ".join(w.word for w in words), words)

    def _proposals(self, clip: Clip, text: str, aligned: Sequence[FrameWord], prompt: str) -> list[Substitution]:
        """Every substitution term spotting considers over Whisper's ``text`` (``aligned``),
        with its acoustic gain (memoized: settings that differ only in threshold or margin
        share them)."""
        # every term when Whisper judges: it keeps them out of general speech; alone, the
        # CTC gain may only pick among the prompted terms
        only_prompted = bool(self.config.top_terms) and self.config.whisper_margin is None
        key = ("proposals", clip.logprobs_key, text, prompt if only_prompted else None)
        if key not in self._memo:
            spotter = self._spotter
            if only_prompted:
                spotter = TermSpotter(Vocabulary([self._terms[t] for t in prompt.split(", ") if t in self._terms]),
                                      self.ctc.alphabet)
            self._memo[key] = spotter.substitutions(clip.logprobs, aligned, threshold=-np.inf)
        return self._memo[key]

    def _judged(self, clip: Clip, prompt: str, words: list[str], subs: list[Substitution],
                whisper: Recognizer) -> list[Substitution]:
        """The substitutions ``whisper`` (the writer of the text) accepts, each with its gain
        in its log-probability (under the prompt it wrote its own text with)."""
        if not subs or len(clip.wave) > WHISPER_WINDOW_S * SAMPLE_RATE:
            return []  # (_decode_long's windows are always short enough)
        texts = [" ".join(words)] + [" ".join(words[:s.first] + s.term.split() + words[s.last:]) for s in subs]
        key = (whisper.name, clip.wave_key)
        todo = [t for t in dict.fromkeys(texts) if ("score", key, prompt, t) not in self._memo]
        if todo:
            for t, logprob in zip(todo, whisper.score(clip.wave, todo, prompt or None)):
                self._memo[("score", key, prompt, t)] = logprob
        own, *changed = (self._memo[("score", key, prompt, t)] for t in texts)
        return [replace(s, gain=logprob - own) for s, logprob in zip(subs, changed)
                if logprob - own >= self.config.whisper_margin]  # type: ignore[operator]
