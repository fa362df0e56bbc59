import numpy as np
import pytest
import torch

from speechtl.training.cache import PrefixCache, fingerprint
from speechtl.data.dataset import pad_waveforms
from speechtl.model.freeze import FreezePolicy
from speechtl.model.split import first_trainable_layer, prefix, suffix
from speechtl.model.tiny import random_wav2vec2
from speechtl.training import TrainConfig, train

NO_DROPOUT = dict(hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
                  final_dropout=0.0, layerdrop=0.0)


@pytest.mark.parametrize("variant", [{}, {"feat_extract_norm": "group", "do_stable_layer_norm": False}])
def test_prefix_then_suffix_is_the_full_model(alphabet, sample_waves, variant):
    bundle = random_wav2vec2(alphabet, num_hidden_layers=4, **variant)
    FreezePolicy(trainable_layers=2).apply(bundle.model)
    k = first_trainable_layer(bundle.model)
    assert k == 2
    model = bundle.model.eval()
    values, mask = pad_waveforms(sample_waves[:3])
    with torch.no_grad():
        full = model(values, attention_mask=mask).logits
        hidden, frames = prefix(model, values, mask, k)
        split = suffix(model, hidden, frames, k)
    assert torch.allclose(full[frames], split[frames], atol=1e-5)


def test_whisper_prefix_then_suffix(alphabet, sample_waves, tmp_path):
    from transformers import WhisperConfig, WhisperModel

    from speechtl.model.loader import load_pretrained

    from ..model.test_whisper import TINY_WHISPER

    WhisperModel(WhisperConfig(**TINY_WHISPER)).save_pretrained(tmp_path)
    bundle = load_pretrained(tmp_path, alphabet)
    FreezePolicy(trainable_layers=1).apply(bundle.model)
    k = first_trainable_layer(bundle.model)
    model = bundle.model.eval()
    values, mask = pad_waveforms(sample_waves[:2], normalize=False)
    with torch.no_grad():
        full = model(values, attention_mask=mask).logits
        hidden, frames = prefix(model, values, mask, k)
        split = suffix(model, hidden, frames, k)
    assert k == 2 and torch.allclose(full[frames], split[frames], atol=1e-5)


def test_no_cut_when_something_below_trains(alphabet):
    bundle = random_wav2vec2(alphabet)
    FreezePolicy(trainable_layers="all").apply(bundle.model)  # positions train too
    assert first_trainable_layer(bundle.model) is None
    FreezePolicy(trainable_layers=1, train_feature_projection=True).apply(bundle.model)
    assert first_trainable_layer(bundle.model) is None


def test_cache_is_invalidated_by_policy_checkpoint_and_audio(alphabet, sample_entries, tmp_path):
    import shutil

    bundle = random_wav2vec2(alphabet, num_hidden_layers=3)
    a = PrefixCache(bundle, 1, tmp_path)
    assert a.dir != PrefixCache(bundle, 2, tmp_path).dir  # another freeze policy
    other = random_wav2vec2(alphabet, num_hidden_layers=3, seed=1)
    assert fingerprint(other, 1) != fingerprint(bundle, 1)  # another checkpoint
    with torch.no_grad():  # a change to a trainable layer above the cut does not matter
        bundle.model.wav2vec2.encoder.layers[2].feed_forward.output_dense.weight.add_(1.0)
    assert fingerprint(bundle, 1) == a.dir.name

    copy = tmp_path / "clip.wav"
    shutil.copy(sample_entries[0].audio_filepath, copy)
    entry = sample_entries[0].__class__("x", str(copy), sample_entries[0].duration, sample_entries[0].text)
    assert a.fill([entry], progress=False) == 1 and a.fill([entry], progress=False) == 0
    stored = a.load(entry)
    assert stored.dtype == np.float16 and stored.shape[1] == 64
    shutil.copy(sample_entries[1].audio_filepath, copy)  # the audio changed under the same name
    assert not a.has(entry) and a.fill([entry], progress=False) == 1


def test_cached_training_matches_uncached(alphabet, sample_entries, tmp_path):
    """Same data, policy and seed, dropout off: training on the cache ends where
    training through the whole model ends."""
    def run(cache: bool):
        bundle = random_wav2vec2(alphabet, num_hidden_layers=3, **NO_DROPOUT)
        config = TrainConfig(output_dir=str(tmp_path / f"cache-{cache}"), max_steps=6, eval_every=6, batch_size=3,
                             warmup_steps=1, mask_time_prob=0.0, progress=False, cache_prefix=cache,
                             freeze=FreezePolicy(trainable_layers=1, lr_head=3e-3, lr_layers=3e-3))
        result = train(bundle, sample_entries, sample_entries[:2], config)
        return bundle, result

    cached, cached_result = run(True)
    plain, plain_result = run(False)
    assert any((tmp_path / "cache-True" / "prefix-cache").rglob("*.npy"))
    assert not (tmp_path / "cache-False" / "prefix-cache").exists()
    for (name, a), (_, b) in zip(cached.model.named_parameters(), plain.model.named_parameters()):
        assert torch.allclose(a, b, atol=2e-3), name  # float16 cache: equal up to rounding
    assert cached_result.history[-1]["train_loss"] == pytest.approx(plain_result.history[-1]["train_loss"], rel=0.02)


def test_cached_training_with_specaugment_runs(alphabet, sample_entries, tmp_path):
    bundle = random_wav2vec2(alphabet, num_hidden_layers=3)
    config = TrainConfig(output_dir=str(tmp_path), max_steps=3, eval_every=3, batch_size=3, mask_time_prob=0.3,
                         mask_time_length=2, mask_feature_prob=0.2, mask_feature_length=4, progress=False,
                         freeze=FreezePolicy(trainable_layers=1))
    result = train(bundle, sample_entries, [], config)
    assert result.steps == 3 and np.isfinite(result.history[-1]["train_loss"])
