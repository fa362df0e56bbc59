"""Term spotting on hand-made CTC posteriors: a planted near-miss is fixed, a correct span is kept."""

import numpy as np

from speechtl.decode.align import align_words
from speechtl.decode.beam import BeamConfig, BeamDecoder
from speechtl.decode.spotting import TermSpotter
from speechtl.vocabulary import Vocabulary

KNOWN = {"a", "writ", "of", "the", "court", "granted", "mister"}


def posteriors(alphabet, spec):
    """Two frames per character (the character, then a blank); ``spec`` is a list of
    {character: probability} rows, or plain characters for a confident frame."""
    rows = []
    for item in spec:
        dist = {item: 1.0} if isinstance(item, str) else item
        row = np.full(len(alphabet), 1e-4)
        for ch, p in dist.items():
            row[alphabet.delimiter_id if ch == " " else alphabet.vocab[ch]] = p
        rows.append(row / row.sum())
        blank = np.full(len(alphabet), 1e-4)
        blank[alphabet.blank_id] = 1.0
        rows.append(blank / blank.sum())
    return np.log(np.array(rows, dtype=np.float32))


def words_with_frames(text):
    """(word, (start, end)) as the beam search reports them, for the layout of ``posteriors``."""
    out, at = [], 0
    for word in text.split():
        out.append((word, (2 * at, 2 * (at + len(word)))))
        at += len(word) + 1
    return out


def near_miss(alphabet):
    # the acoustics lean to "sertiorari" (s 0.55 / c 0.45): the search spells it that way
    text = "a writ of certiorari"
    spec = [ch for ch in text]
    spec[text.index("c")] = {"s": 0.55, "c": 0.45}
    return posteriors(alphabet, spec), "a writ of sertiorari"


def test_spotting_replaces_a_planted_near_miss(alphabet):
    logprobs, hyp = near_miss(alphabet)
    spotter = TermSpotter(Vocabulary(["certiorari", "mandamus"]), alphabet, KNOWN)
    out = spotter.spot(logprobs, words_with_frames(hyp), threshold=-0.5)
    assert " ".join(w for w, _ in out) == "a writ of certiorari"
    # the term takes the replaced word's frames
    assert out[-1][1] == words_with_frames(hyp)[-1][1]


def test_spotting_leaves_a_clearly_spoken_word_alone(alphabet):
    # "mandelbaum" is spoken clearly and is not a known word; "mandamus" looks alike in
    # letters but the posteriors do not support it
    text = "mister mandelbaum"
    logprobs = posteriors(alphabet, list(text))
    spotter = TermSpotter(Vocabulary(["mandamus"]), alphabet, KNOWN)
    assert spotter.candidates(text.split())  # it is considered...
    out = spotter.spot(logprobs, words_with_frames(text), threshold=-0.5)
    assert " ".join(w for w, _ in out) == text  # ...and rejected by the acoustics


def test_threshold_decides_a_close_call(alphabet):
    logprobs, hyp = near_miss(alphabet)
    spotter = TermSpotter(Vocabulary(["certiorari"]), alphabet, KNOWN)
    strict = spotter.spot(logprobs, words_with_frames(hyp), threshold=0.5)  # the term must be more likely
    assert " ".join(w for w, _ in strict) == hyp


def test_known_words_are_never_candidates(alphabet):
    spotter = TermSpotter(Vocabulary(["courts"]), alphabet, KNOWN)
    assert spotter.candidates(["the", "court", "granted"]) == []
    assert spotter.candidates(["the", "cort", "granted"])  # letter soup is


