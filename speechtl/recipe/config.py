"""A recipe's settings: one typed config, and the presets the recipes adjust.

Settings come in groups (data, lm, decoding, two_pass, train, writer), each a typed dataclass;
every field can be overridden from the command line (``--set data.hours=1``,
``--set train.max_steps=2000``, ``--set decoding.alphas=0.3,0.6``, ``--set two_pass.writers=none``).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..constants import (TUNE_ALPHAS, TUNE_BETAS, TUNE_SPOT_THRESHOLDS, TUNE_TERM_WEIGHTS, TUNE_TWO_PASS_THRESHOLDS,
                         TUNE_TWO_PASS_LM_WEIGHTS, TUNE_TWO_PASS_NEAR_SPELLINGS, TUNE_TWO_PASS_PROMPT_GAINS, TUNE_TWO_PASS_TERM_BONUSES,
                         TUNE_TWO_PASS_TOP_TERMS, TUNE_TWO_PASS_WHISPER_MARGINS,
                         TUNE_UNK_OFFSETS, WHISPER_BASE, WHISPER_TINY_EN)
from ..decode.beam import DEFAULT_BEAM_WIDTH
from ..errors import SpeechtlError
from ..model.freeze import FreezePolicy
from ..training import TrainConfig
from ..training.writer import WriterConfig

# L2-SP strength of the domain presets (TrainConfig.anchor_weight), chosen by measurement on the
# legal recipe (recipes/legal/README.md): 0.01 let real-English WER rise 23% relative, 0.2 by 8%
ANCHOR_WEIGHT = 0.2
HELDOUT_TEXT = "heldout"  # data.text: the training third of the held-out transcripts


@dataclass(frozen=True)
class DataSettings:
    """What the data stage synthesizes and which prepared sets the recipe reads (``--set data.hours=1``)."""

    hours: float = 0.5  # synthesized training audio
    general_share: float = 0.2  # everyday English mixed into domain training text
    real_dir: str = "data/real"  # corpora prepared by `speechtl prepare`: {real_dir}/{corpus}/{split}.jsonl
    real_share: float = 0.3  # share of training utterances taken from real general speech, when prepared
    pseudo_manifest: str | None = None  # pseudo-labelled domain audio (`speechtl pseudo-label`), mixed into training
    pseudo_share: float = 0.2  # its share of the training utterances (all of it when there is less)
    test_sentences: int = 150
    generated_test_sentences: int | None = None  # at most this many in the generated test beside a held-out one (None: test_sentences)
    dev_utterances: int = 150  # dev subset used for evaluation during training and for LM tuning
    dev_on_real: bool = False  # the real dev speakers are the dev set (a recipe with no domain to tune on)
    real_test_utterances: int = 200  # held-out real speakers scored (a seeded sample; 0: all)
    train_manifest: str | None = None  # your own sets instead of synthesized ones
    dev_manifest: str | None = None
    test_manifest: str | None = None
    general_test_manifest: str | None = "auto"  # real general English scored ("auto": ../shared's real-en-dev; None: none)
    # without prepared real dev speakers, every other clip of that general test guards the tuning
    # (the terms may not cost real English) and the rest stays a test; False: tune unguarded
    guard_on_general: bool = True
    # long-form sets (one manifest line per long recording, tools/make_longform.py), comma-separated;
    # "auto": ../shared's real-en-dev joined into one recording by the data stage; None: none
    longform: str | None = "auto"
    synth_workers: int = 2
    voices: str | None = None  # comma-separated voice names (None: every installed voice)
    engine_weights: str = ""  # how often an engine's voices speak training sentences, e.g. "kokoro=0.5" (1: as the others)
    dev_engines: str = "festival"  # engines whose voices speak the dev set only (never trained on)
    test_engines: str = "piper"  # engines whose voices speak the test sets only
    # real transcripts for held-out sentences: a folder, or "shared:PATH" under ../shared (None: heldout.txt)
    heldout_transcripts: str | None = None
    # your domain text (a .txt file or folder, or "shared:PATH"), spoken in training beside the
    # generator's sentences and read by the LM; "heldout": the third of heldout_transcripts' files
    # that is neither dev nor test (the held-out split then takes the other two thirds)
    text: str | None = None
    text_share: float = 0.3  # share of the synthesized training sentences taken from `text`

    def __post_init__(self) -> None:
        from ..synth.engines import parse_engine_weights

        parse_engine_weights(self.engine_weights)  # a bad spec is named now, not after the data stage
        if not 0 <= self.text_share <= 1:
            raise SpeechtlError(f"data.text_share={self.text_share} (a share, 0 to 1)")
        if self.text == HELDOUT_TEXT and not self.heldout_transcripts:
            raise SpeechtlError(f"data.text={HELDOUT_TEXT!r} needs data.heldout_transcripts (a transcripts folder)")


@dataclass(frozen=True)
class LMSettings:
    """The n-gram LM the LM stage builds (``--set lm.order=3``)."""

    sentences: int = 20000  # generated domain text for the LM (test sentences excluded)
    order: int = 4
    mix_weights: tuple[int, ...] = (0, 1)  # domain text repeated this often beside the real English (0: domain only)
    general: bool = True  # mix the shipped real-English sentences (speechtl/lm/general.py) into the LM
    lexicon: bool = True  # the system's English word list as unigrams (OOV offset for letter soup)
    text: str | None = None  # extra domain text (file or folder)


@dataclass(frozen=True)
class DecodingSettings:
    """The CTC beam search and what the LM stage tries on dev (``--set decoding.alphas=0.3,0.6``)."""

    beam_width: int = DEFAULT_BEAM_WIDTH  # beams kept by every beam decode (tuning and evaluation); fewer is faster
    alphas: tuple[float, ...] = TUNE_ALPHAS  # LM weights tried on dev
    betas: tuple[float, ...] = TUNE_BETAS  # word bonuses tried
    term_weights: tuple[float, ...] = TUNE_TERM_WEIGHTS  # term boosts tried (with the best alpha and beta)
    unk_offsets: tuple[float, ...] = TUNE_UNK_OFFSETS  # OOV penalties tried
    spot_thresholds: tuple[float, ...] = TUNE_SPOT_THRESHOLDS  # besides spotting off (empty: off only)

    def __post_init__(self) -> None:
        if self.beam_width < 1:  # checked before any stage runs, not when the LM stage first decodes
            raise SpeechtlError(f"beam_width must be at least 1, not {self.beam_width}")


@dataclass(frozen=True)
class TwoPassSettings:
    """The two-pass stage: its writers and what it tries on dev (``--set two_pass.writers=whisper-base``)."""

    # offline names or CTranslate2 folders, comma-separated (None: no two-pass); each is tuned and
    # the one with the lowest dev WER within max_rtf is kept
    writers: str | None = WHISPER_TINY_EN
    max_rtf: float | None = None  # Whisper's seconds per second of dev audio a writer may take (None: no bound)
    top_terms: tuple[int, ...] = TUNE_TWO_PASS_TOP_TERMS  # prompt sizes tried (heard terms)
    prompt_gains: tuple[float | None, ...] = TUNE_TWO_PASS_PROMPT_GAINS  # evidence a prompted term needs
    thresholds: tuple[float, ...] = TUNE_TWO_PASS_THRESHOLDS  # two-pass spotting, besides off
    whisper_margins: tuple[float | None, ...] = TUNE_TWO_PASS_WHISPER_MARGINS  # None: the CTC model decides
    # Whisper's N best rescored with the domain LM and terms (either empty: no rescoring tried)
    lm_weights: tuple[float, ...] = TUNE_TWO_PASS_LM_WEIGHTS
    term_bonuses: tuple[float, ...] = TUNE_TWO_PASS_TERM_BONUSES
    # near spellings proposed past the acoustic threshold, for Whisper's judge (empty: not tried)
    near_spellings: tuple[float, ...] = TUNE_TWO_PASS_NEAR_SPELLINGS


@dataclass(frozen=True)
class RecipeConfig:
    domain: str = "legal"
    preset: str = "cpu"
    base: str = "auto"  # hub id, folder, or an offline name ("general", "whisper-base", "whisper-tiny.en"); auto: model/base.py
    work_dir: str | None = None  # default runs/{domain}
    data_dir: str | None = None  # default data/{domain}
    terms: str | None = None  # vocabulary file; default: the domain's built-in terms
    seed: int = 0
    evaluate_base: bool = True  # also score the base model (false: only the adapted one, e.g. when rerunning)
    data: DataSettings = field(default_factory=DataSettings)
    lm: LMSettings = field(default_factory=LMSettings)
    decoding: DecodingSettings = field(default_factory=DecodingSettings)
    two_pass: TwoPassSettings = field(default_factory=TwoPassSettings)
    train: TrainConfig = field(default_factory=TrainConfig)
    # Whisper's decoder fine-tuned on the training audio (the first of two_pass.writers), kept
    # where it beats the original on dev without losing real English (None: off)
    writer: WriterConfig | None = field(default_factory=WriterConfig)

    @property
    def work_path(self) -> Path:
        """Where the run's model, LM, evaluation and report go (``runs/{domain}`` unless set)."""
        return Path(self.work_dir or f"runs/{self.domain}")

    @property
    def data_path(self) -> Path:
        """Where synthesized audio goes (``data/{domain}`` unless set)."""
        return Path(self.data_dir or f"data/{self.domain}")

    def changed(self, **changes) -> "RecipeConfig":
        """A copy with ``changes``: fields, or a sub-setting by its dotted path given as
        ``data__hours=1`` (the double underscore standing for the dot)."""
        config = self
        for key, value in changes.items():
            group, _, name = key.partition("__")
            if name:
                config = dataclasses.replace(config, **{group: dataclasses.replace(getattr(config, group), **{name: value})})
            else:
                config = dataclasses.replace(config, **{group: value})
        return config


