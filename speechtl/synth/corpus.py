"""Text -> multi-voice synthetic speech corpus: audio files, manifests and a report.

    report = synthesize_corpus(sentences, "data/legal", vocabulary=vocab, config=SynthConfig(seed=0))

Each sentence gets a voice, speaking rate and pitch drawn from the seeded
generator, optional noise / reverberation / speed change, and is written as 16 kHz
mono WAV under a name that hashes everything that shaped it (text, hints, voice,
settings). A rerun finds those files and synthesizes only what is new.

Voices are split, not utterances: ``dev_voices`` voices are held out, so the dev
manifest measures speakers the model never heard in training.

Out folder: ``audio/``, ``train.jsonl``, ``dev.jsonl``, ``report.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from ..data.manifest import ManifestEntry, write_manifest
from ..errors import SpeechtlError
from ..fileio import atomic_path, write_json
from ..text import normalize
from ..vocabulary import Vocabulary
from .augment import add_noise, change_speed, reverberate, telephone
from ..constants import SAMPLE_RATE
from .engines import VOICE_REVISIONS, Voice, apply_hints, available_voices, prepare_engine

log = logging.getLogger(__name__)
CACHE_VERSION = 1  # bump when synthesis or augmentation changes what a key produces


@dataclass(frozen=True)
class SynthConfig:
    seed: int = 0
    rate_range: tuple[float, float] = (0.85, 1.15)
    pitch_range: tuple[float, float] = (0.85, 1.15)
    noise_prob: float = 0.3
    snr_range_db: tuple[float, float] = (10.0, 30.0)
    reverb_prob: float = 0.2
    rt60_range: tuple[float, float] = (0.2, 0.6)  # seconds
    speed_prob: float = 0.0
    speed_factors: tuple[float, ...] = (0.9, 1.1)
    telephone_prob: float = 0.1  # narrowband phone line (augment.telephone)
    dev_voices: int = 2  # voices held out for the dev manifest
    workers: int = 2
    # how often an engine's voices are drawn, relative to 1 for the others: Kokoro
    # speaks about 1x real time on one core, the other engines 10-40x, so a CPU corpus
    # can draw it less (empty: every voice alike)
    engine_weights: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Job:
    """Everything that determines one file; its hash is the cache key."""

    text: str  # the transcript (normalized)
    spoken: str  # what the engine is given (hints applied)
    voice: str
    rate: float
    pitch: float
    snr_db: float | None
    rt60: float | None
    speed: float
    seed: int
    telephone: bool = False


    @property
    def key(self) -> str:
        fields = asdict(self)
        if not self.telephone:  # keys of jobs made before the telephone option stay valid
            del fields["telephone"]
        if self.voice in VOICE_REVISIONS:  # (other voices' cached files stay valid)
            fields["revision"] = VOICE_REVISIONS[self.voice]
        payload = json.dumps([CACHE_VERSION, fields], sort_keys=True)
        return hashlib.sha1(payload.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class CorpusReport:
    train_manifest: Path
    dev_manifest: Path
    utterances: int
    synthesized: int  # newly made this run (the rest came from the cache)
    failed: int
    seconds_per_voice: dict[str, float]
    train_voices: tuple[str, ...]
    dev_voices: tuple[str, ...]
    term_counts: dict[str, int]  # how often each term occurs in the corpus text
    terms_total: int
    lost_voices: dict[str, str] = field(default_factory=dict)  # voices that could not load: why

    @property
    def hours(self) -> float:
        return sum(self.seconds_per_voice.values()) / 3600

    def summary(self) -> str:
        covered = sum(1 for c in self.term_counts.values() if c)
        lines = [f"{self.utterances} utterances, {self.hours:.2f} h, {len(self.seconds_per_voice)} voices "
                 f"({self.synthesized} synthesized now, {self.utterances - self.synthesized} from cache, "
                 f"{self.failed} failed)"]
        if self.lost_voices:
            lines.append(f"lost {len(self.lost_voices)} voice(s) that could not load: {', '.join(self.lost_voices)}")
        lines += [f"  {v:<26} {s / 3600:6.2f} h{'  (dev)' if v in self.dev_voices else ''}"
                  for v, s in sorted(self.seconds_per_voice.items())]
        if self.terms_total:
            lines.append(f"terms: {covered}/{self.terms_total} occur, {sum(self.term_counts.values())} occurrences")
        return "\n".join(lines)


def plan_jobs(sentences: Sequence[str], voices: Sequence[Voice], vocabulary: Vocabulary | None,
              config: SynthConfig) -> list[Job]:
    """Deterministic choices for each sentence: the same seed gives the same plan."""
    rng = np.random.default_rng(config.seed)
    hints = vocabulary.hints() if vocabulary is not None else {}
    weights = dict(config.engine_weights)
    if any(w < 0 for w in weights.values()):
        raise SpeechtlError(f"engine weights must be at least 0: {config.engine_weights}")
    odds = np.array([weights.get(v.engine, 1.0) for v in voices])
    if weights and not odds.sum():
        raise SpeechtlError(f"engine weights leave no voice to draw: {config.engine_weights}")
    jobs = []
    for i, sentence in enumerate(sentences):
        text = normalize(sentence)
        if not text:
            continue
        # without weights, the draw (and so every cache key) is what it was before weights existed
        pick = rng.choice(len(voices), p=odds / odds.sum()) if weights else rng.integers(len(voices))
        voice = voices[int(pick)]
        rate = round(float(rng.uniform(*config.rate_range)), 3)
        pitch = round(float(rng.uniform(*config.pitch_range)), 3)
        snr = round(float(rng.uniform(*config.snr_range_db)), 1) if rng.random() < config.noise_prob else None
        rt60 = round(float(rng.uniform(*config.rt60_range)), 2) if rng.random() < config.reverb_prob else None
        speed = float(rng.choice(config.speed_factors)) if rng.random() < config.speed_prob else 1.0
        # its own generator: adding the option left every earlier draw (and cached file) as it was
        phone = bool(np.random.default_rng([config.seed, i, 8000]).random() < config.telephone_prob)
        jobs.append(Job(text, apply_hints(text, hints, voice.engine), voice.name, rate, pitch, snr, rt60, speed,
                        seed=config.seed * 1_000_003 + i, telephone=phone))
    return jobs


def render(job: Job) -> np.ndarray:
    """Synthesize and augment one job (runs in a worker process)."""
    from .engines import VOICES_BY_NAME, synthesize

    audio = synthesize(VOICES_BY_NAME[job.voice], job.spoken, job.rate, job.pitch)
    rng = np.random.default_rng(job.seed)
    if job.speed != 1.0:
        audio = change_speed(audio, job.speed)
    if job.rt60 is not None:
        audio = reverberate(audio, job.rt60, rng)
    if job.snr_db is not None:
        audio = add_noise(audio, job.snr_db, rng)
    if job.telephone:
        audio = telephone(audio)
    peak = float(np.max(np.abs(audio))) or 1.0
    return (audio * min(1.0, 0.95 / peak)).astype(np.float32)  # no clipping


def _render_to(args: tuple[Job, str]) -> tuple[str, float | None, str | None]:
    job, path = args
    try:
        audio = render(job)
    except Exception as exc:  # one sentence an engine cannot speak is skipped, not the corpus
        return job.key, None, str(exc) if isinstance(exc, SpeechtlError) else f"{type(exc).__name__}: {exc}"
    with atomic_path(path) as tmp:
        sf.write(tmp, audio, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return job.key, len(audio) / SAMPLE_RATE, None


def _probe(name: str) -> tuple[str, str | None]:
    """(voice, why it cannot speak or None), in a worker: it also loads the voice there."""
    from .engines import VOICES_BY_NAME, probe

    return name, probe(VOICES_BY_NAME[name])


# voices that spoke their probe in this process's workers before: a corpus that needs
# only those starts at once (each pool still loads a voice at its first sentence)
_SPOKE: set[str] = set()


def synthesize_corpus(sentences: Sequence[str], out_dir: str | os.PathLike[str], vocabulary: Vocabulary | None = None,
                      voices: Sequence[str] | None = None, config: SynthConfig = SynthConfig(),
                      progress: bool = True) -> CorpusReport:
    """Speak ``sentences`` into ``out_dir``. A voice that cannot load is reported once and
    skipped (the others take its sentences); only when too few are left is it an error."""
    out = Path(out_dir).resolve()
    pool_voices, lost = usable_engines(available_voices(voices))
    executor = None
    try:
        while True:
            if len(pool_voices) <= config.dev_voices:
                why = "".join(f"; {name}: {reason}" for name, reason in sorted(lost.items())[:3])
                raise SpeechtlError(f"need more than {config.dev_voices} voices for a train/dev split by voice, "
                                    f"found {len(pool_voices)} that work{why}")
            # hold out dev voices: a seeded choice among the installed voices
            order = np.random.default_rng(config.seed).permutation(len(pool_voices))
            dev = {pool_voices[i].name for i in order[: config.dev_voices]}
            jobs = plan_jobs(sentences, pool_voices, vocabulary, config)
            paths = {job.key: out / "audio" / job.key[:2] / f"{job.key}.wav" for job in jobs}
            todo = [(job, str(paths[job.key])) for job in jobs if not paths[job.key].exists()]
            untried = sorted({job.voice for job, _ in todo} - _SPOKE)
            if todo and executor is None and config.workers > 1:
                executor = ProcessPoolExecutor(config.workers)
            if not untried:
                break
            # each voice speaks a word first, in the workers that will use it: a voice that
            # cannot load loses its sentences to the others before any is planned for it
            probes = executor.map(_probe, untried) if executor else map(_probe, untried)
            failed = {name: reason for name, reason in probes if reason}
            _SPOKE.update(name for name in untried if name not in failed)
            if not failed:
                break
            report_lost(failed)
            lost.update(failed)
            pool_voices = [v for v in pool_voices if v.name not in failed]
        durations, failures = _run(todo, executor, progress)
    finally:
        if executor:
            executor.shutdown()
    for key, error in list(failures.items())[:5]:
        log.warning("synthesis failed: %s", error)

    train, dev_entries, per_voice = [], [], defaultdict(float)
    for job in jobs:
        path = paths[job.key]
        if job.key in failures or not path.exists():
            continue
        seconds = durations.get(job.key) or sf.info(str(path)).duration
        entry = ManifestEntry(job.key, str(path), round(seconds, 4), job.text, speaker=job.voice,
                              extra={"rate": job.rate, "pitch": job.pitch, "snr_db": job.snr_db, "rt60": job.rt60,
                                     "telephone": job.telephone})
        (dev_entries if job.voice in dev else train).append(entry)
        per_voice[job.voice] += seconds
    write_manifest(out / "train.jsonl", train)
    write_manifest(out / "dev.jsonl", dev_entries)
    report = CorpusReport(out / "train.jsonl", out / "dev.jsonl", len(train) + len(dev_entries), len(durations),
                          len(failures), dict(per_voice), tuple(sorted({j.voice for j in jobs} - dev)),
                          tuple(sorted(dev)), term_coverage([j.text for j in jobs], vocabulary), len(vocabulary or ()),
                          dict(sorted(lost.items())))
    write_json(out / "report.json", {**asdict(report), "hours": report.hours,
                                     "train_manifest": str(report.train_manifest),
                                     "dev_manifest": str(report.dev_manifest), "config": asdict(config)})
    return report


def usable_engines(voices: Sequence[Voice]) -> tuple[list[Voice], dict[str, str]]:
    """``voices`` whose engine could prepare its files (:func:`~.engines.prepare_engine`,
    in this process, before any worker starts), and {lost voice: why}."""
    lost: dict[str, str] = {}
    for engine in sorted({v.engine for v in voices}):
        try:
            prepare_engine(engine)
        except SpeechtlError as exc:
            lost.update({v.name: str(exc) for v in voices if v.engine == engine})
    report_lost(lost)
    return [v for v in voices if v.name not in lost], lost


def report_lost(lost: dict[str, str]) -> None:
    """One warning per reason, naming the voices it cost."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for name, reason in sorted(lost.items()):
        by_reason[reason].append(name)
    for reason, names in by_reason.items():
        log.warning("skipping %d voice%s (%s): %s", len(names), "s" if len(names) > 1 else "", ", ".join(names), reason)


def _run(todo: list[tuple[Job, str]], executor: ProcessPoolExecutor | None,
         progress: bool) -> tuple[dict[str, float], dict[str, str]]:
    """Render ``todo``: ({key: seconds}, {key: error})."""
    durations: dict[str, float] = {}
    failures: dict[str, str] = {}
    with tqdm(total=len(todo), desc="synthesize", unit="utt", disable=None if progress else True) as bar:
        results = executor.map(_render_to, todo, chunksize=4) if executor else map(_render_to, todo)
        for key, seconds, error in results:
            if error:
                failures[key] = error
            else:
                durations[key] = seconds  # type: ignore[assignment]
            bar.update(1)
    return durations, failures


def term_coverage(texts: Sequence[str], vocabulary: Vocabulary | None) -> dict[str, int]:
    """Occurrences of each term (normalized words) in normalized texts."""
    if vocabulary is None:
        return {}
    counts: Counter[str] = Counter()
    padded = [f" {t} " for t in texts]
    for term in vocabulary:
        needle = f" {' '.join(term.words)} "
        counts[" ".join(term.words)] = sum(t.count(needle) for t in padded)
    return dict(counts)
