"""CTC forced alignment on hand-made posteriors: each word lands on its own frames."""

import pytest

from speechtl.decode.align import align_words

from .test_spotting import posteriors, words_with_frames


def test_words_land_on_the_frames_that_spell_them(alphabet):
    text = "the court held a hearing"
    logprobs = posteriors(alphabet, list(text))
    aligned = align_words(logprobs, text, alphabet)
    # a word's span: its first letter's frame to just after its last letter's frame
    assert aligned == [(w, (s, e - 1)) for w, (s, e) in words_with_frames(text)]


def test_another_recognizers_words_are_placed_where_they_fit_best(alphabet):
    # the frames spell "on bunk"; aligning "en banc" still puts each word on its own span
    logprobs = posteriors(alphabet, list("granted on bunk"))
    aligned = align_words(logprobs, "granted en banc", alphabet)
    assert [w for w, _ in aligned] == ["granted", "en", "banc"]
    spans = [span for _, span in aligned]
    assert spans[0][0] == 0 and spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0]
    assert spans[2][0] >= 2 * len("granted on ") - 2  # "banc" starts near where "bunk" does


def test_repeated_letters_need_a_blank_between_them(alphabet):
    logprobs = posteriors(alphabet, list("all"))  # 6 frames
    assert align_words(logprobs, "all", alphabet) is not None
    assert align_words(logprobs[:2], "all", alphabet) is None  # a, l, blank, l: 4 frames at least
    assert align_words(logprobs, "", alphabet) == []


def test_unknown_characters_are_refused(alphabet):
    from speechtl.errors import AlphabetError

    with pytest.raises(AlphabetError):
        align_words(posteriors(alphabet, list("ab")), "a\u00e9", alphabet)
