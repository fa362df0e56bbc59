"""N-best rescoring: the domain LM and terms choose among Whisper's hypotheses."""

from __future__ import annotations

import numpy as np
import pytest

from speechtl.decode.rescore import NBestRescorer, RescoreConfig
from speechtl.vocabulary import Vocabulary

# A hand-written bigram LM that has seen "rehearing en banc" and never "on bunk".
ARPA = """\\data\\
ngram 1=7
ngram 2=4

\\1-grams:
-0.8\t</s>
-99\t<s>\t-0.3
-1.0\trehearing\t-0.3
-1.2\ten\t-0.3
-1.2\tbanc\t-0.3
-2.5\ton\t-0.3
-2.5\tbunk\t-0.3

\\2-grams:
-0.2\t<s> rehearing
-0.3\trehearing en
-0.1\ten banc
-0.2\tbanc </s>

\\end\\
"""

NBEST = [("Rehearing on bunk.", -4.0), ("Rehearing en banc.", -5.0), ("Rehearing.", -6.5)]


@pytest.fixture
def lm(tmp_path):
    pytest.importorskip("kenlm")
    path = tmp_path / "tiny.arpa"
    path.write_text(ARPA)
    return path


def test_with_every_weight_off_it_is_whisper_s_own_best(lm):
    assert NBestRescorer(lm, Vocabulary(["en banc"])).best(NBEST) == "Rehearing on bunk."


def test_the_domain_lm_changes_the_choice(lm):
    rescorer = NBestRescorer(lm, None, RescoreConfig(lm_weight=0.5))
    assert rescorer.best(NBEST) == "Rehearing en banc."
    # the LM's score is in nats: 0.5 * ln(10) * log10 P
    expected = -5.0 + 0.5 * np.log(10) * rescorer._lm.score("rehearing en banc", bos=True, eos=True)
    assert rescorer.score("Rehearing en banc.", -5.0) == pytest.approx(expected)


def test_a_term_bonus_alone_changes_the_choice_and_counts_each_occurrence(lm):
    terms = Vocabulary(["en banc", "voir dire"])
    assert NBestRescorer(None, terms, RescoreConfig(term_bonus=1.5)).best(NBEST) == "Rehearing en banc."
    assert NBestRescorer(None, terms, RescoreConfig(term_bonus=0.5)).best(NBEST) == "Rehearing on bunk."
    assert NBestRescorer(None, terms).terms_in("en banc and voir dire and en banc".split()) == 3


def test_whisper_s_n_best_come_with_their_log_probabilities(sample_waves):
    pytest.importorskip("faster_whisper")
    from speechtl.model.offline import resolve_offline
    from speechtl.model.seq2seq import WhisperRecognizer

    if resolve_offline("whisper-tiny.en") is None:
        pytest.skip("the offline whisper-tiny.en weights are not installed")
    whisper = WhisperRecognizer("whisper-tiny.en")
    wave = sample_waves[0]
    nbest = whisper.nbest(wave, 4)
    assert 2 <= len(nbest) <= 4 and len({t for t, _ in nbest}) == len(nbest)
    assert nbest[0][0] == whisper.transcribe(wave).text  # the same search, the same best
    # the summed log-probability, as forced decoding of the same text gives it (give or take the end token)
    forced = whisper.score(wave, [nbest[0][0].rstrip(".")])[0]
    assert forced - 1.0 <= nbest[0][1] <= forced + 0.01
