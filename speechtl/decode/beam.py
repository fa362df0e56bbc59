"""Beam search over CTC output with a KenLM n-gram LM and domain-term boosting.

    decoder = BeamDecoder(alphabet, lm_path="lm.arpa", vocabulary=Vocabulary.load("terms.csv"))
    hyp = decoder.decode(logprobs, frame_shift=0.02)

The search is pyctcdecode's (pinned at 0.5). Term boosting is speechtl's own
:class:`TermBooster`: pyctcdecode's hotword scorer matches a regular expression of
every hotword against the whole hypothesis at each step, so its cost grows with the
list; the booster walks a word trie incrementally, so 500 terms cost what 5 do.
It also boosts a multi-word term only as a phrase: in "motion to dismiss", "to"
earns credit only after "motion", and the credit is withdrawn if the phrase breaks.

Saved next to a model (:meth:`BeamDecoder.save`) in the layout
``Wav2Vec2ProcessorWithLM`` reads: ``alphabet.json`` and ``language_model/``
(``attrs.json``, ``unigrams.txt``, the ARPA file), plus speechtl's ``decoding.json``
and ``terms.csv``.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import multiprocessing
import os
import shutil
import weakref
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..alphabet import Alphabet
from ..constants import DEFAULT_HOTWORD_WEIGHT
from ..errors import SpeechtlError
from ..fileio import atomic_dir, read_json, recover_dir, write_json, write_text
from ..vocabulary import Vocabulary
from .booster import TermBooster
from .greedy import Hypothesis, Word
from .spotting import TermSpotter

# pyctcdecode warns about small unigram lists, normal for domain term lists.
logging.getLogger("pyctcdecode").setLevel(logging.ERROR)

DEFAULT_BEAM_WIDTH = 32
DEFAULT_ALPHA = 0.5  # LM weight
DEFAULT_BETA = 1.0  # word insertion bonus
DEFAULT_UNK_SCORE_OFFSET = -10.0  # penalty for a word neither the LM nor the terms know
DEFAULT_BEAM_PRUNE_LOGP = -10.0
DEFAULT_TOKEN_MIN_LOGP = -5.0
MIN_TOKEN_CLIP_P = 1e-15
DECODING_FILE = "decoding.json"
TERMS_FILE = "terms.csv"
LM_DIR = "language_model"


@dataclass(frozen=True)
class BeamConfig:
    beam_width: int = DEFAULT_BEAM_WIDTH
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    hotword_weight: float = DEFAULT_HOTWORD_WEIGHT
    unk_score_offset: float = DEFAULT_UNK_SCORE_OFFSET
    beam_prune_logp: float = DEFAULT_BEAM_PRUNE_LOGP
    token_min_logp: float = DEFAULT_TOKEN_MIN_LOGP
    spot_threshold: float | None = None  # term spotting after the search (spotting.py); None: off

    def __post_init__(self) -> None:
        if self.beam_width < 1:
            raise SpeechtlError(f"beam width must be at least 1, not {self.beam_width}")


class BeamDecoder:
    """CTC beam search; with ``lm_path`` an n-gram LM, with ``vocabulary`` term boosting."""

    def __init__(self, alphabet: Alphabet, lm_path: str | os.PathLike[str] | None = None,
                 vocabulary: Vocabulary | None = None, config: BeamConfig = BeamConfig(),
                 unigrams: Sequence[str] | None = None, _kenlm_model=None, _same_lm=None) -> None:
        from pyctcdecode.alphabet import Alphabet as PyAlphabet
        from pyctcdecode.decoder import BeamSearchDecoderCTC

        self.alphabet = alphabet
        self.config = config
        self.vocabulary = vocabulary or Vocabulary()
        self.lm_path = Path(lm_path) if lm_path else None
        self._kenlm = _kenlm_model
        if self.lm_path is not None and self._kenlm is None:
            self._kenlm = load_kenlm(self.lm_path)
        base_unigrams = list(unigrams) if unigrams is not None else (
            arpa_unigrams(self.lm_path) if self.lm_path and self.lm_path.suffix == ".arpa" else [])
        self._base_unigrams = tuple(base_unigrams)  # the LM's own words: kept whatever the terms
        self.unigrams = sorted(set(base_unigrams) | self.vocabulary.unigrams())
        self._decoder = BeamSearchDecoderCTC(PyAlphabet.build_alphabet(list(alphabet.symbols)),
                                             self._language_model(_same_lm))
        # pyctcdecode keeps every decoder's LM in a class-level dict until cleanup(): without
        # this, each tuned setting's LM (and its trie) would live as long as the process
        weakref.finalize(self, self._decoder.cleanup)
        self._booster = TermBooster(self.vocabulary.phrases(), config.hotword_weight)
        self._spotter = (TermSpotter(self.vocabulary, alphabet, self.unigrams)
                         if config.spot_threshold is not None and len(self.vocabulary) else None)

    def _language_model(self, same: "BeamDecoder | None" = None):
        """pyctcdecode's LM. Its character trie of the unigrams takes seconds to build for a
        large word list; a decoder that differs from ``same`` only in weights shares it."""
        if self._kenlm is None:
            return None
        from pyctcdecode.language_model import LanguageModel

        if same is not None and same._kenlm is self._kenlm and same.unigrams == self.unigrams:
            lm = copy.copy(same._decoder._language_model)  # shares the unigram set and trie, never changed
            lm.alpha, lm.beta, lm.unk_score_offset = self.config.alpha, self.config.beta, self.config.unk_score_offset
            return lm
        return LanguageModel(self._kenlm, self.unigrams or None, alpha=self.config.alpha, beta=self.config.beta,
                             unk_score_offset=self.config.unk_score_offset)

    @property
    def has_lm(self) -> bool:
        return self._kenlm is not None

    @property
    def kenlm_model(self):
        """The loaded KenLM model (None without an LM): for others that score text with it."""
        return self._kenlm

    def with_changes(self, vocabulary: Vocabulary | None = None, **config_changes) -> "BeamDecoder":
        """A decoder with other terms or settings, sharing the loaded LM (no retraining, no reload)."""
        return BeamDecoder(self.alphabet, self.lm_path, self.vocabulary if vocabulary is None else vocabulary,
                           replace(self.config, **config_changes), self._base_unigrams, _kenlm_model=self._kenlm,
                           _same_lm=self)

    def decode(self, logprobs: np.ndarray, frame_shift: float, time_offset: float = 0.0) -> Hypothesis:
        """Best hypothesis for one utterance's log-probabilities (frames, vocab)."""
        logits = np.clip(np.asarray(logprobs, dtype=np.float32), math.log(MIN_TOKEN_CLIP_P), 0)
        self._booster.reset()
        beams = self._decoder._decode_logits(  # pyctcdecode 0.5's search, with our booster
            logits, beam_width=self.config.beam_width, beam_prune_logp=self.config.beam_prune_logp,
            token_min_logp=self.config.token_min_logp, prune_history=False, hotword_scorer=self._booster,
            lm_start_state=None)
        _, _, word_frames, _, _ = beams[0]
        if self._spotter is not None:
            word_frames = self._spotter.spot(logits, word_frames, self.config.spot_threshold)
        words = tuple(Word(w, round(time_offset + s * frame_shift, 3), round(time_offset + e * frame_shift, 3))
                      for w, (s, e) in word_frames if w and "⁇" not in w)
        return Hypothesis(" ".join(w.word for w in words), words)

    def decode_batch(self, logprobs: Sequence[np.ndarray], frame_shift: float, processes: int | None = None) -> list[Hypothesis]:
        """Decode many utterances; ``processes`` > 1 spreads them over forked workers."""
        if not processes or processes < 2 or len(logprobs) < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return [self.decode(lp, frame_shift) for lp in logprobs]
        global _FORKED
        _FORKED = (self, frame_shift)  # children inherit it through fork: the LM is not copied or pickled
        try:
            with multiprocessing.get_context("fork").Pool(processes, initializer=_one_thread) as pool:
                return pool.map(_decode_in_child, logprobs, chunksize=max(1, len(logprobs) // (4 * processes)))
        finally:
            _FORKED = None

    def save(self, model_dir: str | os.PathLike[str], extra: dict | None = None) -> None:
        """Write the decoder next to a model, in Wav2Vec2ProcessorWithLM's layout."""
        model_dir = Path(model_dir)
        if self._kenlm is None or self.lm_path is None:
            raise SpeechtlError("only a decoder with an LM can be saved next to a model")
        # the new language_model/ is complete before the old one moves aside (atomic_dir)
        with atomic_dir(model_dir / LM_DIR) as tmp:
            shutil.copy(self.lm_path, tmp / self.lm_path.name)
            (tmp / "unigrams.txt").write_text("".join(u + "\n" for u in self.unigrams), encoding="utf-8")
            (tmp / "attrs.json").write_text(json.dumps({
                "alpha": self.config.alpha, "beta": self.config.beta,
                "unk_score_offset": self.config.unk_score_offset, "score_boundary": True}), encoding="utf-8")
        write_text(model_dir / "alphabet.json", self._decoder._alphabet.dumps())
        write_json(model_dir / DECODING_FILE, {"config": asdict(self.config), **(extra or {})})
        self.vocabulary.save(model_dir / TERMS_FILE)

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str], vocabulary: Vocabulary | None = None) -> "BeamDecoder | None":
        """The decoder saved next to a model, or None if it has none."""
        model_dir = Path(model_dir)
        lm_dir = model_dir / LM_DIR
        recover_dir(lm_dir)
        if not lm_dir.is_dir():
            return None
        lm_files = [p for p in lm_dir.iterdir() if p.suffix in (".arpa", ".bin", ".binary")]
        if len(lm_files) != 1:
            raise SpeechtlError(f"{lm_dir}: expected one .arpa or .bin file, found {len(lm_files)}")
        if not (lm_dir / "attrs.json").is_file():
            raise SpeechtlError(f"{lm_dir}: attrs.json is missing; attach the LM again (speechtl build-lm --attach-to)")
        attrs = read_json(lm_dir / "attrs.json", "LM settings")
        saved = read_json(model_dir / DECODING_FILE, "decoding settings") if (model_dir / DECODING_FILE).is_file() else {}
        try:
            config = BeamConfig(**{**(saved.get("config") or {}), "alpha": float(attrs["alpha"]),
                                   "beta": float(attrs["beta"]), "unk_score_offset": float(attrs["unk_score_offset"])})
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SpeechtlError(f"{lm_dir}: attrs.json or {DECODING_FILE} lacks or garbles a setting ({exc}); "
                                f"attach the LM again (speechtl build-lm --attach-to)") from None
        terms = Vocabulary.load(model_dir / TERMS_FILE) if (model_dir / TERMS_FILE).is_file() else Vocabulary()
        if vocabulary is not None:
            terms = terms.merge(vocabulary)
        # the LM's own words; a word only the terms brought in goes when the terms do
        if lm_files[0].suffix == ".arpa":
            unigrams = arpa_unigrams(lm_files[0])
        else:
            term_words = terms.unigrams()
            unigrams = [u for u in (lm_dir / "unigrams.txt").read_text(encoding="utf-8").split() if u not in term_words]
        return cls(Alphabet.load(model_dir), lm_files[0], terms, config, unigrams)


