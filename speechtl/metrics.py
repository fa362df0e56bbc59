"""WER and CER on normalized text, per utterance and per corpus, and results files.

One core function, :func:`score_utterance`; :func:`score` sums its counts over a
corpus; :func:`write_results` writes icefall-style files:

    recogs-{set}-{method}.txt      ref/hyp word lists per utterance
    errs-{set}-{method}.txt        %WER, error counts, aligned utterances, confusions
    wer-summary-{set}-{method}.txt method and WER
    results-{set}-{method}.json    everything above, machine-readable
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import jiwer

from .fileio import write_json, write_text
from .text import normalize


@dataclass(frozen=True)
class ErrorCounts:
    substitutions: int
    deletions: int
    insertions: int
    ref_len: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors per reference token. With an empty reference: 0.0 if the
        hypothesis is empty too, else 1.0 (every token is an insertion)."""
        if self.ref_len == 0:
            return 0.0 if self.errors == 0 else 1.0
        return self.errors / self.ref_len

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(self.substitutions + other.substitutions, self.deletions + other.deletions,
                           self.insertions + other.insertions, self.ref_len + other.ref_len)


ZERO = ErrorCounts(0, 0, 0, 0)
EPS = "*"


@dataclass(frozen=True)
class UtteranceScore:
    id: str
    ref: str
    hyp: str
    words: ErrorCounts
    chars: ErrorCounts
    alignment: tuple[tuple[str, str], ...]  # (ref word, hyp word); EPS marks a gap


@dataclass(frozen=True)
class CorpusScore:
    utterances: tuple[UtteranceScore, ...]
    words: ErrorCounts
    chars: ErrorCounts

    @property
    def wer(self) -> float:
        return self.words.rate

    @property
    def cer(self) -> float:
        return self.chars.rate


def score_utterance(utt_id: str, ref: str, hyp: str) -> UtteranceScore:
    """Align normalized ``ref`` and ``hyp``; count word and character errors."""
    ref, hyp = normalize(ref), normalize(hyp)
    if not ref:
        n = len(hyp.split())
        return UtteranceScore(utt_id, ref, hyp, ErrorCounts(0, 0, n, 0), ErrorCounts(0, 0, len(hyp), 0),
                              tuple((EPS, w) for w in hyp.split()))
    words = jiwer.process_words(ref, hyp)
    chars = jiwer.process_characters(ref, hyp)
    return UtteranceScore(
        utt_id, ref, hyp,
        ErrorCounts(words.substitutions, words.deletions, words.insertions, len(ref.split())),
        ErrorCounts(chars.substitutions, chars.deletions, chars.insertions, len(ref)),
        _pairs(ref.split(), hyp.split(), words.alignments[0]),
    )


def score(ids: Sequence[str], refs: Sequence[str], hyps: Sequence[str]) -> CorpusScore:
    if not (len(ids) == len(refs) == len(hyps)):
        raise ValueError("ids, refs and hyps must have the same length")
    utts = tuple(score_utterance(i, r, h) for i, r, h in zip(ids, refs, hyps))
    words = sum((u.words for u in utts), ZERO)
    chars = sum((u.chars for u in utts), ZERO)
    return CorpusScore(utts, words, chars)


def _pairs(ref: list[str], hyp: list[str], chunks) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for c in chunks:
        r = ref[c.ref_start_idx:c.ref_end_idx]
        h = hyp[c.hyp_start_idx:c.hyp_end_idx]
        if c.type == "insert":
            out += [(EPS, w) for w in h]
        elif c.type == "delete":
            out += [(w, EPS) for w in r]
        else:  # equal or substitute: same length on both sides
            out += list(zip(r, h))
    return tuple(out)


def write_results(out_dir: str | os.PathLike[str], set_name: str, method: str, result: CorpusScore) -> dict[str, Path]:
    """Write the four results files; return their paths by kind."""
    out = Path(out_dir)
    suffix = f"{set_name}-{method}"
    paths = {
        "recogs": out / f"recogs-{suffix}.txt",
        "errs": out / f"errs-{suffix}.txt",
        "summary": out / f"wer-summary-{suffix}.txt",
        "json": out / f"results-{suffix}.json",
    }
    recogs = []
    for u in sorted(result.utterances, key=lambda u: u.id):
        recogs.append(f"{u.id}:\tref={u.ref.split()!r}")
        recogs.append(f"{u.id}:\thyp={u.hyp.split()!r}")
    write_text(paths["recogs"], "\n".join(recogs) + "\n")
    write_text(paths["errs"], _errs_text(result))
    write_text(paths["summary"], f"settings\tWER\tCER\n{method}\t{100 * result.wer:.2f}\t{100 * result.cer:.2f}\n")
    write_json(paths["json"], {
        "set": set_name, "method": method, "wer": result.wer, "cer": result.cer,
        "words": asdict(result.words), "chars": asdict(result.chars),
        "utterances": [
            {"id": u.id, "ref": u.ref, "hyp": u.hyp, "wer": u.words.rate, "cer": u.chars.rate,
             "words": asdict(u.words), "chars": asdict(u.chars)}
            for u in result.utterances
        ],
    })
    return paths


def _errs_text(result: CorpusScore) -> str:
    w = result.words
    lines = [
        f"%WER = {100 * result.wer:.2f}",
        f"%CER = {100 * result.cer:.2f}",
        f"Errors: {w.insertions} insertions, {w.deletions} deletions, {w.substitutions} substitutions, "
        f"over {w.ref_len} reference words ({w.ref_len - w.substitutions - w.deletions} correct)",
        "",
        "PER-UTT DETAILS: corr or (ref->hyp)",
    ]
    subs: Counter[tuple[str, str]] = Counter()
    dels: Counter[str] = Counter()
    ins: Counter[str] = Counter()
    for u in sorted(result.utterances, key=lambda u: u.id):
        parts = []
        for r, h in u.alignment:
            if r == h:
                parts.append(r)
                continue
            parts.append(f"({r}->{h})")
            if r == EPS:
                ins[h] += 1
            elif h == EPS:
                dels[r] += 1
            else:
                subs[(r, h)] += 1
        lines.append(f"{u.id}:\t{' '.join(parts)}")
    lines += ["", "SUBSTITUTIONS: count ref -> hyp"]
    lines += [f"{n}   {r} -> {h}" for (r, h), n in subs.most_common()]
    lines += ["", "DELETIONS: count ref"] + [f"{n}   {r}" for r, n in dels.most_common()]
    lines += ["", "INSERTIONS: count hyp"] + [f"{n}   {h}" for h, n in ins.most_common()]
    return "\n".join(lines) + "\n"
