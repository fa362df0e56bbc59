import json
import subprocess
import sys
from pathlib import Path

import pytest

RECIPES = Path(__file__).parents[2] / "recipes"
NAMES = sorted(p.parent.name for p in RECIPES.glob("*/train.py"))  # every recipe, found, not listed
TINY = ["--set", "data.hours=0.01", "--set", "data.test_sentences=5", "--set", "data.dev_utterances=5", "--set", "lm.sentences=200",
        "--set", "train.max_steps=4", "--set", "train.eval_every=2", "--set", "train.progress=false",
        "--set", "decoding.alphas=0.5", "--set", "decoding.betas=1", "--set", "decoding.term_weights=3",
        "--set", "decoding.unk_offsets=-10", "--set", "decoding.spot_thresholds=0", "--set", "lm.mix_weights=0,1",
        "--set", "data.general_test_manifest=", "--set", "data.voices=espeak-en-us,espeak-en-gb,festival-kal,flite-slt", "--set", "data.dev_engines=festival",
        "--set", "data.test_engines=flite", "--set", "two_pass.writers=", "--set", "data.longform="]


def test_recipes_are_found():
    assert {"general", "legal", "medical"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_recipe_has_readme_config_train_and_terms(name):
    folder = RECIPES / name
    for part in ("README.md", "config.py", "train.py", "terms.csv"):
        assert (folder / part).is_file(), f"{name}/{part}"
    readme = (folder / "README.md").read_text()
    assert f"python recipes/{name}/train.py" in readme and "| " in readme  # the command and a results table
    assert len((folder / "train.py").read_text().splitlines()) < 40  # the logic lives in speechtl
    presets = _presets(name)
    assert {"cpu", "gpu"} <= set(presets)
    for make in presets.values():
        config = make()
        assert config.domain == name  # a preset of another domain would write into its folders
        assert config.work_path == Path("runs") / name


@pytest.mark.parametrize("name", NAMES)
def test_every_recipe_runs_one_debug_step_on_a_tiny_model(name, tmp_path, monkeypatch):
    # in this process (test_bad_recipe_arguments runs a train.py as a script)
    from speechtl.model.tiny import write_random_checkpoint
    from speechtl.recipe import run_recipe_file

    if subprocess.run(["which", "espeak-ng"], capture_output=True).returncode != 0:
        pytest.skip("espeak-ng not installed")
    base = write_random_checkpoint(tmp_path / "tiny-base")
    # the legal run has "real" speech prepared (the package's sample clips), so its
    # term settings are tuned against the general-speech guard; the others have none
    real = tmp_path / "real"
    if name == "legal":
        from speechtl.data.manifest import read_manifest, write_manifest
        from speechtl.samples import SAMPLE_MANIFEST

        for split in ("train", "dev", "test"):
            write_manifest(real / "samples" / f"{split}.jsonl", read_manifest(SAMPLE_MANIFEST))
    debug = [a.replace("train.max_steps=4", "train.max_steps=1").replace("train.eval_every=2", "train.eval_every=1")
             for a in TINY] + ["--set", "data.hours=0.003", "--set", "lm.mix_weights=1", "--set", "evaluate_base=false",
                               "--set", "lm.general=false", "--set", "lm.lexicon=false", "--set", "decoding.beam_width=4",
                               "--set", f"data.real_dir={real}"]
    if name == "legal":  # the two-pass stage with the real Whisper tiny.en, on the debug run's few utterances,
        # and a long-form set: the sample clips joined into one 40-second recording
        from speechtl.data.longform import join_utterances
        from speechtl.samples import SAMPLE_MANIFEST

        samples = read_manifest(SAMPLE_MANIFEST)
        rec = join_utterances(samples + samples, tmp_path / "long" / "rec.wav", (0.4, 1.2))
        write_manifest(tmp_path / "long" / "recordings.jsonl", [rec])
        debug += ["--set", "two_pass.writers=whisper-tiny.en", "--set", "two_pass.thresholds=0.25",
                  "--set", "writer.steps=2", "--set", "writer.batch_size=1", "--set", "writer.progress=false",
                  "--set", "two_pass.top_terms=8", "--set", "two_pass.whisper_margins=none,-2",
                  "--set", f"data.longform={tmp_path / 'long' / 'recordings.jsonl'}"]
    monkeypatch.chdir(tmp_path)
    assert run_recipe_file(RECIPES / name / "train.py", ["--preset", "cpu", "--base", str(base), *debug]) == 0
    report = json.loads((tmp_path / "runs" / name / "report" / "report.json").read_text())
    assert {(r["model"], r["method"]) for r in report["rows"]} >= {("adapted", "greedy"), ("adapted", "+LM+terms")}
    assert [h["step"] for h in report["history"]] == [1]
    guarded = json.loads((tmp_path / "runs" / name / "stages" / "lm.json").read_text())["general_dev_wer"]
    if name == "legal":
        assert set(guarded) == {"lm", "lm_terms", "lm_terms_spot"} and guarded["lm"] > 0
        # the report states what the terms cost on the real test speech, from its own rows
        rows = {(r["test_set"], r["method"]): r["wer"] for r in report["rows"] if r["model"] == "adapted"}
        on = rows.get(("real-test", "+LM+terms+spotting"), rows[("real-test", "+LM+terms")])
        cost = report["facts"]["terms on vs off on general real speech (adapted, WER points; bound 0.5)"]
        assert cost == f"real-test {100 * (on - rows[('real-test', '+LM')]):+.2f}"
        terms = json.loads((tmp_path / "runs" / name / "model" / "best" / "decoding.json").read_text())
        assert all("guard_wer" in row for row in terms["grid"] if row["step"] in ("terms", "spot"))
        assert terms["config"]["beam_width"] == 4  # the recipe's beam width reaches the saved decoder
        two_pass = json.loads((tmp_path / "runs" / name / "stages" / "two_pass.json").read_text())
        if two_pass["whisper"]:  # faster-whisper and the offline weights are installed
            methods = {r["method"] for r in report["rows"]}
            judged = two_pass["adapted_writer"]
            writer = "adapted writer" if judged and judged["kept"] else "whisper-tiny.en"
            heard = "Whisper+heard terms" + (f" [{writer}]" if judged else "")
            assert "Whisper alone" in methods and (heard in methods) == (two_pass["config"]["top_terms"] > 0)
            assert set(two_pass["general_dev_wer"]) == {"whisper", "whisper_terms", "two_pass"}
            saved = json.loads((tmp_path / "runs" / name / "model" / "best" / "two-pass.json").read_text())
            # one setting at a time: Whisper alone and each prompt with spotting off, then on the
            # chosen prompt spotting judged by Whisper, then by the CTC model alone
            grid = [(g["top_terms"], g["prompt_min_gain"], g["spot_threshold"], g["whisper_margin"])
                    for g in saved["grid"]]
            assert grid[:3] == [(0, None, None, None), (8, 0.0, None, None), (8, None, None, None)]
            # then the chosen prompt's N best rescored (8 weight pairs), then spotting over the choice
            rescored = [g for g in saved["grid"][3:] if g["spot_threshold"] is None]
            assert len(rescored) == 8 and all(g["rescore"] for g in rescored)
            assert [g[2:] for g in grid[11:]] == [(0.25, -2.0), (0.25, None)] and len({g[:2] for g in grid[3:]}) == 1
            assert saved["config"] == two_pass["config"]  # the settings, one object in both
            # the long recording: Whisper's own long-form decoding and the settings the guard tried
            long_rows = {r["method"]: r for r in report["rows"] if r["test_set"] == "long-long"}
            assert "Whisper alone (its long-form decoding) [whisper-tiny.en]" in long_rows and len(long_rows) >= 2
            assert set(two_pass["longform"]) == {"long-long"} and saved["longform"] == two_pass["longform"]
            assert set(two_pass["writers"]) == {"whisper-tiny.en"} and saved["writers"] == two_pass["writers"]
            assert all(f["rtf"] > 0 and f["recordings"] == 1 for f in two_pass["longform"]["long-long"].values())
            # the adapted writer: trained into the model folder, judged at the chosen settings,
            # scored beside the original whichever was kept
            assert saved["adapted_writer"] == judged and set(judged["dev_wer"]) == {"whisper", "two_pass"}
            assert set(judged["guard"]) == {"real-dev", "long-long"} and judged["kept"] == (judged["reason"] is None)
            assert (tmp_path / "runs" / name / "model" / "best" / "writer" / "model.bin").is_file()
            assert saved["whisper"] == ("writer" if judged["kept"] else "whisper-tiny.en")
            # at the original's prompt, with its spotting tuned again on dev; kept, those are the settings saved
            own, theirs = judged["config"], judged["original_config"]
            assert (own["top_terms"], own["rescore"]) == (theirs["top_terms"], theirs["rescore"])
            assert own["spot_threshold"] in (0.25, None) and own["whisper_margin"] in (-2.0, None)
            spotting = ("spot_threshold", "whisper_margin", "near_spelling")
            assert [saved["config"][k] for k in spotting] == [(own if judged["kept"] else theirs)[k] for k in spotting]
            # a kept writer's long-form rows beside the original's
            assert ("Whisper alone (its long-form decoding) [adapted writer]" in long_rows) == judged["kept"]
            assert "adapted Whisper alone" in methods
            # the two-pass rows say which writer wrote them
            other = "whisper-tiny.en" if judged["kept"] else "adapted writer"
            spotted = two_pass["config"]["spot_threshold"] is not None
            assert (f"Whisper+heard terms+spotting [{writer}]" in methods) == spotted
            assert (f"Whisper+heard terms+spotting [{other}, not chosen]" in methods) == spotted
        else:
            assert two_pass["skipped"]
    else:
        assert guarded is None


def _presets(name: str) -> dict:
    from speechtl.recipe import load_presets

    return load_presets(RECIPES / name)


def test_presets_are_typed_and_overridable():
    from speechtl.config import apply_overrides

    PRESETS = _presets("legal")

    cpu = PRESETS["cpu"]()
    assert cpu.preset == "cpu" and cpu.domain == "legal" and cpu.train.freeze.trainable_layers == 2
    changed = apply_overrides(cpu, ["train.max_steps=10", "data.hours=2.5", "train.freeze.lr_head=0.01"])
    assert (changed.train.max_steps, changed.data.hours, changed.train.freeze.lr_head) == (10, 2.5, 0.01)
    assert PRESETS["gpu"]().train.precision == "auto"
    medical = _presets("medical")  # a change for one preset only
    assert (medical["cpu"]().data.hours, medical["gpu"]().data.hours) == (0.75, 10.0)
    assert medical["cpu"]().data.text == medical["gpu"]().data.text == "heldout"


def test_domain_text_settings_and_sentences(tmp_path, capsys):
    from speechtl.errors import SpeechtlError
    from speechtl.recipe.data import training_text

    legal = _presets("legal")["cpu"]()
    notes = tmp_path / "notes.txt"
    notes.write_text("The lessee signed the lease. It was void.\n\nNo appeal was filed.\n", encoding="utf-8")
    assert training_text(legal) == []
    assert training_text(legal.changed(data__text=str(notes))) == [
        "The lessee signed the lease.", "It was void.", "No appeal was filed."]
    assert training_text(legal.changed(data__text="shared:no/such/folder")) == []
    assert "not found" in capsys.readouterr().out
    with pytest.raises(SpeechtlError, match="not found"):  # your own path, missing: an error, not a fallback
        training_text(legal.changed(data__text=str(tmp_path / "missing.txt")))
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    assert training_text(legal.changed(data__text=str(tmp_path / "empty.txt"))) == []
    assert "no sentences" in capsys.readouterr().out
    with pytest.raises(SpeechtlError, match="text_share"):
        legal.changed(data__text_share=1.5)
    with pytest.raises(SpeechtlError, match="heldout_transcripts"):
        legal.changed(data__text="heldout")  # legal's held-out sentences are heldout.txt, not transcripts


@pytest.fixture(scope="module")
def legal_run(tmp_path_factory):
    from speechtl.model.tiny import write_random_checkpoint

    if subprocess.run(["which", "espeak-ng"], capture_output=True).returncode != 0:
        pytest.skip("espeak-ng not installed")
    root = tmp_path_factory.mktemp("recipe")
    base = write_random_checkpoint(root / "tiny-base")
    cmd = [sys.executable, str(RECIPES / "legal" / "train.py"), "--preset", "cpu", "--base", str(base), *TINY]
    first = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:] + first.stdout[-3000:]
    return root, cmd, first.stdout


