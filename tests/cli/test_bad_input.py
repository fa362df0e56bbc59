"""Nothing lost, nothing silent: each defect of the bad-input review, then every command
against one shared set of bad inputs (exit code, one line, no traceback, outputs kept)."""

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from speechtl.cli import main
from speechtl.cli.outputs import audio_sources, output_paths
from speechtl.data.manifest import ManifestEntry, read_manifest, validate, write_manifest
from speechtl.errors import SpeechtlError
from speechtl.model.tiny import write_random_checkpoint
from speechtl.vocabulary import Vocabulary

from ..conftest import SAMPLE_MANIFEST, write_wav


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "model")


def _sample_entries():
    return read_manifest(SAMPLE_MANIFEST)


# --- 1. transcribe --output-dir --------------------------------------------------------

def test_colliding_stems_get_their_own_outputs(tmp_path):
    for rel in ("x.wav", "x.flac", "a/y.wav", "b/y.wav", "c/z.wav"):
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / rel).touch()
    sources, _ = audio_sources([str(tmp_path / "in")])
    out = output_paths(sources, tmp_path / "out", "txt")
    assert len(set(out.values())) == 5
    assert {str(p.relative_to(tmp_path / "out")) for p in out.values()} == \
        {"x.wav.txt", "x.flac.txt", "a/y.txt", "b/y.txt", "c/z.txt"}


def test_existing_outputs_are_kept_and_a_rerun_resumes(tiny_model, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for i, e in enumerate(_sample_entries()[:2]):
        shutil.copy(e.audio_filepath, src / f"{i}.wav")
    out = tmp_path / "out"
    out.mkdir()
    (out / "0.txt").write_text("my corrected transcript\n")
    os.chmod(out / "0.txt", 0o644)
    args = ["transcribe", str(src), "--model", str(tiny_model), "--output-dir", str(out), "--no-progress"]
    assert main(args) == 1  # a file it did not write is never overwritten: skipped, named, counted
    err = capsys.readouterr().err
    assert (out / "0.txt").read_text() == "my corrected transcript\n"  # not overwritten
    assert (out / "1.txt").is_file() and "1 transcribed, 0 kept, 1 not overwritten" in err
    assert "0.txt exists and speechtl has no record" in err
    assert main(args) == 1 and "0 transcribed, 1 kept" in capsys.readouterr().err  # its own output: kept
    assert stat.S_IMODE((out / "1.txt").stat().st_mode) == 0o666 & ~_umask()  # not 0600
    assert main(args + ["--overwrite"]) == 0
    assert (out / "0.txt").read_text() != "my corrected transcript\n"
    assert main(args) == 0 and "0 transcribed, 2 kept" in capsys.readouterr().err
    assert stat.S_IMODE((out / "0.txt").stat().st_mode) == 0o644  # the replaced file's mode is kept


def test_an_output_belongs_to_its_input_not_to_a_folder_that_moves(tiny_model, tmp_path, capsys):
    clips = [e.audio_filepath for e in _sample_entries()[:2]]
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "x").mkdir(parents=True)
    shutil.copy(clips[0], src / "x" / "a.wav")
    args = ["transcribe", str(src), "--model", str(tiny_model), "--output-dir", str(out), "--no-progress"]
    assert main(args) == 0
    first = (out / "x" / "a.txt").read_text()
    shutil.copy(clips[1], src / "a.wav")  # a file higher up, with the same name
    assert main(args) == 0
    assert "1 transcribed, 1 kept" in capsys.readouterr().err
    assert (out / "x" / "a.txt").read_text() == first and (out / "a.txt").is_file()
    # a changed input is redone; an unchanged one kept
    shutil.copy(clips[0], src / "a.wav")
    os.utime(src / "a.wav", ns=(1, 1))
    assert main(args) == 0 and "1 transcribed, 1 kept" in capsys.readouterr().err
    assert (out / "a.txt").read_text() == first


def test_two_inputs_that_would_share_an_output_are_refused_before_work(tiny_model, tmp_path, capsys):
    clip = _sample_entries()[0].audio_filepath
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        shutil.copy(clip, tmp_path / folder / "a.wav")
    args = ["transcribe", str(tmp_path / "one"), str(tmp_path / "two"), "--model", str(tiny_model),
            "--output-dir", str(tmp_path / "out"), "--no-progress"]
    assert main(args) == 2 and "would both be written to" in capsys.readouterr().err
    assert not (tmp_path / "out" / "a.txt").exists()


