import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from speechtl.data.manifest import ManifestEntry
from speechtl.model.freeze import FreezePolicy
from speechtl.model.loader import load_pretrained
from speechtl.model.tiny import random_wav2vec2, write_random_checkpoint
from speechtl.training import TrainConfig, train

from ..conftest import OVERFIT_STEPS, SAMPLE_MANIFEST


def test_tiny_model_overfits_a_tiny_set(overfit_model):
    history = overfit_model.history
    assert history[0]["train_loss"] > 2.0
    assert history[-1]["train_loss"] < 0.2
    assert history[-1]["dev_cer"] < 0.02  # near-zero CER on the set it learned
    assert overfit_model.best_wer < 0.05
    for name in ("config.json", "model.safetensors", "vocab.json", "preprocessor_config.json", "tokenizer_config.json"):
        assert (overfit_model.best_dir / name).is_file(), name
    out = overfit_model.best_dir.parent
    assert json.loads((out / "history.json").read_text()) == list(history)
    assert json.loads((out / "train-config.json").read_text())["max_steps"] == OVERFIT_STEPS


def test_saved_model_reloads_with_plain_transformers(overfit_model, pair_corpus):
    from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor

    from speechtl.data.audio import load_audio
    from speechtl.transcribe import Transcriber

    _, entries = pair_corpus
    model = Wav2Vec2ForCTC.from_pretrained(overfit_model.best_dir).eval()
    processor = Wav2Vec2Processor.from_pretrained(overfit_model.best_dir)
    ours = Transcriber(load_pretrained(overfit_model.best_dir))
    for entry in entries:
        wave = load_audio(entry.audio_filepath)
        inputs = processor(wave, sampling_rate=16000, return_tensors="pt")
        with torch.no_grad():
            ids = model(**inputs).logits.argmax(-1)
        theirs = processor.batch_decode(ids)[0]
        assert theirs == ours.transcribe_waveforms([wave])[0].text == entry.text


def _train_cli(base, out, steps, eval_every, extra=()):
    return [sys.executable, "-m", "speechtl.cli", "train", "--base", str(base), "--train-manifest", str(SAMPLE_MANIFEST),
            "--dev-manifest", str(SAMPLE_MANIFEST), "--output-dir", str(out), "--set", f"max_steps={steps}",
            "--set", f"eval_every={eval_every}", "--set", "batch_size=2", "--set", "progress=false",
            "--set", "freeze.trainable_layers=all", "--set", "freeze.lr_layers=0.001", "--set", "mask_time_prob=0.1",
            *extra]


def _final_weights(out):
    return torch.load(Path(out) / "last.pt", weights_only=True)["model"]