@pytest.mark.slow
def test_legal_recipe_end_to_end_on_a_tiny_config(legal_run):
    root, _, stdout = legal_run
    run = root / "runs" / "legal"
    for stage in ("data", "base", "train", "lm", "evaluate", "report"):
        assert (run / "stages" / f"{stage}.json").is_file(), stage
    report = json.loads((run / "report" / "report.json").read_text())
    combos = {(r["model"], r["method"]) for r in report["rows"]}
    assert combos >= {(m, d) for m in ("base", "adapted") for d in ("greedy", "+LM", "+LM+terms")}
    assert {d for _, d in combos} <= {"greedy", "+LM", "+LM+terms", "+LM+terms+spotting", "+domain-only LM+terms"}
    # headline test: 5 held-out sentences spoken twice; the generator's sentences once
    assert {(r["test_set"], r["utterances"]) for r in report["rows"]} == {("legal-test", 10), ("legal-generated", 5)}
    # every row is the score of its own results file (the report is filled, not made up)
    from speechtl.metrics import score

    evaluated = json.loads((run / "stages" / "evaluate.json").read_text())["results"]
    for r in report["rows"]:
        method = {"greedy": "greedy", "+LM": "lm", "+LM+terms": "lm-terms", "+LM+terms+spotting": "lm-terms-spot",
                  "+domain-only LM+terms": "domain-lm-terms"}[r["method"]]
        utts = json.loads(Path(root, evaluated[f"{r['test_set']}/{r['model']}/{method}"]["results"]).read_text())["utterances"]
        rescored = score([u["id"] for u in utts], [u["ref"] for u in utts], [u["hyp"] for u in utts])
        assert (r["wer"], r["cer"], r["utterances"]) == (rescored.wer, rescored.cer, len(utts))
    assert [h["step"] for h in report["history"]] == [2, 4]
    html = (run / "report" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "<table>" in html
    for png in ("curve.png", "comparison.png"):
        assert (run / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (run / "report" / "report.md").read_text()
    assert "| legal-test | adapted | +LM+terms |" in md and "Worst utterances" in md
    model = run / "model" / "best"
    assert (model / "language_model" / "attrs.json").is_file() and (model / "decoding.json").is_file()
    # no engine on both sides: training speaks espeak only, dev festival, tests flite
    data = json.loads((run / "stages" / "data.json").read_text())
    voices = lambda manifest: {json.loads(line)["speaker"] for line in open(root / manifest)}  # noqa: E731
    assert {v.split("-")[0] for v in voices(data["train"])} == {"espeak"}
    assert voices(data["dev"]) == {"festival-kal"}
    assert voices(data["test"]) == voices(data["generated_test"]) == {"flite-slt"}
    assert "| test set |" in stdout


@pytest.mark.slow
def test_rerun_skips_finished_stages(legal_run):
    root, cmd, _ = legal_run
    again = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    from speechtl.recipe.runner import STAGES

    assert again.stdout.count("done before, skipping") == len(STAGES)
    # a setting only the evaluation reads: the evaluate and report stages run again, the rest is kept
    fewer = subprocess.run(cmd + ["--set", "evaluate_base=false"], cwd=root, capture_output=True, text=True, timeout=300)
    assert fewer.returncode == 0, fewer.stderr[-2000:]
    assert fewer.stdout.count("done before, skipping") == len(STAGES) - 2
    assert "[evaluate] done before, running it again: its settings changed (evaluate_base: True -> False)" in fewer.stdout
    report = json.loads((root / "runs" / "legal" / "report" / "report.json").read_text())
    assert {r["model"] for r in report["rows"]} == {"adapted"}
    # training settings the model cannot go on from: an error naming the way out, the model kept
    model = root / "runs" / "legal" / "model" / "last.pt"
    before = model.stat().st_mtime_ns
    other = subprocess.run(cmd + ["--set", "evaluate_base=false", "--set", "train.warmup_steps=1"], cwd=root,
                           capture_output=True, text=True, timeout=300)
    assert other.returncode == 2 and "--set train.overwrite=true" in other.stderr, other.stderr[-2000:]
    assert model.stat().st_mtime_ns == before


def test_bad_recipe_arguments(capsys):
    from speechtl.recipe import run_recipe_file

    run = subprocess.run([sys.executable, str(RECIPES / "legal" / "train.py"), "--set", "nope=1"],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "unknown setting 'nope'" in run.stderr
    assert run_recipe_file(RECIPES / "legal" / "train.py", ["--set", "decoding.beam_width=0"]) == 2
    assert "beam_width must be at least 1, not 0" in capsys.readouterr().err


def test_general_recipe_starts_from_whisper_base_and_domains_from_the_shipped_model():
    from speechtl.constants import WHISPER_BASE
    from speechtl.model.base import GENERAL_BASE, resolve_base

    general = _presets("general")["cpu"]()
    assert resolve_base(general.base, general.preset) == WHISPER_BASE and general.data.real_share == 1.0
    legal = _presets("legal")["cpu"]()
    assert resolve_base(legal.base, legal.preset) == GENERAL_BASE
    assert legal.train.anchor_weight > 0 and 0 < legal.data.real_share < 1
    assert resolve_base("/my/checkpoint", "cpu") == "/my/checkpoint"


def test_replacing_the_domain_moves_the_folders():
    import dataclasses

    legal = _presets("legal")["cpu"]()
    medical = dataclasses.replace(legal, domain="medical")
    assert (medical.work_path, medical.data_path) == (Path("runs/medical"), Path("data/medical"))
    assert dataclasses.replace(legal, work_dir="x").work_path == Path("x")


def _write_real(root: Path, corpus: str, split: str, n: int) -> None:
    from speechtl.data.manifest import ManifestEntry, write_manifest

    write_manifest(root / corpus / f"{split}.jsonl",
                   [ManifestEntry(f"{corpus}-{split}-{i}", f"/audio/{corpus}/{i}.flac", 2.0, "real words", "spk")
                    for i in range(n)])


def test_prepared_real_speech_is_mixed_in_at_its_share(tmp_path):
    from speechtl.data.manifest import ManifestEntry, read_manifest, write_manifest
    from speechtl.recipe.data import with_real
    from speechtl.recipe.outputs import DataOut

    synth = tmp_path / "synth.jsonl"
    write_manifest(synth, [ManifestEntry(f"s{i}", f"/audio/s{i}.wav", 1.0, "synthetic") for i in range(70)])
    for corpus in ("a", "b"):
        _write_real(tmp_path / "real", corpus, "train", 50)
        _write_real(tmp_path / "real", corpus, "test", 5)
        _write_real(tmp_path / "real", corpus, "dev", 100)
    data = DataOut(train=str(synth), dev=str(synth), test=str(synth))
    config = _presets("legal")["cpu"]().changed(data__real_dir=str(tmp_path / "real"), data__real_share=0.3,
                                 work_dir=str(tmp_path / "run"))
    mixed = with_real(config, data)
    entries = read_manifest(mixed.train)
    real = [e for e in entries if not e.id.startswith("s")]
    assert len(entries) == 100 and len(real) == 30  # 30% of the training utterances are real
    assert {e.id.split("-")[0] for e in real} == {"a", "b"}  # drawn from every corpus
    assert len(read_manifest(mixed.real_test)) == 10 and mixed.dev == str(synth)
    # real dev speakers guard the term settings: a seeded sample of dev_utterances, from every corpus
    guard = read_manifest(mixed.real_dev)
    assert len(guard) == config.data.dev_utterances == 150 and {e.id.split("-")[0] for e in guard} == {"a", "b"}
    # none prepared: synthetic only, nothing changes
    none = with_real(config.changed(data__real_dir=str(tmp_path / "nothing")), data)
    assert none == data


def test_without_real_dev_speakers_half_the_general_test_guards_the_tuning(tmp_path):
    from speechtl.data.manifest import ManifestEntry, read_manifest, write_manifest
    from speechtl.recipe.data import with_general
    from speechtl.recipe.outputs import DataOut

    general = tmp_path / "general.jsonl"
    write_manifest(general, [ManifestEntry(f"g{i}", f"/audio/g{i}.wav", 1.0, f"sentence {i}") for i in range(9)])
    data = DataOut(train="t", dev="d", test="x")
    config = _presets("legal")["cpu"]().changed(data__general_test_manifest=str(general), work_dir=str(tmp_path / "run"))
    split = with_general(config, data)
    guard, test = read_manifest(split.real_dev), read_manifest(split.general_test)
    assert split.real_dev_from_general and len(guard) == 5 and len(test) == 4
    assert not {e.id for e in guard} & {e.id for e in test}  # the general test stays unseen by the tuning
    assert {e.id for e in guard} | {e.id for e in test} == {f"g{i}" for i in range(9)}
    # prepared real dev speakers guard instead: the general test is scored whole
    prepared = with_general(config, DataOut(train="t", dev="d", test="x", real_dev="real-dev.jsonl"))
    assert prepared.general_test == str(general) and prepared.real_dev == "real-dev.jsonl"
    assert not prepared.real_dev_from_general
    # switched off, or no general test: nothing is split
    assert with_general(config.changed(data__guard_on_general=False), data).real_dev == ""
    assert with_general(config.changed(data__general_test_manifest=None), data) == data


def test_voice_split_never_shares_an_engine(monkeypatch, capsys):
    from speechtl.recipe import split_voices
    from speechtl.synth import engines

    monkeypatch.setattr(engines, "available_voices", lambda names=None: list(engines.VOICES))
    split = split_voices(None, "festival", "piper")
    engine = {v.name: v.engine for v in engines.VOICES}
    assert {engine[v] for v in split["dev"]} == {"festival"} and {engine[v] for v in split["test"]} == {"piper"}
    assert not {engine[v] for v in split["train"]} & {"festival", "piper"}
    with pytest.raises(Exception, match="overlap"):
        split_voices(None, "festival", "festival,piper")
    # without a voice of a held-out engine: voices are held out instead, and it says so
    only_espeak = [v for v in engines.VOICES if v.engine == "espeak"]
    monkeypatch.setattr(engines, "available_voices", lambda names=None: only_espeak)
    fallback = split_voices(None, "festival", "piper")
    assert "warning" in capsys.readouterr().out and not set(fallback["test"]) & set(fallback["train"])


def test_pseudo_labelled_audio_is_mixed_in_at_its_share(tmp_path):
    from speechtl.data.manifest import ManifestEntry, read_manifest, write_manifest
    from speechtl.recipe.data import with_pseudo
    from speechtl.recipe.outputs import DataOut

    train = tmp_path / "train.jsonl"
    write_manifest(train, [ManifestEntry(f"s{i}", f"/audio/s{i}.wav", 1.0, "synthetic") for i in range(80)])
    write_manifest(tmp_path / "pseudo.jsonl", [ManifestEntry(f"p{i}", "/rec.wav", 2.0, "heard", offset=2.0 * i)
                                               for i in range(50)])
    data = DataOut(train=str(train), dev=str(train), test=str(train))
    config = _presets("legal")["cpu"]().changed(work_dir=str(tmp_path / "run"),
                                                data__pseudo_manifest=str(tmp_path / "pseudo.jsonl"),
                                                data__pseudo_share=0.2)
    mixed = with_pseudo(config, data)
    entries = read_manifest(mixed.train)
    assert len(entries) == 100 and mixed.pseudo_train_utterances == 20
    assert sum(e.id.startswith("p") for e in entries) == 20 and all(e.offset is not None for e in entries[80:])
    assert with_pseudo(config.changed(data__pseudo_manifest=None), data) == data


def test_the_adapted_models_posteriors_are_computed_once_per_run(monkeypatch, sample_entries):
    """The LM and two-pass stages both tune on dev: the acoustic model runs over it once."""
    import speechtl.evaluate as evaluate
    from speechtl.recipe.config import preset
    from speechtl.recipe.outputs import TrainOut
    from speechtl.recipe.runner import Recipe

    calls = []
    monkeypatch.setattr(evaluate, "entry_logprobs", lambda bundle, entries: calls.append(len(entries)) or
                        [f"lp-{e.id}" for e in entries])
    recipe = Recipe(preset("legal", "cpu"))
    recipe._adapted_bundle = object()  # never loaded: the stub above stands for the model
    posteriors = recipe._posteriors(TrainOut(model="unused", best_dev_wer=0.0, steps=0, stopped_early=False))
    dev, other = list(sample_entries[:3]), list(sample_entries[3:])
    assert posteriors(dev) == posteriors(dev) == [f"lp-{e.id}" for e in dev]
    assert posteriors(other) and calls == [3, len(other)]


def test_a_rerun_runs_again_the_stages_whose_settings_changed_and_those_that_read_them(tmp_path, capsys):
    """Each marker keeps the settings its stage read and when its inputs finished: a rerun in the
    same folder redoes a stage whose settings changed, then every stage that reads its outputs,
    and keeps the rest; so does a rerun after a run stopped halfway."""
    import dataclasses

    from speechtl.recipe.config import RecipeConfig
    from speechtl.recipe.outputs import BaseOut
    from speechtl.recipe.runner import Recipe
    from speechtl.recipe.stages import STAGES, changed_settings

    def run(config: RecipeConfig, stop_after: str | None = None) -> list[str]:
        """The runner's bookkeeping over every stage (each stage a stand-in that records it ran)."""
        ran: list[str] = []
        recipe = Recipe(config)
        recipe._save_settings()
        for name in STAGES:
            recipe._stage(name, BaseOut, lambda name=name: ran.append(name) or BaseOut(name))
            if name == stop_after:
                break
        return ran

    first = RecipeConfig().changed(work_dir=str(tmp_path))
    assert run(first) == list(STAGES)
    assert run(first) == []  # nothing changed: every stage kept
    capsys.readouterr()
    assert run(first.changed(lm__order=3)) == ["lm", "two_pass", "evaluate", "report"]
    assert "[lm] done before, running it again: its settings changed (lm.order: 4 -> 3)" in capsys.readouterr().out
    # how a stage runs (workers, progress bars, where its cache goes) is not what it makes
    assert run(first.changed(lm__order=3, train__num_workers=2, data__synth_workers=4)) == []
    # a data setting only the evaluate stage reads
    assert run(first.changed(lm__order=3, data__real_test_utterances=50)) == ["evaluate", "report"]
    # the writer turned off: its stage and those after it (without long-form sets, the data
    # stage too, which then joins real English into one for the writer's guard)
    first = first.changed(data__real_test_utterances=50)
    assert run(first.changed(lm__order=3, writer=None)) == ["writer", "two_pass", "evaluate", "report"]
    assert run(first.changed(lm__order=3, data__longform=None)) == list(STAGES[:1]) + list(STAGES[2:])
    assert run(first.changed(lm__order=3, data__longform=None, writer=None)) == list(STAGES[:1]) + list(STAGES[2:])
    assert run(first.changed(lm__order=3, writer=None, train__max_steps=7)) == \
        ["data", "train", "lm", "writer", "two_pass", "evaluate", "report"]
    # a run stopped after the train stage: the next one still redoes what reads it
    config = first.changed(lm__order=3, writer=None, train__max_steps=8)
    assert run(config, stop_after="train") == ["train"]
    assert run(config) == ["lm", "writer", "two_pass", "evaluate", "report"]
    assert "[lm] done before, running it again: train ran again since it did" in capsys.readouterr().out
    # a term list edited in place is a changed setting of the stages that read it
    terms = tmp_path / "terms.txt"
    terms.write_text("habeas corpus\n")
    with_terms = config.changed(terms=str(terms))
    assert run(with_terms)[0] == "data" and run(with_terms) == []
    terms.write_text("habeas corpus\nvoir dire\n")
    assert run(with_terms) == list(STAGES[:1]) + ["train", "lm", "writer", "two_pass", "evaluate", "report"]
    # the bookkeeping never shadows an output's field (the two-pass has its own "settings")
    from speechtl.recipe import outputs
    from speechtl.recipe.stages import MARKER_KEYS

    kinds = [k for k in vars(outputs).values() if dataclasses.is_dataclass(k) and k.__name__.endswith("Out")]
    assert len(kinds) == len(STAGES) and not {f.name for k in kinds for f in dataclasses.fields(k)} & MARKER_KEYS
    assert set(json.loads((tmp_path / "stages" / "base.json").read_text())) == MARKER_KEYS | {"base"}
    # a marker from before markers kept their settings: judged by the last run's saved settings
    marker = tmp_path / "stages" / "two_pass.json"
    old = json.loads(marker.read_text())
    del old["stage_settings"], old["stage_inputs"]
    marker.write_text(json.dumps(old))
    assert run(with_terms) == []
    marker.write_text(json.dumps(old))
    assert run(with_terms.changed(two_pass__top_terms=(12,))) == ["two_pass", "evaluate", "report"]
    assert changed_settings({"writer": {"steps": 30, "lr": 1e-4}}, {"writer": None}) == ["writer: {2 settings} -> None"]
