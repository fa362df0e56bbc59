"""Writer training targets in Whisper's own words: what the original writer wrote for a
window, with only the words it got wrong replaced by the reference's.

    from speechtl.training.writer_targets import corrected_text
    corrected_text("The court denied rehearing on bunk.", "the court denied rehearing en banc")
    # 'The court denied rehearing en banc.'

A recipe's references are normalized (lowercase, numbers as words, no punctuation), and
Whisper writes cased, punctuated text with digits. Trained on the references, the writer
learns that other style on every token besides the words it got wrong; trained on its own
text corrected, the rest of each target is what it already writes (on the legal run of
2026-12-05 that kept it at the original's WER on a long real recording; README).
"""

from __future__ import annotations

import difflib
import re
from typing import Sequence

from ..metrics import occurrences
from ..text import normalize

TRAILING_PUNCTUATION_RE = re.compile(r"[.,!?;:]+$")


def _words(hypothesis: str) -> list[tuple[str, list[str]]]:
    """Whisper's words with their normalized forms; a word that normalizes to nothing
    (a dash, a quote mark) joins the word before it."""
    out: list[tuple[str, list[str]]] = []
    for raw in hypothesis.split():
        norm = normalize(raw).split()
        if norm:
            out.append((raw, norm))
        elif out:  # (a leading mark, with no word before it, is left out)
            out[-1] = (out[-1][0] + " " + raw, out[-1][1])
    return out


def _capital(word: str) -> str:
    return word[:1].upper() + word[1:]


def term_spans(words: Sequence[str], terms: Sequence[str]) -> list[tuple[int, int]]:
    """Where each term (normalized) occurs in ``words``: (first word, one past the last)."""
    phrases = {tuple(normalize(t).split()) for t in terms} - {()}
    return sorted((j, j + len(p)) for p in phrases for j in occurrences(words, p))


def term_characters(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans (start, end) of ``text`` (cased and punctuated, as Whisper writes) that
    write a term: the whitespace-separated pieces holding its words, "X-ray," included."""
    pieces, words = [], []
    for m in re.finditer(r"\S+", text):
        for word in normalize(m.group()).split():
            pieces.append((m.start(), m.end()))
            words.append(word)
    return [(pieces[a][0], pieces[b - 1][1]) for a, b in term_spans(words, terms)]


def _touches_term(j1: int, j2: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether a difference at the reference's words j1..j2 is in a term (words Whisper
    added, j1 == j2, count only inside one)."""
    if j1 == j2:
        return any(a < j1 < b for a, b in spans)
    return any(j1 < b and j2 > a for a, b in spans)


def corrected_text(hypothesis: str, reference: str, terms: Sequence[str] | None = None) -> str:
    """``hypothesis`` (Whisper's text) with the words that differ from ``reference`` (a
    normalized transcript) replaced by the reference's words. Replacements keep the
    punctuation after the words they replace and a capital at a sentence's start, and the
    text keeps Whisper's first capital and last mark however much of it was replaced.
    ``reference`` when nothing was written. With ``terms``, only the
    differences in a term's words are corrected: elsewhere Whisper's words stay, right or
    wrong, so that training on the text changes the terms and nothing else."""
    ref = normalize(reference).split()
    words = _words(hypothesis)
    flat = [(i, w) for i, (_, norm) in enumerate(words) for w in norm]
    if not ref or not flat:
        return " ".join(ref)
    opcodes = difflib.SequenceMatcher(None, [w for _, w in flat], ref, autojunk=False).get_opcodes()
    if terms is not None:  # a difference outside the terms is kept as Whisper wrote it
        spans = term_spans(ref, terms)
        opcodes = [("keep" if tag != "equal" and not _touches_term(j1, j2, spans) else tag, i1, i2, j1, j2)
                   for tag, i1, i2, j1, j2 in opcodes]
    matched = [0] * len(words)
    for tag, i1, i2, _, _ in opcodes:
        if tag in ("equal", "keep"):
            for k in range(i1, i2):
                matched[flat[k][0]] += 1
    whole = [matched[i] == len(norm) for i, (_, norm) in enumerate(words)]
    for tag, i1, _, _, _ in opcodes:  # words inserted inside a word ("twenty uh five" for "twenty-five")
        if tag == "insert" and 0 < i1 < len(flat) and flat[i1 - 1][0] == flat[i1][0]:
            whole[flat[i1][0]] = False
    out: list[str] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag in ("equal", "keep"):
            for k in range(i1, i2):
                owner = flat[k][0]
                if not whole[owner]:  # a word partly right ("25" for "twenty six"): the reference's
                    if tag == "equal":
                        out.append(ref[j1 + k - i1])
                elif k == 0 or flat[k - 1][0] != owner:
                    out.append(words[owner][0])
            continue
        new = list(ref[j1:j2])
        if i2 > i1:  # Whisper's words replaced or left out: a sentence's capital and the punctuation after
            first = flat[i1][0]
            if new and (first == 0 or words[first - 1][0][-1:] in ".?!"):
                new[0] = _capital(new[0])
            last = flat[i2 - 1][0]
            tail = TRAILING_PUNCTUATION_RE.search(words[last][0])
            if tail and (i2 == len(flat) or flat[i2][0] != last):
                if new:
                    new[-1] += tail.group(0)
                elif out and not TRAILING_PUNCTUATION_RE.search(out[-1]):
                    out[-1] += tail.group(0)
        out += new
    if not out:
        return " ".join(ref)
    # however much was rewritten, the sentence starts and ends as Whisper's did
    if hypothesis.strip()[:1].isupper():
        out[0] = _capital(out[0])
    end = TRAILING_PUNCTUATION_RE.search(hypothesis.strip())
    if end and not TRAILING_PUNCTUATION_RE.search(out[-1]):
        out[-1] += end.group(0)
    return " ".join(out)
