from speechtl.decode.beam import BeamConfig, BeamDecoder
from speechtl.decode.tune import tune_beam
from speechtl.lm.arpa import estimate_arpa

from .test_beam import LM_TEXT, peaky


def test_tuning_picks_a_setting_where_the_lm_helps(tmp_path, alphabet):
    estimate_arpa(LM_TEXT, tmp_path / "lm.arpa", 3)
    texts = ["the patient takes metformin", "take metformin daily"]
    lps = [peaky(alphabet, t, {t.index("form") + 1: "a"}) for t in texts]  # "metfarmin" acoustically
    # no flat penalty for unknown words: only alpha decides whether the LM is heard
    decoder = BeamDecoder(alphabet, tmp_path / "lm.arpa", config=BeamConfig(unk_score_offset=0.0))
    result = tune_beam(decoder, lps, texts, 0.02,
                       alphas=(0.0, 1.0), betas=(0.0,))
    assert result.config.alpha == 1.0 and result.wer == 0.0
    by_alpha = {row["alpha"]: row["wer"] for row in result.grid}
    assert by_alpha[0.0] > 0.0


def test_a_guard_keeps_term_boosts_that_hurt_general_speech_out(alphabet):
    import numpy as np

    from speechtl.decode.tune import Guard, tune_grid
    from speechtl.vocabulary import Vocabulary

    def unsure(text, position, other, p_other):
        lp = peaky(alphabet, text)
        row = np.full(len(alphabet), 1e-4)
        row[alphabet.vocab[text[position]]], row[alphabet.vocab[other]] = 1 - p_other, p_other
        lp[2 * position] = np.log(row / row.sum())
        return lp

    decoder = BeamDecoder(alphabet, vocabulary=Vocabulary(["daily"]))
    dev = [unsure("take it daily", 8, "b", 0.6)]  # the term, heard as "baily": any boost fixes it
    general = [unsure("the old baily", 8, "d", 0.1)]  # general speech: a strong boost turns it into the term
    weights = (8.0, 4.0, 1.0)  # ties go to the earlier setting: unguarded, the strongest boost wins
    assert tune_grid(decoder, dev, ["take it daily"], 0.02, hotword_weight=weights).config.hotword_weight == 8.0
    guard = Guard(general, ["the old baily"], 0.02, max_wer=0.0)
    guarded = tune_grid(decoder, dev, ["take it daily"], 0.02, guard=guard, hotword_weight=weights)
    assert guarded.config.hotword_weight == 1.0 and guarded.wer == 0.0 and guarded.guard_wer == 0.0
    assert [row["guard_wer"] for row in guarded.grid] == [1 / 3, 1 / 3, 0.0]
    # none passes: the setting that hurts general speech least
    strict = Guard(general, ["the old baily"], 0.02, max_wer=-1.0)
    assert tune_grid(decoder, dev, ["take it daily"], 0.02, guard=strict, hotword_weight=weights).config.hotword_weight == 1.0


class _Scripted:
    """A decoder stand-in whose output per hotword weight is given: tests the choice alone."""

    alphabet = None

    def __init__(self, outputs, weight=0.0):
        self.outputs, self.config = outputs, BeamConfig(hotword_weight=weight)

    def with_changes(self, hotword_weight):
        return _Scripted(self.outputs, hotword_weight)

    def decode_batch(self, logprobs, frame_shift, processes=None):
        from speechtl.decode.greedy import Hypothesis

        return [Hypothesis(self.outputs[(self.config.hotword_weight, lp)], ()) for lp in logprobs]


def test_a_stronger_setting_must_gain_more_than_the_tolerance():
    from speechtl.decode.tune import Guard, tune_grid

    refs = ["a b c d e f g h i j"] * 2  # 20 words: one error is 5 points
    right, one_off = refs[0], "a b c d e f g h i x"
    outputs = {(1.0, "u1"): one_off, (1.0, "u2"): one_off, (5.0, "u1"): right, (5.0, "u2"): one_off,
               (9.0, "u1"): right, (9.0, "u2"): right, (1.0, "g"): right, (5.0, "g"): right, (9.0, "g"): one_off}
    decoder = _Scripted(outputs)
    weights = (1.0, 5.0, 9.0)  # dev WER 10%, 5%, 0%
    assert tune_grid(decoder, ["u1", "u2"], refs, 0.02, hotword_weight=weights).config.hotword_weight == 9.0
    assert tune_grid(decoder, ["u1", "u2"], refs, 0.02, tolerance=0.05, hotword_weight=weights).config.hotword_weight == 5.0
    assert tune_grid(decoder, ["u1", "u2"], refs, 0.02, tolerance=0.1, hotword_weight=weights).config.hotword_weight == 1.0
    # the guard rules 9 out before the tolerance is applied
    guard = Guard(["g"], [right], 0.02, max_wer=0.0)
    chosen = tune_grid(decoder, ["u1", "u2"], refs, 0.02, guard=guard, hotword_weight=weights)
    assert (chosen.config.hotword_weight, chosen.wer, chosen.guard_wer) == (5.0, 0.05, 0.0)