def test_a_run_of_function_words_is_never_replaced(alphabet):
    # without a word list (the two-pass) any span may hide a term, but not one of only
    # function words: the acoustics say "trustee", and only the span with a content word in
    # it is replaced
    logprobs = posteriors(alphabet, list("trustee"))
    spotter = TermSpotter(Vocabulary(["trustee"]), alphabet)
    frames = [("that", (0, 4)), ("is", (4, 8)), ("the", (8, 14))]
    assert spotter.substitutions(logprobs, frames, threshold=-np.inf) == []
    assert [w for w, _ in spotter.spot(logprobs, [("that", (0, 4)), ("is", (4, 8)), ("thee", (8, 14))])] == ["trustee"]
    assert spotter.heard(logprobs, frames, limit=1) == ["trustee"]  # still a term worth prompting


def test_multi_word_term_replaces_a_run_of_words(alphabet):
    text = "res judicata"
    spec = list(text)
    spec[text.index("j")] = {"y": 0.6, "j": 0.4}
    spec[text.index(" ")] = {" ": 0.55, "z": 0.45}
    logprobs = posteriors(alphabet, spec)
    spotter = TermSpotter(Vocabulary(["res judicata"]), alphabet, KNOWN)
    out = spotter.spot(logprobs, words_with_frames("res yudicata"), threshold=-0.5)
    assert [w for w, _ in out] == ["res", "judicata"]


def test_beam_decoder_spots_only_when_switched_on(alphabet):
    logprobs, hyp = near_miss(alphabet)
    terms = Vocabulary(["certiorari"])
    plain = BeamDecoder(alphabet, vocabulary=terms, config=BeamConfig(hotword_weight=0.0),
                        unigrams=sorted(KNOWN))
    assert plain.decode(logprobs, 0.02).text == hyp
    spotting = plain.with_changes(spot_threshold=-0.5)
    assert spotting.decode(logprobs, 0.02).text == "a writ of certiorari"


def test_a_term_split_into_fragments_is_one_span(alphabet):
    # a recognizer that never saw "collateral estoppel" writes it as fragments; ten
    # pieces, but only "call" and "pull" are full words, so the span is a candidate
    text = "collateral estoppel prevents it"
    logprobs = posteriors(alphabet, list(text))
    heard = "call l a t or al e t o pull prevents it"
    spotter = TermSpotter(Vocabulary(["collateral estoppel"]), alphabet)
    assert (0, 10, 0) in spotter.candidates(heard.split())
    words = align_words(logprobs, heard, alphabet)  # as two-pass decoding places another recognizer's words
    out = spotter.spot(logprobs, words, threshold=0.0)
    assert " ".join(w for w, _ in out) == text
    # five full words are too many for one term, however short the rest
    assert not [c for c in spotter.candidates("call them at all or else top".split()) if c[1] - c[0] > 6]


def test_spotter_scales_by_index_not_by_scan(alphabet):
    # 1 000 unrelated terms must not make a span a candidate for them
    many = Vocabulary([f"zq{i:04d}x".replace("0", "o").replace("1", "l").replace("2", "z").replace("3", "e")
                       .replace("4", "a").replace("5", "s").replace("6", "g").replace("7", "t").replace("8", "b")
                       .replace("9", "p") for i in range(1000)] + ["certiorari"])
    spotter = TermSpotter(many, alphabet, KNOWN)
    cands = spotter.candidates(["a", "writ", "of", "sertiorari"])
    assert {spotter.terms[t] for _, _, t in cands} == {"certiorari"}


def test_a_term_already_spelled_out_is_never_replaced(alphabet):
    # "res ipsa loquitur" is in the hypothesis; "remittitur" must not take its last word
    # even where the posteriors lean to it (a weak model, an unseen voice)
    text = "res ipsa loquitur"
    spec = list(text)
    spec[text.index("loq"):] = list("remittitur")
    logprobs = posteriors(alphabet, spec)
    spotter = TermSpotter(Vocabulary(["res ipsa loquitur", "remittitur"]), alphabet)
    words = [("res", (0, 6)), ("ipsa", (8, 16)), ("loquitur", (18, 38))]
    assert spotter.present(["res", "ipsa", "loquitur"]) == [(0, 3, 0)]
    assert not [c for c in spotter.candidates(["res", "ipsa", "loquitur"]) if c[2] == 1]
    assert [w for w, _ in spotter.spot(logprobs, words, threshold=-5.0)] == ["res", "ipsa", "loquitur"]
    # without the term present, the same span is free to change
    assert [w for w, _ in spotter.spot(logprobs, [("res", (0, 6)), ("ipso", (8, 16)), ("loquitur", (18, 38))],
                                       threshold=-5.0)][-1] == "remittitur"


