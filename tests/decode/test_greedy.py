import numpy as np

from speechtl.decode.greedy import collapse, greedy_decode


def _ids(alphabet, frames):
    """Frames written as a string: '_' is blank, ' ' the delimiter, else a character."""
    v = alphabet.vocab
    return np.array([alphabet.blank_id if c == "_" else alphabet.delimiter_id if c == " " else v[c] for c in frames])


def test_repeats_merge_unless_a_blank_separates_them(alphabet):
    assert collapse(_ids(alphabet, "hhe_ll_l_oo"), alphabet, 0.02).text == "hello"
    assert collapse(_ids(alphabet, "heloo"), alphabet, 0.02).text == "helo"


def test_word_timestamps(alphabet):
    hyp = collapse(_ids(alphabet, "__hi__  __yo_"), alphabet, 0.02, time_offset=1.0)
    assert hyp.text == "hi yo"
    (hi, yo) = hyp.words
    assert (hi.word, hi.start, hi.end) == ("hi", 1.04, 1.08)
    assert (yo.word, yo.start, yo.end) == ("yo", 1.20, 1.24)


def test_held_character_extends_word_end(alphabet):
    (word,) = collapse(_ids(alphabet, "aaaa__"), alphabet, 0.02).words
    assert (word.start, word.end) == (0.0, 0.08)


def test_empty_and_blank_only(alphabet):
    assert collapse(_ids(alphabet, ""), alphabet, 0.02).text == ""
    assert collapse(_ids(alphabet, "____  __"), alphabet, 0.02).words == ()


def test_greedy_takes_argmax(alphabet):
    logits = np.full((3, len(alphabet)), -10.0)
    for t, c in enumerate("ok_"):
        logits[t, alphabet.blank_id if c == "_" else alphabet.vocab[c]] = 0.0
    assert greedy_decode(logits, alphabet, 0.02).text == "ok"