def presets(cpu: dict | None = None, gpu: dict | None = None, **changes) -> dict[str, Callable[[], RecipeConfig]]:
    """A recipe's ``PRESETS``: speechtl's cpu and gpu presets, each with the recipe's
    ``changes`` (:meth:`RecipeConfig.changed`: ``lm__order=4``), and ``cpu``'s or ``gpu``'s
    changes for that preset only. The domain is the recipe's folder name (runner.load_presets sets it)."""
    own = {"cpu": cpu or {}, "gpu": gpu or {}}
    return {name: functools.partial(_changed, name, {**changes, **own[name]}) for name in ("cpu", "gpu")}


def _changed(name: str, changes: dict) -> RecipeConfig:
    return preset(RecipeConfig.domain, name).changed(**changes)


def preset(domain: str, name: str) -> RecipeConfig:
    """The preset values; the recipe's config.py adjusts them per domain."""
    if name == "cpu":
        # the shipped general model (Whisper base encoder, 21M parameters) on a 2-core laptop,
        # within 20 minutes (README); the L2-SP anchor keeps the blocks near what they learned
        # from real speech. Measured choices: Kokoro, the one neural engine among the training
        # voices, speaks at about real time on a core, the others 10-40x faster, so it is drawn
        # at a quarter of their rate; 200 steps, as in 400- and 250-step runs the best dev model
        # was that of the first evaluation; the generated second test is small, each clip
        # costing Whisper a 30-second window twice; one LM mix, domain text with real English
        # (the domain-only LM was 7-8 dev WER points worse in both runs measured). Its long-form
        # set: real-en-dev joined (5 minutes of real English, "auto"), where the long-form
        # guard holds the two-pass to Whisper's own long-form decoding and the report gives
        # both rows (since term windows reuse that decoding's words, about a minute more).
        # The writer stage is off (`--set writer.steps=30` turns it on; it is judged on
        # real-en-dev joined too, data.longform_sets): on a slower 2-core machine it took the
        # main command from 16.5 to 21.4 minutes (README), past the 20 it must keep. Since the
        # original writes where the adapted writer's text holds no term, the legal run of
        # 2026-12-07 kept its adapted writer (README, "The original writes where ...").
        return RecipeConfig(domain=domain, preset="cpu", writer=None,
                            data=DataSettings(hours=0.5, engine_weights="kokoro=0.25", generated_test_sentences=50),
                            lm=LMSettings(mix_weights=(1,)), train=TrainConfig(
            max_steps=200, batch_size=8, warmup_steps=40, eval_every=100, patience=3, max_duration=15.0,
            anchor_weight=ANCHOR_WEIGHT, freeze=FreezePolicy(trainable_layers=2, lr_head=5e-4, lr_layers=1e-4)))
    if name == "gpu":
        # wav2vec2-base-960h on one modern GPU, mixed precision; both writers tuned, base
        # kept where it is better on dev (on a GPU either takes a small share of real time)
        return RecipeConfig(domain=domain, preset="gpu",
                            data=DataSettings(hours=10.0, test_sentences=500, dev_utterances=400, synth_workers=8),
                            two_pass=TwoPassSettings(writers=f"{WHISPER_TINY_EN},{WHISPER_BASE}"), train=TrainConfig(
                                max_steps=6000, batch_size=16, warmup_steps=500, eval_every=500, patience=4,
                                precision="auto", num_workers=4,
                                freeze=FreezePolicy(trainable_layers=4, lr_head=1e-4, lr_layers=3e-5)))
    raise SpeechtlError(f"unknown preset {name!r} (cpu or gpu)")


def general_presets() -> dict[str, Callable[[], RecipeConfig]]:
    """The general recipe's ``PRESETS`` (recipes/general/config.py)."""
    return {name: functools.partial(_general_preset, name) for name in ("cpu", "gpu")}


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
    return RecipeConfig(domain="general", preset=name, base=WHISPER_BASE, train=train,
                        data=DataSettings(hours=0.5, general_share=0.0, real_share=1.0, dev_utterances=400,
                                          dev_on_real=True))