def decode_processes() -> int:
    """Beam-search workers for batch decoding: one per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


_FORKED: tuple[BeamDecoder, float] | None = None


def _one_thread() -> None:
    """In a forked worker: torch on one thread. The parent's OpenMP pool does not survive
    the fork, and the first parallel torch call (term spotting's ctc_loss) would wait
    for it forever."""
    import torch

    torch.set_num_threads(1)


def _decode_in_child(logprobs: np.ndarray) -> Hypothesis:
    decoder, frame_shift = _FORKED  # type: ignore[misc]
    return decoder.decode(logprobs, frame_shift)


def load_kenlm(path: Path):
    try:
        import kenlm
    except ImportError:
        raise SpeechtlError("LM decoding needs the kenlm module: pip install ufal.kenlm (or kenlm)") from None
    if not path.is_file():
        raise SpeechtlError(f"{path}: language model not found")
    try:
        return kenlm.Model(str(path))
    except (OSError, RuntimeError) as exc:
        raise SpeechtlError(f"{path}: not a KenLM-readable language model ({str(exc).splitlines()[0][:200]})") from None


def arpa_unigrams(path: str | os.PathLike[str]) -> list[str]:
    """The words of an ARPA file's 1-gram section, without <s>, </s> and <unk>."""
    words = []
    with open(path, encoding="utf-8") as f:
        in_unigrams = False
        for line in f:
            line = line.strip()
            if line == "\\1-grams:":
                in_unigrams = True
                continue
            if in_unigrams:
                if not line or line.startswith("\\"):
                    break
                word = line.split("\t")[1] if "\t" in line else line.split()[1]
                if word not in ("<s>", "</s>", "<unk>"):
                    words.append(word)
    return words