@pytest.mark.parametrize("samples", [16, 160, 399])  # 1 ms, 10 ms, just under 25 ms
def test_a_clip_too_short_for_the_model_is_skipped_and_counted(tiny_model, tmp_path, capsys, samples):
    import soundfile as sf

    short = tmp_path / "in" / "short.wav"
    short.parent.mkdir()
    sf.write(short, np.full(samples, 0.1, np.float32), 16_000)
    good = _sample_entries()[0]
    shutil.copy(good.audio_filepath, tmp_path / "in" / "good.wav")
    args = ["transcribe", str(tmp_path / "in"), "--model", str(tiny_model), "--output-dir", str(tmp_path / "out"),
            "--no-progress", "--batch-size", "1"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "too short for the model" in err and "1 transcribed" in err and "1 failed" in err
    assert (tmp_path / "out" / "good.txt").is_file()
    manifest = tmp_path / "m.jsonl"
    write_manifest(manifest, [ManifestEntry("short", str(short), samples / 16_000, "a"), good])
    assert main(["evaluate", "--model", str(tiny_model), "--manifest", str(manifest), "--output-dir",
                 str(tmp_path / "e"), "--no-progress", "--batch-size", "1"]) == 1
    assert "skipped short" in capsys.readouterr().err


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- 2. training into an existing output folder -----------------------------------------

def _train(base, manifest, out, steps=2, extra=()):
    return main(["train", "--base", str(base), "--train-manifest", str(manifest), "--output-dir", str(out),
                 "--set", f"max_steps={steps}", "--set", f"eval_every={steps}", "--set", "batch_size=2",
                 "--set", "progress=false", *extra])


def test_training_refuses_another_runs_folder_and_says_when_finished(tiny_model, tmp_path, capsys):
    manifest = tmp_path / "m.jsonl"
    write_manifest(manifest, _sample_entries()[:3])
    other = tmp_path / "other.jsonl"
    write_manifest(other, _sample_entries()[3:])
    out = tmp_path / "run"
    assert _train(tiny_model, manifest, out) == 0
    first = capsys.readouterr().out
    assert "no dev set" in first and "best dev WER" not in first  # the training loss is not a dev WER
    assert _train(tiny_model, manifest, out) == 0
    assert "finished before" in capsys.readouterr().out
    assert _train(tiny_model, other, out, steps=4) == 2  # new data, same folder
    err = capsys.readouterr().err
    assert "holds another run" in err and "data" in err and "overwrite" in err
    assert _train(tiny_model, other, out, steps=4, extra=("--set", "overwrite=true")) == 0


def test_a_best_folder_lost_between_two_renames_comes_back(tmp_path):
    from speechtl.fileio import atomic_dir, recover_dir

    target = tmp_path / "best"
    with atomic_dir(target) as tmp:
        (tmp / "weights").write_text("v1")
    os.replace(target, tmp_path / ".best.old")  # killed after the first rename
    (tmp_path / ".best.x.tmp").mkdir()  # and a half-written new version
    from speechtl.fileio import clean_stale_temps

    assert recover_dir(target) and (target / "weights").read_text() == "v1"
    assert clean_stale_temps(tmp_path) == 1 and not (tmp_path / ".best.x.tmp").exists()


# --- 3. manifest durations ----------------------------------------------------------

def test_a_mislabelled_duration_is_corrected_from_the_file(tmp_path, alphabet):
    long = write_wav(tmp_path / "long.wav", seconds=6.0)
    entries = [ManifestEntry("long", str(long), 2.0, "hello"),
               ManifestEntry("ok", str(write_wav(tmp_path / "ok.wav", seconds=1.0)), 1.02, "hello")]
    report = validate(entries, alphabet)
    by_id = {e.id: e for e in report.kept}
    assert by_id["long"].duration == pytest.approx(6.0) and by_id["ok"].duration == 1.02
    assert [c.id for c in report.corrected] == ["long"] and "corrected" in report.summary()


# --- 4. one rule for skips ------------------------------------------------------------

def test_evaluate_skips_an_undecodable_file_once_and_strict_fails(tiny_model, tmp_path, capsys, monkeypatch):
    import speechtl.evaluate as evaluate
    from speechtl.errors import AudioError

    rows = list(_sample_entries()[:3]) + [ManifestEntry("ghost", str(tmp_path / "ghost.wav"), 1.0, "hello")]
    manifest = tmp_path / "m.jsonl"
    write_manifest(manifest, rows)
    real_load = evaluate.load_entry

    def load(entry, rate):  # the header reads, the samples do not (a damaged file)
        if entry.id == rows[0].id:
            raise AudioError(f"{entry.audio_filepath}: cannot decode audio (damaged)")
        return real_load(entry, rate)

    monkeypatch.setattr(evaluate, "load_entry", load)
    args = ["evaluate", "--model", str(tiny_model), "--manifest", str(manifest), "--output-dir", str(tmp_path / "e"),
            "--no-progress"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.err.count("skipped ghost") == 1 and captured.err.count(f"skipped {rows[0].id}") == 1
    assert "(2 utterances, 2 skipped)" in captured.out
    assert main(args + ["--strict"]) == 2
    assert "ghost" in capsys.readouterr().err


# --- 5. crashes become named errors before work starts -----------------------------------

def test_broken_model_files_are_named_errors(tiny_model, tmp_path, capsys):
    empty = tmp_path / "empty"
    shutil.copytree(tiny_model, empty)
    (empty / "model.safetensors").write_bytes(b"")
    truncated = tmp_path / "truncated"
    shutil.copytree(tiny_model, truncated)
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    bad_vocab = tmp_path / "bad-vocab"
    shutil.copytree(tiny_model, bad_vocab)
    (bad_vocab / "vocab.json").write_text("{not json")
    wav = write_wav(tmp_path / "a.wav")
    for model in (empty, truncated, bad_vocab):
        assert main(["transcribe", str(wav), "--model", str(model), "--no-progress"]) == 2, model
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(model) in err and "Traceback" not in err


def test_corrupt_checkpoint_and_bad_manifests_are_named_errors(tiny_model, tmp_path, capsys):
    manifest = tmp_path / "m.jsonl"
    write_manifest(manifest, _sample_entries()[:2])
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.pt").write_bytes(b"garbage")
    assert _train(tiny_model, manifest, out) == 2
    assert "not a speechtl checkpoint, or a damaged one" in capsys.readouterr().err
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps({"audio_filepath": "a.wav", "duration": 1, "text": "café"},
                                  ensure_ascii=False).encode("latin-1"))
    nullpath = tmp_path / "null.jsonl"
    nullpath.write_text(json.dumps({"audio_filepath": None, "duration": 1, "text": "x"}) + "\n")
    for bad, message in ((latin, "not UTF-8"), (nullpath, "audio_filepath must be a non-empty string")):
        assert main(["evaluate", "--model", str(tiny_model), "--manifest", str(bad), "--output-dir",
                     str(tmp_path / "e"), "--no-progress"]) == 2
        assert message in capsys.readouterr().err


def test_an_output_dir_that_is_a_file_fails_before_any_work(tiny_model, tmp_path, capsys):
    afile = tmp_path / "out.txt"
    afile.write_text("keep me")
    wav = write_wav(tmp_path / "a.wav")
    assert main(["transcribe", str(wav), "--model", str(tmp_path / "no-model"), "--output-dir", str(afile)]) == 2
    assert "is not a folder" in capsys.readouterr().err  # checked before the (missing) model is even looked at
    assert afile.read_text() == "keep me"


# --- 6. smaller ones ---------------------------------------------------------------------

def test_excel_csv_with_bom_and_weight_rules(tmp_path, caplog):
    bom = tmp_path / "terms.csv"
    bom.write_bytes("\ufeffterm,weight\nmetformin,2\n".encode("utf-8"))
    assert [t.text for t in Vocabulary.load(bom)] == ["metformin"]
    for weight in ("nan", "inf"):
        bad = tmp_path / f"{weight}.txt"
        bad.write_text(f"metformin\t{weight}\n")
        with pytest.raises(SpeechtlError, match="positive finite"):
            Vocabulary.load(bad)
    spaced = tmp_path / "spaced.txt"
    spaced.write_text("metformin 2\n")
    with caplog.at_level("WARNING"):
        Vocabulary.load(spaced)
    assert "TAB" in caplog.text
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café\n".encode("latin-1"))
    with pytest.raises(SpeechtlError, match="not UTF-8"):
        Vocabulary.load(latin)


def test_a_missing_local_model_folder_fails_at_once(capsys):
    t0 = time.perf_counter()
    assert main(["transcribe", __file__, "--model", "./no/such/model"]) == 2
    assert time.perf_counter() - t0 < 5 and "no such model folder" in capsys.readouterr().err


def test_a_truncated_wav_is_transcribed_with_a_warning(tiny_model, tmp_path, capsys):
    wav = write_wav(tmp_path / "cut.wav", seconds=2.0)
    wav.write_bytes(wav.read_bytes()[: 44 + 16000])
    assert main(["transcribe", str(wav), "--model", str(tiny_model), "--no-progress"]) == 0
    assert "is cut off" in capsys.readouterr().err


def test_decoder_save_keeps_the_old_lm_until_the_new_one_is_in_place(tmp_path, alphabet, monkeypatch):
    from speechtl.decode.beam import LM_DIR, BeamDecoder
    from speechtl.lm.build import build_lm

    lm = tmp_path / "lm.arpa"
    build_lm(["hello world", "hello there"], lm, order=2)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    BeamDecoder(alphabet, lm).save(model_dir)
    before = sorted(p.name for p in (model_dir / LM_DIR).iterdir())

    def fail(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(shutil, "copy", fail)
    with pytest.raises(OSError):
        BeamDecoder(alphabet, lm).save(model_dir)
    assert sorted(p.name for p in (model_dir / LM_DIR).iterdir()) == before


# --- every command against shared bad inputs ------------------------------------------------

BAD_INPUTS = {
    "missing file": lambda d: d / "nope.wav",
    "empty file": lambda d: _touch(d / "empty.wav"),
    "not audio": lambda d: _write(d / "text.wav", b"hello, not audio"),
    "non-UTF-8 manifest": lambda d: _write(d / "latin.jsonl", '{"audio_filepath": "a.wav", "duration": 1, '
                                                             '"text": "caf\xe9"}'.encode("latin-1")),
    "output dir is a file": lambda d: _write(d / "taken", b"keep"),
    "10 ms clip": lambda d: write_wav(d / "short.wav", seconds=0.01),
}


def _touch(p: Path) -> Path:
    p.touch()
    return p


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


def _commands(name: str, bad: Path, model: Path, good_wav: Path, good_manifest: Path, out: Path) -> list[list[str]]:
    if name == "output dir is a file":
        return [["transcribe", str(good_wav), "--model", str(model), "--output-dir", str(bad)],
                ["evaluate", "--model", str(model), "--manifest", str(good_manifest), "--output-dir", str(bad)],
                ["train", "--base", str(model), "--train-manifest", str(good_manifest), "--output-dir", str(bad)],
                ["synth", "--text", str(good_manifest), "--output-dir", str(bad)]]
    if name.endswith("manifest"):
        return [["evaluate", "--model", str(model), "--manifest", str(bad), "--output-dir", str(out)],
                ["train", "--base", str(model), "--train-manifest", str(bad), "--output-dir", str(out)],
                ["build-lm", "--text", str(bad), "--output", str(out / "lm.arpa")]]
    return [["transcribe", str(bad), "--model", str(model), "--output-dir", str(out)],
            ["segment", "--model", str(model), "--audio", str(bad), "--transcript", str(good_manifest),
             "--output-dir", str(out)],
            ["transcribe", str(good_wav), "--model", str(bad)],
            ["evaluate", "--model", str(model), "--manifest", str(bad), "--output-dir", str(out)]]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_every_command_on_bad_input(name, tiny_model, tmp_path):
    bad = BAD_INPUTS[name](tmp_path)
    good_wav = write_wav(tmp_path / "good.wav")
    good_manifest = tmp_path / "good.jsonl"
    write_manifest(good_manifest, [ManifestEntry("g", str(good_wav), 1.0, "hello")])
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("existing output")
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for argv in _commands(name, bad, tiny_model, good_wav, good_manifest, out):
        run = subprocess.run([sys.executable, "-m", "speechtl.cli", *argv, *(["--no-progress"] if argv[0] in (
            "transcribe", "evaluate") else [])], capture_output=True, text=True, timeout=300)
        assert run.returncode in (0, 1, 2), (argv, run.stderr[-500:])
        assert "Traceback" not in run.stderr, (argv, run.stderr[-1500:])
        if run.returncode == 2:
            lines = [line for line in run.stderr.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("speechtl: error:"), (argv, run.stderr)
        for path, data in snapshot.items():
            assert path.read_bytes() == data, (argv, path)  # nothing that existed was changed


# --- settings out of range: exit 2, one line, before any work -------------------------------

def _settings_cases(d: Path, model: Path, wav: str, manifest: Path) -> dict[str, list[str]]:
    text = d / "t.txt"
    text.write_text("the court held a hearing\nthe witness said no\n")
    tr = ["transcribe", wav, "--model", str(model), "--output-dir", str(d / "out")]
    lm = ["build-lm", "--text", str(text), "--output", str(d / "o.arpa")]
    train = ["train", "--base", str(model), "--train-manifest", str(manifest), "--output-dir", str(d / "r")]
    return {
        "batch size 0": tr + ["--batch-size", "0"], "batch size -1": tr + ["--batch-size", "-1"],
        "chunk length -1": tr + ["--chunk-length", "-1"],
        "chunk not over twice the stride": tr + ["--chunk-length", "1", "--stride-length", "1"],
        "no such device": tr + ["--device", "nosuch"], "beam width 0": tr + ["--beam-width", "0"],
        "spot threshold nan": tr + ["--spot-threshold", "nan"],
        "unknown two-pass writer": tr + ["--two-pass", "nosuch", "--terms", str(text)],
        "evaluate batch size 0": ["evaluate", "--model", str(model), "--manifest", str(manifest), "--output-dir",
                                  str(d / "e"), "--batch-size", "0"],
        "LM order 0": lm + ["--order", "0"], "LM order 1": lm + ["--order", "1"], "LM order 7": lm + ["--order", "7"],
        "more prune counts than orders": lm + ["--prune", "0", "0", "0", "0", "0"],
        "tune without attach": lm + ["--tune-manifest", str(manifest)],
        "train batch size 0": train + ["--set", "batch_size=0"], "train batch size -1": train + ["--set", "batch_size=-1"],
        "train trainable layers -3": train + ["--set", "freeze.trainable_layers=-3"],
        "train negative learning rate": train + ["--set", "freeze.lr_head=-1"],
        "synth workers 0": ["synth", "--text", str(text), "--output-dir", str(d / "s"), "--workers", "0"],
        "synth unknown voice": ["synth", "--text", str(text), "--output-dir", str(d / "s"), "--voices", "nosuch"],
        "demo steps 0": ["demo", "--steps", "0", "--output-dir", str(d / "demo")],
    }


def test_every_setting_out_of_range_is_a_one_line_error_before_work(tiny_model, tmp_path, capsys):
    wav = _sample_entries()[0].audio_filepath
    for name, argv in _settings_cases(tmp_path, tiny_model, wav, SAMPLE_MANIFEST).items():
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own checks
            code = exc.code
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert code == 2, (name, err)
        assert len(err) == 1 and err[0].startswith("speechtl: error:"), (name, err)
        for made in ("out", "e", "o.arpa", "r", "s", "demo"):
            assert not (tmp_path / made).exists(), (name, made)


def test_damaged_decoding_files_beside_a_model_are_named(tiny_model, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    text = tmp_path / "t.txt"
    text.write_text("the court held a hearing\n")
    assert main(["build-lm", "--text", str(text), "--output", str(tmp_path / "lm.arpa"), "--attach-to",
                 str(model)]) == 0
    wav = _sample_entries()[0].audio_filepath
    (model / "language_model" / "attrs.json").write_text("{not json")
    capsys.readouterr()
    assert main(["transcribe", wav, "--model", str(model)]) == 2
    assert "attrs.json: the LM settings file is not valid JSON" in capsys.readouterr().err
    (model / "language_model" / "attrs.json").write_text('{"alpha": 0.5}')
    assert main(["transcribe", wav, "--model", str(model)]) == 2
    assert "lacks or garbles a setting" in capsys.readouterr().err
    shutil.rmtree(model / "language_model")
    (model / "two-pass.json").write_text("[1, 2")
    assert main(["transcribe", wav, "--model", str(model), "--two-pass", "--terms", str(text)]) == 2
    assert "two-pass.json: the two-pass settings file is not valid JSON" in capsys.readouterr().err
