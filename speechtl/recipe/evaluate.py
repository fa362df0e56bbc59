"""The evaluate and report stages: every model x decoding x test set, then one report.

Each decoding step is its own row, so its effect is visible: greedy, the domain-only
LM with terms (what decoding was before real English text), the LM, + terms,
+ term spotting; then, when the two-pass stage ran, Whisper alone, Whisper prompted
with the terms the adapted model hears, + spotting over Whisper's words.
"""

from __future__ import annotations

import dataclasses
import platform
import random
import time
from pathlib import Path
from typing import Callable

from ..data.manifest import ManifestEntry
from ..decode.base import Decoder
from ..decode.beam import BeamConfig, BeamDecoder, decode_processes
from ..decode.policy import Decoding
from ..decode.twopass import TwoPass
from ..decode.twopass_config import TwoPassConfig
from ..model.loader import Bundle
from ..report import worst_utterances
from ..vocabulary import Vocabulary
from .config import RecipeConfig
from .outputs import BaseOut, DataOut, EvalOut, LMOut, ReportOut, Score, TrainOut, TwoPassOut
from .longform import ADAPTED_WRITER
from .writer import WRITER_DIR

# real general speech, scored beside the domain tests: ../shared's real-en-dev, prepared held-out speakers
GENERAL_REAL_EN, REAL_TEST = "general-real-en", "real-test"
# Whisper encoder outputs kept while scoring (about 2.3 MB each for tiny.en): a test set up to this
# size is encoded once for all its two-pass rows
TWO_PASS_ENCODER_CACHE = 256
METHOD_NAMES = {"greedy": "greedy", "domain-lm-terms": "+domain-only LM+terms", "lm": "+LM",
                "lm-terms": "+LM+terms", "lm-terms-spot": "+LM+terms+spotting",
                "whisper": "Whisper alone", "whisper-adapted": "adapted Whisper alone",
                "two-pass-other": "two-pass, the writer not chosen", "whisper-rescored": "Whisper+LM rescoring",
                "whisper-terms": "Whisper+heard terms",
                "two-pass": "Whisper+heard terms+spotting"}
# the rows decoded with the two-pass stage's writer (the adapted one when kept); "two-pass-other"
# is the writer not chosen. With an adapted writer judged, their names say which writer wrote them
WRITER_ROWS = ("whisper-rescored", "whisper-terms", "two-pass", "two-pass-other")
# long-form rows: Whisper's own long-form decoding, then the windowed two-pass settings the guard tried
LONGFORM_NAMES = {"whisper": "Whisper alone (its long-form decoding)", "two-pass": "two-pass",
                  "whisper-terms": "Whisper+heard terms", "whisper-windows": "Whisper alone"}


def decodings(adapted: Bundle, trained: TrainOut, lm: LMOut, two_pass: TwoPassOut | None = None,
              vocabulary: Vocabulary | None = None) -> dict[str, Decoder]:
    """The decoding rows: greedy, then each step of the tuned decoder saved with the
    model, then the two-pass steps when that stage ran."""
    tuned = BeamDecoder.load(trained.model)
    assert tuned is not None, f"{trained.model}: no LM decoder saved by the LM stage"
    alphabet = adapted.alphabet
    processes = decode_processes()  # beam searches on every core (forked before Whisper loads)
    methods: dict[str, Decoder] = {"greedy": Decoding(alphabet)}
    if lm.domain_only_lm:
        # what the LM was before real English text and the word list (for comparison)
        old = lm.domain_only_lm
        methods["domain-lm-terms"] = Decoding(alphabet, BeamDecoder(alphabet, old["lm"], tuned.vocabulary, dataclasses.replace(
            tuned.config, alpha=old["alpha"], beta=old["beta"], spot_threshold=None,
            unk_score_offset=BeamConfig().unk_score_offset)), processes)
    methods["lm"] = Decoding(alphabet, tuned.with_changes(vocabulary=Vocabulary(), spot_threshold=None), processes)
    methods["lm-terms"] = Decoding(alphabet, tuned.with_changes(spot_threshold=None), processes)
    if tuned.config.spot_threshold is not None:
        methods["lm-terms-spot"] = Decoding(alphabet, tuned, processes)
    if two_pass is not None and two_pass.whisper:
        from ..model.seq2seq import WhisperRecognizer

        whisper = WhisperRecognizer(two_pass.whisper, encoder_cache=TWO_PASS_ENCODER_CACHE)
        chosen = two_pass.config or TwoPassConfig()
        ctc = methods[list(methods)[-1]]
        assert isinstance(ctc, Decoding)
        first = TwoPass(ctc, whisper,
                        vocabulary if vocabulary is not None else tuned.vocabulary,
                        chosen.without_spotting())
        # the other writer: the original when the adapted one was kept, else the adapted one tried
        judged = two_pass.adapted_writer
        other, other_config = None, chosen
        if judged is not None and two_pass.original_whisper:
            # each writer at its own settings (the adapted one's spotting is tuned again: recipe/twopass.py)
            other_config = two_pass.other_config or chosen
            other_name = two_pass.original_whisper if judged["kept"] else str(Path(trained.model) / WRITER_DIR)
            other_whisper = WhisperRecognizer(other_name, encoder_cache=TWO_PASS_ENCODER_CACHE)
            other_whisper.share_encoder(whisper)  # one memo where the adapted writer's encoder is the original's
            other = first.with_whisper(other_whisper)
        original, adapted = (other, first) if judged and judged["kept"] else (first, other)
        methods["whisper"] = original.with_config(top_terms=0, rescore=None)
        if adapted is not None:  # the adapted writer's own text, everywhere
            methods["whisper-adapted"] = adapted.with_config(top_terms=0, rescore=None)
        if judged is not None and judged.get("routed") and other is not None:
            # in the two-pass an adapted writer's text is kept where it holds a term, the original's elsewhere
            if judged["kept"]:
                first = first.with_whisper(whisper, general=other.whisper)
            else:
                other = other.with_whisper(other.whisper, general=whisper)
        if chosen.rescore is not None:  # Whisper alone, its N best rescored as tuned
            methods["whisper-rescored"] = first.with_config(top_terms=0)
        if chosen.top_terms:  # 0: the guard let no prompt through
            methods["whisper-terms"] = first
        if chosen.spot_threshold is not None:
            if other is not None:
                methods["two-pass-other"] = other.with_config(other_config)
            methods["two-pass"] = first.with_config(chosen)
    return methods


