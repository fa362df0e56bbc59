import numpy as np
import pytest
import soundfile as sf

from speechtl.data.audio import audio_info, find_audio_files, load_audio, normalize_waveform
from speechtl.errors import AudioError

from ..conftest import write_wav


def test_missing_file_is_named(tmp_path):
    with pytest.raises(AudioError, match="nope.wav: file not found"):
        load_audio(tmp_path / "nope.wav")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage that is not audio")
    with pytest.raises(AudioError, match="bad.wav: cannot read audio"):
        load_audio(bad)


def test_empty_audio(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="empty audio"):
        load_audio(empty)


def test_stereo_is_downmixed(tmp_path):
    left = np.full(1600, 0.5, np.float32)
    right = np.full(1600, -0.1, np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    wave = load_audio(path)
    assert wave.ndim == 1 and np.allclose(wave, 0.2, atol=1e-6)


def test_resampled_to_target_rate(tmp_path):
    t = np.arange(44100) / 44100
    path = tmp_path / "a44k.wav"
    sf.write(path, 0.5 * np.sin(2 * np.pi * 440 * t), 44100)
    wave = load_audio(path, 16000)
    assert abs(len(wave) - 16000) <= 1
    # the tone survives resampling: its spectrum peaks at 440 Hz
    peak_hz = np.argmax(np.abs(np.fft.rfft(wave))) * 16000 / len(wave)
    assert abs(peak_hz - 440) < 2


@pytest.mark.parametrize("fmt,subtype", [("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_compressed_formats(tmp_path, fmt, subtype):
    if fmt not in sf.available_formats():
        pytest.skip(f"libsndfile here has no {fmt}")
    path = tmp_path / f"clip.{fmt.lower()}"
    t = np.arange(16000) / 16000
    sf.write(path, 0.3 * np.sin(2 * np.pi * 300 * t), 16000, format=fmt, subtype=subtype)
    wave = load_audio(path)
    assert abs(len(wave) / 16000 - 1.0) < 0.1


def test_offset_and_duration(tmp_path):
    path = tmp_path / "ramp.wav"
    sf.write(path, np.linspace(-1, 1, 16000, dtype=np.float32), 16000, subtype="FLOAT")
    part = load_audio(path, offset=0.5, duration=0.25)
    assert len(part) == 4000
    with pytest.raises(AudioError, match="past the end"):
        load_audio(path, offset=2.0)


def test_info_and_folder_search(tmp_path):
    write_wav(tmp_path / "a.wav", 0.5)
    (tmp_path / "sub").mkdir()
    write_wav(tmp_path / "sub" / "b.wav", 0.25, channels=2)
    (tmp_path / "notes.txt").write_text("not audio")
    assert audio_info(tmp_path / "a.wav").duration == pytest.approx(0.5)
    assert audio_info(tmp_path / "sub" / "b.wav").channels == 2
    assert [p.name for p in find_audio_files(tmp_path)] == ["a.wav", "b.wav"]


def test_normalize_waveform():
    x = normalize_waveform(np.array([1.0, 2.0, 3.0, 4.0]))
    assert abs(x.mean()) < 1e-6 and abs(x.std() - 1) < 1e-3