# Runs the training CLI, SIGKILLing itself right after the checkpoint of step KILL_AT is
# written: a hard kill at a known point, whatever the machine's speed.
KILL_AFTER_CHECKPOINT = """
import os, signal, sys
import speechtl.training.loop as loop
from speechtl.cli import main

save = loop.save_checkpoint
def save_then_die(path, model, optimizer, scheduler, scaler, state, *rest):
    save(path, model, optimizer, scheduler, scaler, state, *rest)
    if state.step == int(os.environ["KILL_AT"]):
        os.kill(os.getpid(), signal.SIGKILL)
loop.save_checkpoint = save_then_die
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_killed_run_resumes_where_it_stopped(tmp_path):
    """SIGKILL mid-run, rerun the same command: it resumes from the last
    checkpoint and ends with exactly the weights of an uninterrupted run."""
    base = write_random_checkpoint(tmp_path / "base")
    steps, every = 40, 5
    straight = subprocess.run(_train_cli(base, tmp_path / "straight", steps, every), capture_output=True, text=True)
    assert straight.returncode == 0, straight.stderr

    out = tmp_path / "killed"
    args = _train_cli(base, out, steps, every)[3:]  # without "python -m speechtl.cli"
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_CHECKPOINT, *args], capture_output=True, text=True,
                            env={**os.environ, "KILL_AT": "15"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    history = out / "history.json"
    assert torch.load(out / "last.pt", weights_only=True)["state"]["step"] == 15
    assert [row["step"] for row in json.loads(history.read_text())] == [5, 10]  # written after the checkpoint

    resumed = subprocess.run(_train_cli(base, out, steps, every), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    steps_logged = [row["step"] for row in json.loads(history.read_text())]
    assert steps_logged == list(range(every, steps + 1, every))  # nothing lost, nothing twice
    a, b = _final_weights(tmp_path / "straight"), _final_weights(out)
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name


def test_resume_refuses_another_models_checkpoint(tmp_path, sample_entries, alphabet):
    config = TrainConfig(output_dir=str(tmp_path), max_steps=1, eval_every=1, batch_size=2, progress=False)
    train(random_wav2vec2(alphabet), sample_entries[:2], [], config)
    from speechtl.errors import SpeechtlError

    with pytest.raises(SpeechtlError, match="another model"):
        train(random_wav2vec2(alphabet, num_hidden_layers=1), sample_entries[:2], [], replace(config, max_steps=2))


def test_early_stopping(tmp_path, sample_entries, alphabet):
    frozen_lr = FreezePolicy(lr_head=0.0, lr_layers=0.0)  # nothing can improve
    config = TrainConfig(output_dir=str(tmp_path), max_steps=50, eval_every=2, patience=2, batch_size=2,
                         progress=False, freeze=frozen_lr)
    result = train(random_wav2vec2(alphabet), sample_entries, sample_entries[:2], config)
    assert result.stopped_early and result.steps == 6  # best at step 2, no better at 4 and 6
    assert [row["step"] for row in result.history] == [2, 4, 6]


def test_gradient_accumulation_and_frozen_bottom(tmp_path, sample_entries, alphabet):
    bundle = random_wav2vec2(alphabet)
    conv_before = bundle.model.wav2vec2.feature_extractor.conv_layers[0].conv.weight.detach().clone()
    layer0_before = bundle.model.wav2vec2.encoder.layers[0].feed_forward.output_dense.weight.detach().clone()
    config = TrainConfig(output_dir=str(tmp_path), max_steps=3, eval_every=3, batch_size=1, grad_accum_steps=2,
                         progress=False, freeze=FreezePolicy(trainable_layers=1))
    result = train(bundle, sample_entries, sample_entries[:1], config)
    assert result.steps == 3
    assert torch.equal(conv_before, bundle.model.wav2vec2.feature_extractor.conv_layers[0].conv.weight)
    assert torch.equal(layer0_before, bundle.model.wav2vec2.encoder.layers[0].feed_forward.output_dense.weight)


def test_audio_that_breaks_during_training_is_skipped(tmp_path, sample_entries, alphabet):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    entries = list(sample_entries[:2]) + [ManifestEntry("broken", str(broken), 1.0, "hello")]
    config = TrainConfig(output_dir=str(tmp_path / "run"), max_steps=3, eval_every=3, batch_size=1, progress=False)
    assert train(random_wav2vec2(alphabet), entries, [], config).steps == 3


@pytest.mark.slow
def test_multi_process_training_with_torchrun(tmp_path):
    """Two CPU processes under torchrun (gloo): DDP trains and rank 0 writes the model."""
    base = write_random_checkpoint(tmp_path / "base")
    out = tmp_path / "ddp"
    import socket

    with socket.socket() as s:  # a free port: two suites on one machine must not collide
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
           "-m", "speechtl.cli"] + _train_cli(base, out, 4, 2)[3:]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "best" / "model.safetensors").is_file()
    assert [row["step"] for row in json.loads((out / "history.json").read_text())] == [2, 4]
    assert np.isfinite(json.loads((out / "history.json").read_text())[-1]["train_loss"])


def _distance_from_start(anchor_weight, tmp_path, entries, alphabet):
    bundle = random_wav2vec2(alphabet)
    start = {n: p.detach().clone() for n, p in bundle.model.named_parameters()}
    config = TrainConfig(output_dir=str(tmp_path / f"anchor-{anchor_weight}"), max_steps=6, eval_every=6,
                         batch_size=2, progress=False, anchor_weight=anchor_weight, cache_prefix=False,
                         freeze=FreezePolicy(trainable_layers=1, lr_head=1e-2, lr_layers=1e-2))
    train(bundle, entries, [], config)
    return sum(float(((p - start[n]) ** 2).sum()) for n, p in bundle.model.named_parameters() if p.requires_grad)


def test_l2sp_anchor_keeps_weights_near_the_start(tmp_path, sample_entries, alphabet):
    free = _distance_from_start(0.0, tmp_path, sample_entries[:4], alphabet)
    anchored = _distance_from_start(50.0, tmp_path, sample_entries[:4], alphabet)
    assert free > 0 and anchored < 0.5 * free


def test_a_finished_run_is_not_trained_further(tmp_path, sample_entries, alphabet, capsys):
    config = TrainConfig(output_dir=str(tmp_path), max_steps=2, eval_every=2, batch_size=2, progress=False)
    train(random_wav2vec2(alphabet), sample_entries[:2], [], config)
    last = (tmp_path / "last.pt").stat().st_mtime_ns
    again = train(random_wav2vec2(alphabet), sample_entries[:2], [], config)
    assert again.steps == 2 and "finished before" in capsys.readouterr().out
    assert (tmp_path / "last.pt").stat().st_mtime_ns == last


@pytest.mark.slow
def test_ctrl_c_says_what_was_kept(tmp_path):
    base = write_random_checkpoint(tmp_path / "base")
    out = tmp_path / "run"
    # patience=0: no early stop may end the run before the interrupt arrives
    proc = subprocess.Popen(_train_cli(base, out, 100000, 5, ("--set", "patience=0")), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:  # never leave the trainer running if the test fails
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not (out / "last.pt").exists():
            time.sleep(0.05)
        assert proc.poll() is None, "training ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130
    kept = torch.load(out / "last.pt", weights_only=True)["state"]["step"]
    assert f"holds step {kept}" in err and "resumes" in err and "Traceback" not in err