def stage_evaluate(c: RecipeConfig, data: DataOut, models: dict[str, Callable[[], Bundle]],
                   methods: dict[str, Decoder], vocabulary: Vocabulary,
                   valid: Callable[[str, Bundle], list[ManifestEntry]], general_test: str) -> EvalOut:
    """Score each model (loaded by ``models``' callables, in order) with each decoding on
    each test set; keep the worst utterances and term misses of the adapted model's
    fullest decoding for the report."""
    from ..evaluate import decodable_logprobs, evaluate_methods

    tests = {f"{c.domain}-test": data.test}
    if data.generated_test:
        tests[f"{c.domain}-generated"] = data.generated_test
    if general_test:
        tests[GENERAL_REAL_EN] = general_test
    if data.real_test:
        tests[REAL_TEST] = data.real_test
    fullest = list(methods)[-1]
    ctc_only = {name: m for name, m in methods.items() if not m.needs_audio}
    hearing = {name: m for name, m in methods.items() if m.needs_audio}  # the two-pass rows
    results: dict[str, Score] = {}
    worst, misses = {}, {}
    out_root = c.work_path / "eval"

    def record(model_name: str, test_name: str, evaluations: dict) -> None:
        for method, ev in evaluations.items():
            results[f"{test_name}/{model_name}/{method}"] = Score(
                wer=ev.score.wer, cer=ev.score.cer, term_recall=ev.terms.recall if ev.terms else None,
                term_precision=ev.terms.precision if ev.terms else None, utterances=len(ev.score.utterances),
                results=str(ev.files["json"]))
            if model_name == "adapted" and method == fullest:
                worst[test_name] = worst_utterances(ev.score)
                if ev.terms:
                    misses[test_name] = ev.terms.to_json()["misses"]

    # 1. Every CTC row: each model's acoustic pass once per set, the beam searches on
    # every core. The two-pass rows wait (2.): Whisper's threads would hang forked workers.
    later = []
    for model_name, load in models.items():
        bundle = load()
        if bundle.kept_rows == 0:
            # an untrained head (Whisper's encoder before the general recipe) spells
            # noise: nothing to compare, and scoring it costs minutes
            continue
        for test_name, manifest in tests.items():
            entries = valid(manifest, bundle)
            if test_name == REAL_TEST and 0 < c.data.real_test_utterances < len(entries):
                entries = random.Random(c.seed).sample(entries, c.data.real_test_utterances)
            entries, logprobs, skipped = decodable_logprobs(bundle, entries)
            for rejected in skipped:
                print(f"skipping {rejected.id}: {rejected.reason}", flush=True)
            if not entries:
                print(f"{test_name}: no utterance could be decoded; the set has no rows", flush=True)
                continue
            decoded = {}
            if model_name == "adapted" and hearing:
                # the two-pass rows start from the fullest CTC decoding: made once, for both
                # (decodings() builds them over the last, fullest, CTC row)
                first: TwoPass = next(iter(hearing.values()))  # type: ignore[assignment]
                decoded = {list(ctc_only)[-1]: first.ctc_hypotheses(logprobs, bundle.frame_shift)}
                later.append((bundle, test_name, entries, logprobs))
            record(model_name, test_name, evaluate_methods(bundle, entries, out_root / model_name, test_name, ctc_only,
                                                           vocabulary, logprobs=logprobs, hypotheses=decoded))
    # 2. The two-pass rows (the adapted model's; Whisper alone is the same for every model)
    for bundle, test_name, entries, logprobs in later:
        record("adapted", test_name, evaluate_methods(bundle, entries, out_root / "adapted", test_name, hearing,
                                                      vocabulary, logprobs=logprobs))
    return EvalOut(results=results, worst=worst, term_misses=misses, eval_dir=str(out_root))


