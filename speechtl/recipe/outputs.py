"""What each recipe stage hands to the next: frozen dataclasses, saved as JSON markers.

A stage whose marker exists and whose files are all still there is skipped on a
rerun (``{work_dir}/stages/{stage}.json``; delete it to redo the stage).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from ..decode.twopass_config import TwoPassConfig

if TYPE_CHECKING:
    import numpy as np

    from ..data.manifest import ManifestEntry

T = TypeVar("T")
# the adapted model's log-probabilities of entries, in their order (computed once, shared by stages)
Posteriors = Callable[["Sequence[ManifestEntry]"], "list[np.ndarray]"]


@dataclass(frozen=True)
class DataOut:
    """Manifests: training (synthetic + real), dev (held-out engines), the headline test."""

    train: str
    dev: str
    test: str
    generated_test: str = ""  # new generator sentences in held-out voices (a second test)
    real_test: str = ""  # held-out speakers of the prepared real corpora
    real_dev: str = ""  # their dev speakers: general speech the term settings must not hurt
    general_test: str = ""  # real general English scored beside the domain tests (../shared's real-en-dev)
    real_dev_from_general: bool = False  # real_dev is half of the general test's clips (no real dev prepared)
    hours: float = 0.0  # synthetic training audio
    voices: int = 0
    dev_voices: tuple[str, ...] = ()
    test_voices: tuple[str, ...] = ()
    heldout_sentences: dict[str, Any] | None = None  # how many, and their source
    real_train_utterances: int = 0
    real_train_hours: float = 0.0
    pseudo_train_utterances: int = 0
    longform: tuple[str, ...] = ()  # long-form sets: manifests of long recordings

    @property
    def paths(self) -> list[str]:
        return [p for p in (self.train, self.dev, self.test, self.generated_test, self.real_test, self.real_dev,
                            self.general_test, *self.longform) if p]


@dataclass(frozen=True)
class BaseOut:
    base: str  # hub id, folder or offline name

    @property
    def paths(self) -> list[str]:
        from pathlib import Path

        return [self.base] if Path(self.base).exists() else []


@dataclass(frozen=True)
class TrainOut:
    model: str  # best/ folder
    best_dev_wer: float
    steps: int
    stopped_early: bool
    history: tuple[dict[str, Any], ...] = ()

    @property
    def paths(self) -> list[str]:
        return [self.model]


@dataclass(frozen=True)
class LMOut:
    """The mixed LM and every decoding setting tuned on dev (also saved with the model)."""

    lm: str
    ngrams: tuple[int, ...]
    lm_mix_weight: int
    alpha: float
    beta: float
    unk_score_offset: float
    hotword_weight: float
    spot_threshold: float | None
    lexicon_words: int
    real_lm_sentences: int
    dev_wer: dict[str, float]  # after each tuning step
    domain_only_lm: dict[str, Any] | None = None  # the LM before real text, for comparison
    general_dev_wer: dict[str, float] | None = None  # real dev speech: terms off, then each term step

    @property
    def paths(self) -> list[str]:
        return [self.lm]


@dataclass(frozen=True)
class TwoPassOut:
    """Whisper prompted by the heard terms, then spotting: the settings tuned on dev
    (``whisper`` None: the stage did not run, ``skipped`` says why when it could not)."""

    whisper: str | None = None
    config: TwoPassConfig | None = None  # the settings chosen (None: the stage did not run)
    dev_wer: dict[str, float | None] | None = None  # whisper alone, prompted, prompted + spotting as chosen
    general_dev_wer: dict[str, float | None] | None = None  # the same on real dev speech (the guard)
    settings: str = ""  # two-pass.json beside the model
    skipped: str | None = None
    # long-form sets: set -> "{writer}/{row}" ("whisper": faster-whisper's own long-form
    # decoding, "two-pass" as tuned, and the fallbacks tried) -> wer, term_recall, rtf, seconds
    longform: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)
    longform_fallback: str | None = None  # what the long-form guard did, when it had to step in
    writers: dict[str, dict[str, Any]] = field(default_factory=dict)  # each writer tried: dev WER, Whisper's RTF
    # the adapted writer at the chosen settings: dev WER, real-speech guard, kept or why not
    adapted_writer: dict[str, Any] | None = None
    original_whisper: str | None = None  # the writer the settings were tuned with (== whisper unless adapted kept)

    @property
    def paths(self) -> list[str]:
        return [self.settings] if self.settings else []

    @property
    def other_config(self) -> TwoPassConfig | None:
        """The settings of the writer the run did not choose, tuned for it: the original's
        where an adapted writer was kept, the adapted one's where it was tried and not kept
        (None: no other writer, or none saved)."""
        judged = self.adapted_writer or {}
        saved = judged.get("original_config" if judged.get("kept") else "config")
        return TwoPassConfig.from_json(saved) if saved else None

    @property
    def original(self) -> tuple[str | None, TwoPassConfig | None]:
        """The original writer and its own tuned settings, also where an adapted writer was
        kept (``whisper`` and ``config`` are then the adapted one's)."""
        if not (self.adapted_writer or {}).get("kept"):
            return self.whisper, self.config
        return self.original_whisper, self.other_config or self.config


@dataclass(frozen=True)
class WriterOut:
    """Whisper's decoder fine-tuned on the domain (``folder`` None: not trained, ``skipped`` says why)."""

    folder: str | None = None  # a CTranslate2 folder in the adapted model's folder
    base: str | None = None  # the writer it started from
    windows: int = 0
    first_loss: float | None = None
    last_loss: float | None = None  # mean of the last ten steps
    skipped: str | None = None

    @property
    def paths(self) -> list[str]:
        return [self.folder] if self.folder else []


@dataclass(frozen=True)
class Score:
    """One (test set, model, decoding) row."""

    wer: float
    cer: float
    term_recall: float | None
    term_precision: float | None
    utterances: int
    results: str  # recogs/errs files' folder entry (results JSON)


@dataclass(frozen=True)
class EvalOut:
    results: dict[str, Score]  # "{test set}/{model}/{method}"
    worst: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # test set -> worst utterances (adapted, fullest decoding)
    term_misses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    eval_dir: str = ""

    @property
    def paths(self) -> list[str]:
        return [self.eval_dir] if self.eval_dir else []


@dataclass(frozen=True)
class ReportOut:
    files: tuple[str, ...]

    @property
    def paths(self) -> list[str]:
        return list(self.files)


def to_json(out: Any) -> dict[str, Any]:
    return dataclasses.asdict(out)


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a stage output from its marker; a marker of another shape raises TypeError."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    missing = [f.name for f in dataclasses.fields(cls)
               if f.name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise TypeError(f"marker lacks {missing}")
    values = {}
    for name in names & set(data):
        value, hint = data[name], hints[name]
        if typing.get_origin(hint) is tuple and isinstance(value, list):
            value = tuple(value)
        if name == "results" and cls is EvalOut:
            value = {k: Score(**v) for k, v in value.items()}
        if name == "config" and cls is TwoPassOut and value is not None:
            value = TwoPassConfig.from_json(value)
        values[name] = value
    return cls(**values)