def test_a_spelled_term_may_grow_into_a_longer_term_that_contains_it(alphabet):
    # "in limine" is spelled out; "motion in limine" contains it, so "lotion in limine"
    # may become the longer term, but "limine" alone is never taken out of it
    text = "the motion in limine"
    logprobs = posteriors(alphabet, list(text))
    spotter = TermSpotter(Vocabulary(["in limine", "motion in limine", "limine"]), alphabet)
    heard = "the lotion in limine"
    cands = {(f, l, spotter.terms[t]) for f, l, t in spotter.candidates(heard.split())}
    assert (1, 4, "motion in limine") in cands
    assert not [c for c in cands if c[0] < 4 and c[1] > 2 and c[2] != "motion in limine"]
    out = spotter.spot(logprobs, align_words(logprobs, heard, alphabet), threshold=0.0)
    assert " ".join(w for w, _ in out) == text


def test_heard_ranks_spelled_terms_first_then_by_acoustic_gain(alphabet):
    logprobs, hyp = near_miss(alphabet)
    vocab = Vocabulary(["writ", "certiorari", "sertraline", "mandamus"])
    spotter = TermSpotter(vocab, alphabet)
    heard = spotter.heard(logprobs, words_with_frames(hyp), limit=3)
    assert heard[0] == "writ"  # spelled out
    assert heard[1] == "certiorari"  # close in letters and best supported by the frames
    assert "mandamus" not in heard  # nothing in the audio resembles it
    assert spotter.heard(logprobs, words_with_frames(hyp), limit=1) == ["writ"]


def test_heard_can_ask_candidates_for_acoustic_evidence(alphabet):
    logprobs, hyp = near_miss(alphabet)
    spotter = TermSpotter(Vocabulary(["writ", "certiorari", "sertraline"]), alphabet)
    everything = spotter.heard(logprobs, words_with_frames(hyp), limit=5)
    strict = spotter.heard(logprobs, words_with_frames(hyp), limit=5, min_gain=-1.0)
    assert "sertraline" in everything and "sertraline" not in strict  # the frames do not support it
    assert strict[:2] == ["writ", "certiorari"]  # spelled out, then supported by the frames


def test_candidates_and_prompts_do_not_change_with_the_process_s_string_hashing():
    """Two equally close terms: the same one is proposed in every process (the legal
    recipe's prompts once changed from run to run with PYTHONHASHSEED)."""
    import os
    import subprocess
    import sys

    code = ("from speechtl.alphabet import Alphabet; from speechtl.decode.spotting import TermSpotter; "
            "from speechtl.domains import domain_terms; "
            "s = TermSpotter(domain_terms('legal'), Alphabet.default()); "
            "words = 'the court held a dow bert hearing on the sub peena and the lis pen dens'.split(); "
            "print(s.candidates(words))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in range(5)}
    assert len(runs) == 1 and runs.pop().count("(") > 3


def test_a_term_glued_to_other_words_is_told_from_an_inflection():
    from speechtl.decode.spotting import glued

    assert glued("lychimarthroscopy", "arthroscopy") and glued("spironolactoneknew", "spironolactone")
    assert not glued("contractor", "contract")  # an inflection, not a glued word
    assert not glued("colonoscopy", "colon")  # a short term inside a word is no sign
    assert not glued("like an arthroscopy", "arthroscopy") and not glued("arthroscopy", "arthroscopy")
