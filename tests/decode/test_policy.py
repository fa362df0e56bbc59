"""One decoding policy: what choose_decoding picks, and which terms a report scores."""

import pytest

from speechtl.decode.beam import BeamDecoder
from speechtl.decode.greedy import greedy_decode
from speechtl.decode.policy import Decoding, choose_decoding, terms_to_score
from speechtl.lm.arpa import estimate_arpa
from speechtl.vocabulary import Vocabulary

from .test_beam import LM_TEXT, peaky


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy") / "lm.arpa"
    estimate_arpa(LM_TEXT, path, 3)
    return path


def test_greedy_decoding_is_greedy_decode(alphabet):
    lp = peaky(alphabet, "take metfarmin")
    decoding = Decoding(alphabet)
    assert decoding.name == "greedy"
    assert decoding.decode([lp], 0.02)[0] == greedy_decode(lp, alphabet, 0.02)


def test_auto_is_greedy_without_an_lm_or_terms_and_beam_with_them(alphabet, lm, tmp_path):
    assert choose_decoding(alphabet, tmp_path).beam is None  # a model folder without a decoder
    with_lm = choose_decoding(alphabet, tmp_path, lm=lm)
    assert with_lm.name == "beam-lm"
    text = "the patient takes metformin"
    lp = peaky(alphabet, text, {text.index("form") + 1: "a"})  # acoustics prefer "metfarmin"
    assert Decoding(alphabet).texts([lp], 0.02) == ["the patient takes metfarmin"]
    assert with_lm.texts([lp], 0.02) == [text]  # the LM changes the decode
    assert choose_decoding(alphabet, tmp_path, vocabulary=Vocabulary(["metformin"])).name == "beam"
    assert choose_decoding(alphabet, tmp_path, "greedy", lm=lm).beam is None
    assert choose_decoding(alphabet, tmp_path, "beam").name == "beam"


def test_a_saved_decoder_comes_back_with_its_settings_unless_overridden(alphabet, lm, tmp_path):
    terms = Vocabulary(["metformin"])
    alphabet.save(tmp_path)  # a model folder holds its alphabet
    BeamDecoder(alphabet, lm, terms).with_changes(alpha=0.9, spot_threshold=-1.0).save(tmp_path)
    saved = choose_decoding(alphabet, tmp_path)
    assert (saved.beam.config.alpha, saved.beam.config.spot_threshold) == (0.9, -1.0)
    assert choose_decoding(alphabet, tmp_path, spot_threshold=None).beam.config.spot_threshold is None
    assert choose_decoding(alphabet, tmp_path, beam_width=4).beam.config.beam_width == 4
    other = Vocabulary(["aspirin"])
    joined = choose_decoding(alphabet, tmp_path, vocabulary=other).beam.vocabulary
    assert sorted(t.text for t in joined) == ["aspirin", "metformin"]  # given terms join the saved ones


def test_reports_score_the_given_terms_else_the_boosted_ones(alphabet, lm):
    boosted, given = Vocabulary(["metformin"]), Vocabulary(["aspirin"])
    beam = Decoding(alphabet, BeamDecoder(alphabet, lm, boosted))
    assert terms_to_score(beam, given) is given
    assert terms_to_score(beam) is beam.beam.vocabulary
    assert terms_to_score(Decoding(alphabet)) is None