def stage_report(c: RecipeConfig, data: DataOut, base: BaseOut, trained: TrainOut, lm: LMOut, ev: EvalOut,
                 stage_seconds: dict[str, float], two_pass: TwoPassOut | None = None) -> ReportOut:
    from ..report import Report, Row

    report = Report(f"speechtl {c.domain} recipe ({c.preset} preset)")
    report.history = list(trained.history)
    report.facts = {
        "base checkpoint": base.base, "adapted model": trained.model,
        "training steps": trained.steps, "best dev WER": f"{100 * trained.best_dev_wer:.2f}%",
        "synthetic training audio": f"{data.hours:.2f} h, {data.voices or '?'} voices",
        "LM": f"{c.lm.order}-gram, n-grams {list(lm.ngrams)}",
        "decoding (tuned on dev)": f"alpha {lm.alpha}, beta {lm.beta}, OOV offset {lm.unk_score_offset}, "
                                   f"term weight {lm.hotword_weight}, spotting threshold {lm.spot_threshold}, "
                                   f"domain text weight {lm.lm_mix_weight}",
        "held-out engines": f"dev {list(data.dev_voices)}, test {list(data.test_voices)}",
        "terms on vs off on general real speech (adapted, WER points; bound 0.5)": terms_cost(ev) or "no real speech",
        "real dev speech WER while tuning terms (guard)": (
            ", ".join(f"{k} {100 * v:.2f}%" for k, v in lm.general_dev_wer.items() if v is not None)
            if lm.general_dev_wer else "no real dev speech prepared: no guard"),
        "real dev speech of the guard": (
            "every other clip of the general real English (no real dev speakers prepared); general-real-en "
            "scores the other half" if data.real_dev_from_general else "prepared dev speakers" if data.real_dev
            else "none"),
        "real and pseudo-labelled training utterances": f"{data.real_train_utterances} real, "
                                                        f"{data.pseudo_train_utterances} pseudo-labelled",
        "two-pass writers tried (dev WER, Whisper's real-time factor on dev)": (
            "; ".join(f"{w} {100 * v['dev_wer']['two_pass']:.2f}% {v['dev_rtf']}" for w, v in two_pass.writers.items())
            + f"; budget {c.two_pass.max_rtf or 'none'}" if two_pass and two_pass.writers else "one"),
        "two-pass decoding (tuned on dev)": (
            f"Whisper {two_pass.whisper}, {two_pass.config.top_terms} heard terms in its prompt (acoustic gain at "
            f"least {two_pass.config.prompt_min_gain}), spotting threshold {two_pass.config.spot_threshold}, "
            f"Whisper's margin {two_pass.config.whisper_margin}, near spellings {two_pass.config.near_spelling}, long recordings by {two_pass.config.long_form}, "
            f"N-best rescoring {two_pass.config.rescore or 'off'}"
            if two_pass and two_pass.whisper else
            f"not run{': ' + two_pass.skipped if two_pass and two_pass.skipped else ''}"),
        "adapted writer (Whisper's decoder fine-tuned on the training audio, tried at the settings above)": (
            adapted_writer_fact(two_pass) if two_pass else "not run"),
        "two-pass terms on vs Whisper alone on general real speech (WER points; bound 0.5)": (
            terms_cost(ev, "whisper", ("two-pass", "whisper-terms")) or "no real speech"),
        "hardware": hardware(), "date": time.strftime("%Y-%m-%d"),
        "stage seconds": stage_seconds,
    }
    for key, r in ev.results.items():
        test_set, model, method = key.split("/")
        report.rows.append(Row(test_set, model, method_name(method, two_pass), r.wer, r.cer, r.term_recall,
                               r.term_precision, r.utterances))
    # long recordings, measured by the two-pass stage's guard
    for test_set, rows in (two_pass.longform if two_pass else {}).items():
        for key, f in rows.items():
            report.rows.append(Row(test_set, "adapted", longform_name(key), f["wer"], f["cer"], f["term_recall"],
                                   None, int(f.get("recordings") or 0)))
    if two_pass and two_pass.longform:
        report.facts["long-form real-time factor (two-pass: acoustic model, beam searches and Whisper)"] = "; ".join(
            f"{name}: " + ", ".join(f"{longform_name(k)} {f['rtf']}" for k, f in rows.items())
            for name, rows in two_pass.longform.items())
        report.facts["long-form guard (two-pass at most Whisper alone + 0.5 WER points)"] = (
            two_pass.longform_fallback or "the tuned setting passed")
    report.worst = dict(ev.worst)
    report.term_misses = dict(ev.term_misses)
    paths = report.write(c.work_path / "report")
    print(report.markdown({}).split("\n## ")[0], flush=True)
    print(f"report: {paths['html']}", flush=True)
    return ReportOut(tuple(str(p) for p in paths.values()))


