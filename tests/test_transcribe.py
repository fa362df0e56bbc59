import pytest

from speechtl.model.loader import load_pretrained
from speechtl.transcribe import Transcriber, to_json, to_srt

from .conftest import SR, join_clips


@pytest.fixture(scope="module")
def model(overfit_model):
    return load_pretrained(overfit_model.best_dir)


def test_long_audio_transcribes_to_the_concatenated_text(model, sample_waves, sample_entries):
    order = [0, 1, 2, 3, 0, 1, 2, 3, 0]  # ~30 s: far longer than one 4 s chunk
    wave = join_clips([sample_waves[i] for i in order])
    expected = " ".join(sample_entries[i].text for i in order)
    t = Transcriber(model, chunk_length_s=4.0, stride_length_s=1.0)
    assert len(t.acoustic.plan(0, len(wave))) > 10
    hyp = t.transcribe_waveforms([wave])[0]
    assert hyp.text == expected
    starts = [w.start for w in hyp.words]
    assert starts == sorted(starts) and 0 <= hyp.words[0].start and hyp.words[-1].end <= len(wave) / SR


def test_batch_of_files_with_a_bad_one(model, pair_corpus, tmp_path):
    _, entries = pair_corpus
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF????WAVE")
    paths = [entries[0].audio_filepath, str(broken), str(tmp_path / "missing.wav"), entries[1].audio_filepath]
    results = list(Transcriber(model, batch_size=2).transcribe_files(paths))
    assert [r.path for r in results] == paths
    assert results[0].text == entries[0].text and results[3].text == entries[1].text
    assert "cannot read audio" in results[1].error and "file not found" in results[2].error


def test_json_and_srt(model, pair_corpus):
    _, entries = pair_corpus
    (result,) = Transcriber(model).transcribe_files([entries[0].audio_filepath])
    data = to_json(result)
    assert " ".join(w["word"] for w in data["words"]) == data["text"] == entries[0].text
    srt = to_srt(result, max_cue_length=1.5)
    blocks = srt.strip().split("\n\n")
    assert len(blocks) > 1 and blocks[0].startswith("1\n00:00:00,")
    assert " ".join(b.split("\n")[2] for b in blocks) == entries[0].text


def test_long_files_stream_to_the_same_text(model, sample_waves, sample_entries, tmp_path, monkeypatch):
    import soundfile as sf

    import speechtl.transcribe as transcribe

    order = [0, 1, 2, 3, 0, 1]
    wave = join_clips([sample_waves[i] for i in order])
    path = tmp_path / "long.wav"
    sf.write(path, wave, SR, subtype="FLOAT")
    t = Transcriber(model, chunk_length_s=4.0, stride_length_s=1.0)
    monkeypatch.setattr(transcribe, "LONG_AUDIO_S", 5.0)  # streamed (model/chunked.py tests the log-probabilities)
    (result,) = t.transcribe_files([path])
    assert result.text == " ".join(sample_entries[i].text for i in order)
