"""Writer targets in Whisper's own words (training/writer_targets.py)."""

from __future__ import annotations

import pytest

from speechtl.text import normalize
from speechtl.training.writer_targets import corrected_text, term_spans


@pytest.mark.parametrize("written, reference, target", [
    # the misheard term replaced; the capital, punctuation and digits Whisper wrote stay
    ("The court denied rehearing on bunk.", "the court denied rehearing en banc", "The court denied rehearing en banc."),
    ("Objection, Your Honor, hearsay.", "objection your honor res judicata", "Objection, Your Honor, res judicata."),
    ("Dr. Brennan filed a motion in lemony.", "doctor brennan filed a motion in limine",
     "Dr. Brennan filed a motion in limine."),
    ("The jury awarded $5,000.", "the jury awarded five thousand dollars", "The jury awarded $5,000."),
    # a word only partly right is the reference's words
    ("Section 12 of the agreement.", "section thirteen of the agreement", "Section thirteen of the agreement."),
    # words Whisper left out are put back, words it added are dropped
    ("The motion is denied.", "the motion is hereby denied", "The motion is hereby denied."),
    ("The motion is, uh, denied.", "the motion is denied", "The motion is, denied."),
    # nothing written: the reference; mostly wrong: the reference, begun and ended as Whisper's text
    ("", "the court is in session", "the court is in session"),
    ("Completely different words here.", "the court denied the motion", "The court denied the motion."),
    ("Objection, you're on a commerce clause.", "objection your honor commerce clause",
     "Objection, your honor commerce clause."),
])
def test_whisper_s_words_corrected_toward_the_reference(written, reference, target):
    out = corrected_text(written, reference)
    assert out == target
    assert normalize(out) == normalize(reference)  # what is learned is always the reference's words


TERMS = ["certiorari", "habeas corpus", "en banc"]


@pytest.mark.parametrize("written, reference, target", [
    # the term's words corrected, Whisper's other mistakes ("click") kept as it wrote them
    ("The parties filed a joint HA-Y-B as K-O-R-PUS with the click of court.",
     "the parties filed a joint writ of habeas corpus with the clerk of court",
     "The parties filed a joint writ of habeas corpus with the click of court."),
    ("Under the doctrine of Sashi-O-R-A-R-E, the claim is barred. Muhammad Fadotamursti.",
     "under the doctrine of certiorari the claim is barred mohammed forgot",
     "Under the doctrine of certiorari, the claim is barred. Muhammad Fadotamursti."),
    # words Whisper added inside a term go, beside it stay
    ("Um, the court sat on, uh, bunk today.", "the court sat en banc today", "Um, the court sat en banc today."),
    # no term: Whisper's text as it is
    ("Council, please approve from the bench.", "counsel please approach the bench",
     "Council, please approve from the bench."),
])
def test_only_the_terms_corrected(written, reference, target):
    out = corrected_text(written, reference, TERMS)
    assert out == target
    for term in TERMS:
        assert (f" {term} " in f" {normalize(out)} ") == (f" {term} " in f" {reference} ")


def test_term_spans():
    assert term_spans("the writ of habeas corpus en banc".split(), TERMS) == [(3, 5), (5, 7)]


def test_term_characters_cover_a_term_as_whisper_writes_it():
    from speechtl.training.writer_targets import term_characters

    text = "I got Hydromorphone, then a chest X-ray and a chestnut."
    spans = term_characters(text, ["hydromorphone", "chest x ray", "metformin"])
    assert [text[a:b] for a, b in spans] == ["Hydromorphone,", "chest X-ray"]
