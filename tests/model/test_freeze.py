import pytest
import torch

from speechtl.model.freeze import FreezePolicy, model_blocks
from speechtl.model.tiny import random_wav2vec2


def _step(bundle, policy):
    """One optimizer step on random audio; return parameters before and after."""
    model = bundle.model
    policy.apply(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.AdamW(policy.param_groups(model))
    model.train()
    labels = torch.tensor([bundle.alphabet.encode("abc abc")])
    loss = model(torch.randn(1, 16000), labels=labels).loss
    loss.backward()
    optimizer.step()
    return before, dict(model.named_parameters())


def _changed(before, after, prefix):
    return [n for n in before if n.startswith(prefix) and not torch.equal(before[n], after[n])]


def test_frozen_weights_do_not_move_and_chosen_layers_do(alphabet):
    bundle = random_wav2vec2(alphabet, num_hidden_layers=4)
    before, after = _step(bundle, FreezePolicy(trainable_layers=2, train_final_layer_norm=True))
    for frozen in ("wav2vec2.feature_extractor", "wav2vec2.feature_projection", "wav2vec2.encoder.pos_conv_embed",
                   "wav2vec2.encoder.layers.0.", "wav2vec2.encoder.layers.1.", "wav2vec2.masked_spec_embed"):
        assert _changed(before, after, frozen) == [], frozen
    for trained in ("wav2vec2.encoder.layers.2.", "wav2vec2.encoder.layers.3.", "lm_head", "wav2vec2.encoder.layer_norm"):
        assert _changed(before, after, trained), trained


def test_head_only(alphabet):
    bundle = random_wav2vec2(alphabet)
    before, after = _step(bundle, FreezePolicy(trainable_layers=0, train_final_layer_norm=False))
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    assert changed == {"lm_head.weight", "lm_head.bias"}


def test_all_trains_everything_but_the_conv_stack(alphabet):
    bundle = random_wav2vec2(alphabet)
    report = FreezePolicy(trainable_layers="all").apply(bundle.model)
    assert report.trainable_blocks() == [b.name for b in report.blocks if b.name != "feature_encoder"]
    report = FreezePolicy(trainable_layers="all", freeze_feature_encoder=False).apply(bundle.model)
    assert report.trainable == report.total == sum(p.numel() for p in bundle.model.parameters())


def test_report_counts_and_learning_rates(alphabet):
    bundle = random_wav2vec2(alphabet, num_hidden_layers=3)
    policy = FreezePolicy(trainable_layers=1, lr_head=1e-2, lr_layers=1e-4)
    report = policy.apply(bundle.model)
    assert report.total == sum(p.numel() for p in bundle.model.parameters())
    assert report.trainable == sum(p.numel() for p in bundle.model.parameters() if p.requires_grad)
    assert report.trainable_blocks() == ["layers.2", "final_layer_norm", "head"]
    groups = {g["name"]: g for g in policy.param_groups(bundle.model)}
    assert groups["head"]["lr"] == 1e-2 and groups["layers"]["lr"] == 1e-4
    assert sum(p.numel() for p in groups["head"]["params"]) == bundle.model.lm_head.weight.numel() + len(bundle.alphabet)
    assert "layers.2" in report.table()


def test_group_norm_variant_blocks(alphabet):
    bundle = random_wav2vec2(alphabet, feat_extract_norm="group", do_stable_layer_norm=False)
    blocks = model_blocks(bundle.model)
    assert "final_layer_norm" not in blocks  # post-norm models norm before the layers
    assert bundle.model.wav2vec2.encoder.layer_norm in blocks["positional"]


def test_invalid_policy():
    with pytest.raises(ValueError):
        FreezePolicy(trainable_layers=-1)
    with pytest.raises(ValueError):
        FreezePolicy(trainable_layers="some")
