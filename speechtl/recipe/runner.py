"""Runs a recipe's stages in order, each skipped when its outputs exist, and the
command line every recipe's train.py hands over to.

    python recipes/legal/train.py                       # CPU preset where there is no GPU
    python recipes/legal/train.py --preset gpu --set train.max_steps=8000
    python recipes/medical/train.py --base /models/wav2vec2-base-960h --terms my-terms.csv

Stages (each a plain function of typed inputs, in this package):

    data      synthesize training/dev/test audio, mix in real speech       data.py
    base      resolve the checkpoint to adapt                              model/base.py
    train     fine-tune with the freeze policy (resumes from last.pt)      training/
    lm        build the mixed LM, tune the decoding on dev                 lm.py
    writer    fine-tune Whisper's decoder on the training audio            writer.py (training/writer.py)
    two_pass  Whisper prompted by the heard terms + spotting, tuned on dev twopass.py (decode/twopass.py)
    evaluate  base vs adapted x every decoding step x every test set       evaluate.py
    report    JSON, Markdown and HTML                                      evaluate.py

A stage's outputs are recorded in ``{work_dir}/stages/{stage}.json`` with the settings
it read (``STAGE_SETTINGS``) and when the stages it reads (``STAGE_INPUTS``) finished. A rerun
in the same folder reuses a stage unless one of its settings changed or a stage it reads
ran again since, so ``--set lm.order=3`` redoes the LM and what comes after it, not the
synthesis or training (delete a marker to redo its stage by hand). The term list, the base
model and the adapted model are each loaded once per run and handed to the stages that need them.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime
import json
import logging
import sys
import time
import functools
import hashlib
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from ..config import apply_overrides
from ..data.manifest import ManifestEntry, read_manifest, report_rejected, validate
from ..errors import SpeechtlError
from ..fileio import write_json
from ..model.loader import Bundle
from ..vocabulary import Vocabulary
from .config import RecipeConfig
from .data import general_test_manifest, stage_data
from .evaluate import decodings, stage_evaluate, stage_report
from .lm import stage_lm
from .outputs import (BaseOut, DataOut, EvalOut, LMOut, Posteriors, ReportOut, TrainOut, TwoPassOut, WriterOut, from_json,
                      to_json)
from .stages import STAGE_INPUTS, STAGES, stage_settings, why_again
from .twopass import stage_two_pass
from .writer import stage_writer

T = TypeVar("T")


class Recipe:
    """One run of the stages for one config."""

    def __init__(self, config: RecipeConfig) -> None:
        self.config = config
        self.seconds: dict[str, float] = {}
        self._valid_sets: dict[str, list[ManifestEntry]] = {}
        self._logprobs_memo: dict[tuple[str, ...], list[np.ndarray]] = {}
        self.settings: dict[str, Any] = {}
        self._last_settings: dict[str, Any] | None = None
        self._ran: set[str] = set()  # the stages this run ran (not skipped)
        self._finished: dict[str, str] = {}  # when each stage's outputs were made (its marker's "finished")

    def run(self) -> dict[str, Any]:
        c = self.config
        self._save_settings()
        data = self._stage("data", DataOut, lambda: stage_data(c, self.vocabulary))
        base = self._stage("base", BaseOut, lambda: BaseOut(self._resolve_base()))
        trained = self._stage("train", TrainOut, lambda: self._train(data, base))
        lm = self._stage("lm", LMOut, lambda: stage_lm(c, data, trained, self._adapted(trained), self.vocabulary,
                                                       self._evaluation_sets(data), self._posteriors(trained)))
        writer = self._stage("writer", WriterOut, lambda: stage_writer(c, data, trained, self.vocabulary, self._valid))
        two_pass = self._stage("two_pass", TwoPassOut, lambda: stage_two_pass(
            c, data, trained, self._adapted(trained), self.vocabulary, self._evaluation_sets(data),
            self._posteriors(trained), writer, self._general_guard(data)))
        models: dict[str, Callable[[], Bundle]] = {"base": lambda: self._base(base)} if c.evaluate_base else {}
        models["adapted"] = lambda: self._adapted(trained)
        ev = self._stage("evaluate", EvalOut, lambda: stage_evaluate(
            c, data, models, decodings(self._adapted(trained), trained, lm, two_pass, self.vocabulary),
            self.vocabulary, self._valid, self._general_test(data)))
        report = self._stage("report", ReportOut, lambda: stage_report(
            c, data, base, trained, lm, ev, dict(self.seconds), two_pass))
        return {"data": data, "base": base, "train": trained, "lm": lm, "writer": writer, "two_pass": two_pass, "evaluate": ev,
                "report": report}

    def _save_settings(self) -> None:
        """Save the settings as recipe-config.json, keeping the last run's: markers written
        before markers kept their own settings are judged by them."""
        self.settings = json.loads(json.dumps(dataclasses.asdict(self.config), default=str))
        saved = self.config.work_path / "recipe-config.json"
        self._last_settings = json.loads(saved.read_text()) if saved.is_file() else None
        write_json(saved, self.settings)

    def _stage(self, name: str, kind: type[T], run: Callable[[], T]) -> T:
        marker = self.config.work_path / "stages" / f"{name}.json"
        settings = self._stage_settings(name, self.settings)
        inputs = {i: self._finished.get(i, "") for i in STAGE_INPUTS[name]}
        if marker.is_file():
            saved = json.loads(marker.read_text())
            try:
                done = from_json(kind, saved)
            except TypeError as exc:
                print(f"[{name}] {marker} is from another speechtl version ({exc}): running the stage again", flush=True)
            else:
                why = self._why_again(name, saved, settings, inputs)
                if why:
                    print(f"[{name}] done before, running it again: {why}", flush=True)
                elif all(Path(p).exists() for p in done.paths):
                    print(f"[{name}] done before, skipping ({marker})", flush=True)
                    self.seconds[name] = saved.get("seconds", 0.0)
                    self._finished[name] = saved.get("stage_finished", "")
                    return done
        print(f"[{name}] ...", flush=True)
        t0 = time.time()
        out = run()
        self.seconds[name] = round(time.time() - t0, 1)
        self._ran.add(name)
        self._finished[name] = finished = datetime.datetime.now(datetime.timezone.utc).isoformat()
        bookkeeping = {"paths": out.paths, "seconds": self.seconds[name], "stage_finished": finished,
                       "stage_settings": settings, "stage_inputs": inputs}
        write_json(marker, {**to_json(out), **bookkeeping})
        print(f"[{name}] finished in {self.seconds[name]:.0f}s", flush=True)
        return out

    def _stage_settings(self, name: str, settings: dict[str, Any]) -> dict[str, Any]:
        """``stage_settings``, and the term file's content where the stage reads one: a term
        list edited in place is a changed setting too."""
        out = stage_settings(name, settings)
        if "terms" in out and self.config.terms and Path(self.config.terms).is_file():
            out["terms (content)"] = hashlib.sha256(Path(self.config.terms).read_bytes()).hexdigest()[:16]
        return out

    def _why_again(self, name: str, saved: dict, settings: dict, inputs: dict[str, str]) -> str:
        """``why_again``, a marker from before markers kept their settings judged by the last
        run's settings (accepted where there are none)."""
        if "stage_settings" in saved:
            before = saved["stage_settings"]
        elif self._last_settings is not None:
            before = self._stage_settings(name, self._last_settings)
        else:
            before = settings
        return why_again(name, saved, before, settings, inputs, self._ran)

    # --- what the stages share, built once ----------------------------------------

    @cached_property
    def vocabulary(self) -> Vocabulary:
        from ..domains import domain_terms

        return Vocabulary.load(self.config.terms) if self.config.terms else domain_terms(self.config.domain)

    def _resolve_base(self) -> str:
        from ..model.base import resolve_base

        return resolve_base(self.config.base, self.config.preset)

    def _base(self, base: BaseOut) -> Bundle:
        if not hasattr(self, "_base_bundle"):
            from ..alphabet import Alphabet
            from ..model.loader import load_pretrained

            self._base_bundle = load_pretrained(base.base, Alphabet.default())
        return self._base_bundle

    def _adapted(self, trained: TrainOut) -> Bundle:
        if not hasattr(self, "_adapted_bundle"):
            from ..alphabet import Alphabet
            from ..model.loader import load_pretrained

            self._adapted_bundle = load_pretrained(trained.model, Alphabet.default())
        return self._adapted_bundle

    def _posteriors(self, trained: TrainOut) -> Posteriors:
        """The adapted model's log-probabilities of a list of entries, computed once per run:
        the LM stage tunes on dev, the two-pass stage on the same dev."""
        from ..evaluate import entry_logprobs

        def logprobs(entries: Sequence[ManifestEntry]) -> list[np.ndarray]:
            key = tuple(e.id for e in entries)
            if key not in self._logprobs_memo:
                self._logprobs_memo[key] = entry_logprobs(self._adapted(trained), entries)
            return self._logprobs_memo[key]

        return logprobs

    def _train(self, data: DataOut, base: BaseOut) -> TrainOut:
        from ..training import train

        c = self.config
        # training changes the weights in place: it gets a copy, the base stays for evaluation
        bundle = self._base(base)
        bundle = dataclasses.replace(bundle, model=copy.deepcopy(bundle.model))
        print(f"base {base.base}: kept {bundle.kept_rows} head rows, {bundle.new_rows} new", flush=True)
        train_set = self._valid(data.train, bundle)
        dev_set = self._valid(data.dev, bundle)[: c.data.dev_utterances]
        result = train(bundle, train_set, dev_set, dataclasses.replace(c.train, output_dir=str(c.work_path / "model")))
        return TrainOut(model=str(result.best_dir), best_dev_wer=result.best_wer, steps=result.steps,
                        stopped_early=result.stopped_early, history=tuple(result.history))

    def _valid(self, manifest: str, bundle: Bundle | None = None) -> list[ManifestEntry]:
        """A manifest's usable entries (validated once per run; each rejected one listed)."""
        if manifest not in self._valid_sets:
            from ..alphabet import Alphabet

            report = validate(read_manifest(manifest), bundle.alphabet if bundle else Alphabet.default())
            report_rejected(report.rejected)
            self._valid_sets[manifest] = list(report.kept)
        return self._valid_sets[manifest]

    def _evaluation_sets(self, data: DataOut) -> dict[str, list[ManifestEntry]]:
        sets = {"dev": data.dev, "test": data.test, "generated_test": data.generated_test, "real_dev": data.real_dev}
        return {name: self._valid(path) for name, path in sets.items() if path}

    def _general_test(self, data: DataOut) -> str:
        """The general test the data stage named (a data stage of an older version named none)."""
        return data.general_test or general_test_manifest(self.config)

    def _general_guard(self, data: DataOut) -> list[ManifestEntry]:
        """Real general English that also guards the adapted writer: the general test, unless
        half of it already guards as the real dev set (the other half must stay unseen)."""
        general = self._general_test(data)
        return self._valid(general) if general and not data.real_dev_from_general else []


