"""Training faults: a stranger's checkpoint, settings out of range, data that cannot form
a batch, and what is left out of training."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
import torch

from speechtl.data.manifest import ManifestEntry
from speechtl.errors import SpeechtlError
from speechtl.model.tiny import random_wav2vec2
from speechtl.training import TrainConfig, train


class _Payload:
    """Unpickling this runs a shell command: what a crafted last.pt would do."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _config(tmp_path, **changes) -> TrainConfig:
    return replace(TrainConfig(output_dir=str(tmp_path / "run"), max_steps=2, eval_every=2, batch_size=2,
                               progress=False, cache_prefix=False), **changes)


def test_a_crafted_checkpoint_is_refused_without_running_its_code(tmp_path, sample_entries, alphabet):
    marker = tmp_path / "ran"
    (tmp_path / "run").mkdir()
    torch.save({"state": _Payload(marker), "fingerprint": {}, "rng": {}}, tmp_path / "run" / "last.pt")
    with pytest.raises(SpeechtlError, match="not a speechtl checkpoint"):
        train(random_wav2vec2(alphabet), sample_entries[:2], [], _config(tmp_path))
    assert not marker.exists()


def test_a_checkpoint_round_trips_with_weights_only(tmp_path, sample_entries, alphabet):
    config = _config(tmp_path)
    train(random_wav2vec2(alphabet), sample_entries[:2], [], config)
    payload = torch.load(tmp_path / "run" / "last.pt", weights_only=True)  # plain values and tensors only
    assert payload["state"]["step"] == 2
    again = train(random_wav2vec2(alphabet), sample_entries[:2], [], replace(config, max_steps=3, eval_every=1))
    assert again.steps == 3  # resumed from step 2


@pytest.mark.parametrize("change, named", [({"batch_size": -1}, "batch_size=-1"), ({"batch_size": 0}, "batch_size=0"),
                                           ({"max_steps": 0}, "max_steps=0"), ({"eval_every": 0}, "eval_every=0"),
                                           ({"grad_accum_steps": 0}, "grad_accum_steps=0"),
                                           ({"mask_time_prob": 1.5}, "mask_time_prob=1.5"),
                                           ({"precision": "fp8"}, "precision='fp8'")])
def test_settings_out_of_range_are_named_before_any_work(tmp_path, sample_entries, alphabet, change, named):
    with pytest.raises(SpeechtlError, match=named.replace("(", r"\(")):
        train(random_wav2vec2(alphabet), sample_entries[:2], [], _config(tmp_path, **change))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("cache_prefix", [False, True])
def test_training_data_that_cannot_form_a_batch_is_an_error_not_a_spin(tmp_path, alphabet, cache_prefix):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    entries = [ManifestEntry(f"b{i}", str(broken), 1.0, "hello") for i in range(3)]
    from speechtl.model.freeze import FreezePolicy

    config = _config(tmp_path, cache_prefix=cache_prefix, freeze=FreezePolicy(trainable_layers=1))
    with pytest.raises(SpeechtlError, match="could be read|could be formed"):
        train(random_wav2vec2(alphabet), entries, [], config)


def test_what_training_leaves_out_is_named(tmp_path, sample_entries, alphabet, capsys):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    long = replace(sample_entries[0], id="long", duration=99.0)
    entries = list(sample_entries[:2]) + [ManifestEntry("broken", str(broken), 1.0, "hello"), long]
    result = train(random_wav2vec2(alphabet), entries, [], _config(tmp_path, batch_size=1, max_steps=3, eval_every=3))
    assert result.steps == 3 and set(result.skipped) == {"broken", "long"}
    assert "1 training utterances longer than max_duration" in capsys.readouterr().err
    with pytest.raises(SpeechtlError, match="broken"):  # strict: the first that fails stops the run
        train(random_wav2vec2(alphabet), entries, [], _config(tmp_path, batch_size=1, strict=True,
                                                               output_dir=str(tmp_path / "strict")))


def test_a_longer_run_that_replaces_best_keeps_its_lm_and_decoding_settings(tmp_path, sample_entries, alphabet):
    import json

    config = _config(tmp_path, batch_size=2, max_steps=2, eval_every=2)
    train(random_wav2vec2(alphabet), sample_entries[:4], [], config)
    best = tmp_path / "run" / "best"
    (best / "language_model").mkdir()
    (best / "language_model" / "lm.arpa").write_text("\\data\\\n")
    for name in ("decoding.json", "two-pass.json", "terms.csv"):
        (best / name).write_text("{}\n" if name.endswith(".json") else "en banc\n")
    result = train(random_wav2vec2(alphabet), sample_entries[:4], [], replace(config, max_steps=12))
    assert json.loads((best / "speechtl.json").read_text())["step"] > 2  # best/ was replaced ...
    assert result.best_wer < result.history[0]["dev_wer"]
    assert (best / "language_model" / "lm.arpa").read_text() == "\\data\\\n"  # ... and kept what was attached
    assert all((best / name).is_file() for name in ("decoding.json", "two-pass.json", "terms.csv"))


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path, sample_entries, alphabet):
    from speechtl.training.checkpoint import run_lock

    config = _config(tmp_path)
    with run_lock(tmp_path / "run"):  # as a first run holds it while it trains
        with pytest.raises(SpeechtlError, match="another training run"):
            train(random_wav2vec2(alphabet), sample_entries[:2], [], config)
    assert train(random_wav2vec2(alphabet), sample_entries[:2], [], config).steps == 2  # released: runs


def test_a_saved_model_has_the_usual_permissions(tmp_path, alphabet):
    import stat

    from speechtl.model.loader import save_bundle

    mask = os.umask(0o022)
    try:
        folder = save_bundle(random_wav2vec2(alphabet), tmp_path / "m")
    finally:
        os.umask(mask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}
    assert modes["model.safetensors"] == 0o644 and set(modes.values()) == {0o644}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
