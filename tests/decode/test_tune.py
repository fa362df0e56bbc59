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