def load_presets(recipe_dir: str | Path) -> dict[str, Callable[[], RecipeConfig]]:
    """``PRESETS`` of a recipe folder's config.py, loaded by path (every recipe names it
    config), each with the folder's name as its domain: a copied folder is a new domain."""
    import importlib.util

    path = Path(recipe_dir) / "config.py"
    spec = importlib.util.spec_from_file_location(f"speechtl_recipe_{Path(recipe_dir).name}_config", path)
    if spec is None or spec.loader is None:
        raise SpeechtlError(f"{path}: recipe config not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    domain = Path(recipe_dir).name
    return {name: functools.partial(_in_domain, make, domain) for name, make in module.PRESETS.items()}


def _in_domain(make: Callable[[], RecipeConfig], domain: str) -> RecipeConfig:
    return dataclasses.replace(make(), domain=domain)


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
    ap.add_argument("--pseudo-manifest", help="pseudo-labelled domain audio (speechtl pseudo-label) to train on")
    ap.add_argument("--terms", help="vocabulary file (.txt or .csv) instead of the built-in term list")
    ap.add_argument("--work-dir")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override any setting, e.g. data.hours=1 or train.max_steps=2000")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    try:
        config = presets[args.preset]()
        direct = {"base": args.base, "data__train_manifest": args.train_manifest,
                  "data__dev_manifest": args.dev_manifest, "data__test_manifest": args.test_manifest,
                  "lm__text": args.text, "terms": args.terms, "data__pseudo_manifest": args.pseudo_manifest,
                  "work_dir": args.work_dir}
        config = config.changed(**{k: v for k, v in direct.items() if v})
        config = apply_overrides(config, args.set)
        Recipe(config).run()
    except SpeechtlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
