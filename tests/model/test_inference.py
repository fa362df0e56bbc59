import numpy as np

from speechtl.model.inference import batch_logits, output_lengths


def test_each_waveform_gets_its_own_frames_and_padding_changes_nothing(tiny_bundle, sample_waves):
    tiny_bundle.model.eval()
    waves = [sample_waves[0][:16_000], sample_waves[1][:8_000]]
    together = batch_logits(tiny_bundle, waves)
    assert [len(lp) for lp in together] == output_lengths(tiny_bundle, [16_000, 8_000])
    alone = batch_logits(tiny_bundle, [waves[1]])[0]
    np.testing.assert_allclose(together[1], alone, atol=1e-4)  # the longer neighbour's padding is masked
    assert np.allclose(np.exp(together[0]).sum(-1), 1.0, atol=1e-4)  # log-probabilities, not logits
