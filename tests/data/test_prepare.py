"""`speechtl prepare` on tiny fake corpora in each published layout: good and broken."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speechtl.cli import main
from speechtl.data.manifest import read_manifest
from speechtl.data.prepare import (LJSPEECH_EXCLUDED, CorpusLayoutError, prepare_corpus, prepared_manifests,
                                   split_speakers)


def _wav(path: Path, seconds: float, rate: int = 16000, fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.1 * np.sin(np.arange(int(seconds * rate)) / 7)).astype(np.float32), rate, format=fmt)


def fake_librispeech(root: Path, speakers=("11", "22", "33", "44", "55")) -> Path:
    for spk in speakers:
        chapter = root / "train-clean-5" / spk / "100"
        lines = []
        for i in range(3):
            utt = f"{spk}-100-{i:04d}"
            _wav(chapter / f"{utt}.flac", 0.5 + 0.1 * i, fmt="FLAC")
            lines.append(f"{utt} HELLO NUMBER {i} FROM {spk}")
        (chapter / f"{spk}-100.trans.txt").write_text("\n".join(lines) + "\n")
    return root


def fake_speechocean(root: Path) -> Path:
    for split, speakers in (("train", ("0001", "0002", "0003", "0004")), ("test", ("0005", "0006"))):
        folder = root / split
        folder.mkdir(parents=True)
        scp, text, spk2 = [], [], []
        for spk in speakers:
            for i in range(2):
                utt = f"{spk}{i:05d}"
                rel = f"WAVE/SPEAKER{spk}/{utt}.WAV"
                _wav(root / rel, 0.4, fmt="WAV")
                scp.append(f"{utt}\t{rel}")
                text.append(f"{utt}\tWE CALL IT BEAR")
                spk2.append(f"{utt}\t{spk}")
        for name, rows in (("wav.scp", scp), ("text", text), ("utt2spk", spk2)):
            (folder / name).write_text("\n".join(rows) + "\n")
    return root


def fake_vctk(root: Path) -> Path:
    (root / "speaker-info.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "speaker-info.txt").write_text("ID  AGE  GENDER  ACCENTS  REGION\n239  22  F  English  SW England\n")
    for i in (1, 2):
        (root / "txt" / "p239").mkdir(parents=True, exist_ok=True)
        (root / "txt" / "p239" / f"p239_{i:03d}.txt").write_text("Please call Stella.\n")
        _wav(root / "wav48" / "p239" / f"p239_{i:03d}.wav", 0.5, rate=48000)
    return root


def fake_ljspeech(root: Path) -> Path:
    rows = []
    for clip in (LJSPEECH_EXCLUDED[0], "LJ001-0033", "LJ001-0034", "LJ002-0001"):
        rows.append(f"{clip}|Printing, in the 15th century|Printing, in the fifteenth century")
        if clip != "LJ002-0001":  # a partial copy: metadata lists a clip that is absent
            _wav(root / "wavs" / f"{clip}.wav", 0.6, rate=22050)
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    return root


def test_librispeech_splits_by_speaker(tmp_path):
    source = fake_librispeech(tmp_path / "LibriSpeech", speakers=tuple(str(s) for s in range(10, 30)))
    prepared = prepare_corpus("mini-librispeech", source, tmp_path / "out")
    assert set(prepared.manifests) == {"train", "dev", "test"}
    speakers = {split: {e.speaker for e in read_manifest(path)} for split, path in prepared.manifests.items()}
    assert not (speakers["train"] & speakers["dev"]) and not (speakers["train"] & speakers["test"])
    assert not (speakers["dev"] & speakers["test"])
    assert sum(prepared.utterances.values()) == 60 and prepared.speakers["test"] == 2
    entry = read_manifest(prepared.manifests["train"])[0]
    assert Path(entry.audio_filepath).is_file() and entry.text.startswith("HELLO NUMBER")
    assert abs(entry.duration - 0.5) < 0.21
    assert "CC BY 4.0" in (tmp_path / "out" / "mini-librispeech" / "LICENSE.md").read_text()
    assert prepared_manifests(tmp_path / "out", "train") == [prepared.manifests["train"]]


def test_speaker_split_is_stable_when_speakers_are_added():
    few = split_speakers([f"s{i}" for i in range(40)], 0.05, 0.1, salt="x")
    more = split_speakers([f"s{i}" for i in range(41)], 0.05, 0.1, salt="x")
    moved = [s for s in few if few[s] != more[s]]
    assert len(moved) <= 2  # a hash decides, so adding one speaker moves at most a boundary or two
    assert split_speakers(["a", "b"], 0.05, 0.1, salt="x") == {"a": "train", "b": "train"}


def test_speechocean_kaldi_folders(tmp_path):
    prepared = prepare_corpus("speechocean762", fake_speechocean(tmp_path / "so"), tmp_path / "out")
    entries = [e for p in prepared.manifests.values() for e in read_manifest(p)]
    assert len(entries) == 12 and {e.text for e in entries} == {"WE CALL IT BEAR"}
    assert {e.speaker for e in entries} == {"0001", "0002", "0003", "0004", "0005", "0006"}


def test_single_speaker_corpora_go_to_train_and_ljspeech_leaves_out_the_shared_dev_clips(tmp_path):
    vctk = prepare_corpus("vctk", fake_vctk(tmp_path / "VCTK-Corpus"), tmp_path / "out")
    assert set(vctk.manifests) == {"train"} and vctk.utterances["train"] == 2
    lj = prepare_corpus("ljspeech", fake_ljspeech(tmp_path / "LJSpeech-1.1"), tmp_path / "out")
    ids = [e.id for e in read_manifest(lj.manifests["train"])]
    assert ids == ["LJ001-0033", "LJ001-0034"]  # the excluded clip and the absent one are not there
    assert read_manifest(lj.manifests["train"])[0].text == "Printing, in the fifteenth century"


@pytest.mark.parametrize("corpus,make,remove,named", [
    ("mini-librispeech", fake_librispeech, "train-clean-5", "train-clean-5 or dev-clean-2"),
    ("speechocean762", fake_speechocean, "test/utt2spk", "test/utt2spk"),
    ("vctk", fake_vctk, "speaker-info.txt", "speaker-info.txt"),
    ("ljspeech", fake_ljspeech, "metadata.csv", "metadata.csv"),
])
def test_a_broken_layout_names_what_is_missing(tmp_path, corpus, make, remove, named):
    import shutil

    source = make(tmp_path / "corpus")
    target = source / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(CorpusLayoutError, match=f"missing {named}"):
        prepare_corpus(corpus, source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_prepare(tmp_path, capsys):
    source = fake_librispeech(tmp_path / "LibriSpeech")
    assert main(["prepare", "mini-librispeech", "--source", str(source), "--output-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "mini-librispeech: train" in out and (tmp_path / "out" / "mini-librispeech" / "train.jsonl").is_file()
    assert main(["prepare", "vctk", "--source", str(tmp_path / "nowhere"), "--output-dir", str(tmp_path / "o")]) == 2
    assert "no such folder" in capsys.readouterr().err
    rows = [json.loads(line) for line in (tmp_path / "out" / "mini-librispeech" / "train.jsonl").open()]
    assert all(r["speaker"] for r in rows)


def test_a_rerun_with_fewer_speakers_leaves_no_stale_split(tmp_path):
    many = fake_librispeech(tmp_path / "many", speakers=tuple(str(s) for s in range(10, 30)))
    assert set(prepare_corpus("mini-librispeech", many, tmp_path / "out").manifests) == {"train", "dev", "test"}
    few = fake_librispeech(tmp_path / "few", speakers=("11", "22"))
    assert set(prepare_corpus("mini-librispeech", few, tmp_path / "out").manifests) == {"train"}
    folder = tmp_path / "out" / "mini-librispeech"
    assert sorted(p.name for p in folder.iterdir()) == ["LICENSE.md", "train.jsonl"]


def test_unreadable_and_missing_clips_are_skipped_and_counted(tmp_path, capsys):
    source = fake_ljspeech(tmp_path / "LJSpeech-1.1")
    (source / "wavs" / "LJ001-0034.wav").write_bytes(b"RIFF, but no audio")
    prepared = prepare_corpus("ljspeech", source, tmp_path / "out")
    assert prepared.utterances["train"] == 1
    assert [s.split(":")[0] for s in prepared.skipped] == ["LJ001-0034", "LJ002-0001"]
    assert "audio missing" in prepared.skipped[1]
    assert main(["prepare", "ljspeech", "--source", str(source), "--output-dir", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "skipped LJ001-0034" in err and "skipped LJ002-0001" in err


@pytest.mark.parametrize("damage, named", [
    (lambda p: p.write_text(p.read_text() + "LJ003-0001 no pipes here\n"), r"metadata.csv:5: expected 'ID\|text"),
    (lambda p: p.write_bytes(p.read_bytes() + "LJ003-0001|caf\xe9|caf\xe9\n".encode("latin-1")), "not UTF-8"),
])
def test_malformed_metadata_is_named_with_its_file_and_line(tmp_path, capsys, damage, named):
    source = fake_ljspeech(tmp_path / "LJSpeech-1.1")
    damage(source / "metadata.csv")
    with pytest.raises(CorpusLayoutError, match=named):
        prepare_corpus("ljspeech", source, tmp_path / "out")
    assert main(["prepare", "ljspeech", "--source", str(source), "--output-dir", str(tmp_path / "o")]) == 2
    assert "metadata.csv" in capsys.readouterr().err


def test_a_corpus_one_folder_down_is_found_as_a_download_leaves_it(tmp_path):
    fake_librispeech(tmp_path / "raw" / "LibriSpeech")  # `--download --source raw` unpacks it there
    prepared = prepare_corpus("mini-librispeech", tmp_path / "raw", tmp_path / "out")
    assert sum(prepared.utterances.values()) == 15