def method_name(method: str, two_pass: TwoPassOut | None = None) -> str:
    """A row's method name; the two-pass rows name their writer once an adapted one was judged:
    "Whisper+heard terms+spotting [adapted writer]", "... [whisper-tiny.en, not chosen]"."""
    judged = two_pass.adapted_writer if two_pass else None
    if judged is None or method not in WRITER_ROWS:
        return METHOD_NAMES[method]
    original = two_pass.original_whisper or "original writer"  # type: ignore[union-attr]
    chosen, other = (ADAPTED_WRITER, original) if judged["kept"] else (original, ADAPTED_WRITER)
    if method == "two-pass-other":
        return f"{METHOD_NAMES['two-pass']} [{other}, not chosen]"
    return f"{METHOD_NAMES[method]} [{chosen}]"


def longform_name(key: str) -> str:
    """A long-form row's method name: "whisper-base/two-pass+near-0.85" -> "two-pass (windows),
    near spellings 0.85 [whisper-base]"."""
    writer, _, label = key.rpartition("/")
    label, _, context = label.partition("+context-")  # (recipe/longform.label_of)
    label, _, near = label.partition("+near-")
    label, term_windows, _ = label.partition("+term-windows")
    name = LONGFORM_NAMES[label] + ("" if label == "whisper" else " (term windows)" if term_windows else " (windows)")
    name += (f", near spellings {near}" if near else "") + (
        f", each window after {context} words of the text before" if context else "")
    return f"{name} [{writer}]" if writer else name


def terms_cost(ev: EvalOut, off_method: str = "lm", on_methods: tuple[str, ...] = ("lm-terms-spot", "lm-terms")) -> str:
    """How much the terms (with spotting when tuned on) change the adapted model's WER on
    each general real-speech test set, against the same decoding without them."""
    costs = []
    for test_name in (GENERAL_REAL_EN, REAL_TEST):
        off = ev.results.get(f"{test_name}/adapted/{off_method}")
        on = [ev.results[f"{test_name}/adapted/{m}"] for m in on_methods if f"{test_name}/adapted/{m}" in ev.results]
        if off and on:
            costs.append(f"{test_name} {100 * (on[0].wer - off.wer):+.2f}")
    return ", ".join(costs)


def hardware() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.machine()}, {torch.get_num_threads()} CPU threads, {gpu}, torch {torch.__version__}"


def adapted_writer_fact(two_pass: TwoPassOut) -> str:
    """What the two-pass stage made of the adapted writer, in a line."""
    judged = two_pass.adapted_writer
    if judged is None:
        return "not trained"
    figures = ", ".join(f"{k} {100 * v:.2f}%" for k, v in judged["dev_wer"].items())
    guard = "; ".join(f"{name} {label} {100 * f['adapted']:.2f}% vs {100 * f['original']:.2f}%"
                      for name, rows in judged["guard"].items() for label, f in rows.items())
    verdict = "kept" if judged["kept"] else f"not kept ({judged['reason']})"
    own = judged.get("config")  # (files written before its spotting was tuned again have none)
    spotting = (f"; its spotting threshold {own['spot_threshold']}, Whisper's margin {own['whisper_margin']}, "
                f"near spellings {own['near_spelling']}" if own else "")
    # (a writer judged before the original wrote where its text holds no term wrote every clip)
    where = ", its text kept where it holds a term (the original's elsewhere)" if judged.get("routed") else ""
    return f"{verdict}{where}{spotting}; dev WER {figures}; real speech, adapted vs original: {guard or 'none prepared'}"
