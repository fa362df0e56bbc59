"""The data stage: training audio in the training engines' voices, dev and test sets in
voices of engines training never hears, and real general speech mixed in.

The headline test and dev sets speak held-out sentences (domains/heldout.py: written
apart from the generator; medical: real interview sentences with terms); a second test
speaks new generator sentences. Real speech prepared under ``real_dir`` (``speechtl
prepare``) joins training at ``real_share``, and its held-out speakers become a test set.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from pathlib import Path

from ..data.manifest import read_manifest, write_manifest
from ..errors import SpeechtlError
from ..vocabulary import Vocabulary
from ..text import normalize
from .config import HELDOUT_TEXT, RecipeConfig
from .outputs import DataOut
from .writer import adapts_writer

log = logging.getLogger(__name__)

SHARED_PREFIX = "shared:"  # a path under ../shared (find_shared), in settings that name input data
SHARED_REAL_EN_DEV = "data/real-en-dev/manifest.jsonl"  # under ../shared: the general test, joined for long form
REPO = Path(__file__).resolve().parents[2]


def stage_data(c: RecipeConfig, vocabulary: Vocabulary) -> DataOut:
    longform = longform_sets(c)  # first: a wrong path is said before minutes of synthesis
    data = with_general(c, with_pseudo(c, with_real(c, domain_data(c, vocabulary))))
    if not data.general_test and c.data.general_test_manifest == "auto":
        _no_shared("no general real English is scored (--set data.general_test_manifest=MANIFEST names some)")
    return dataclasses.replace(data, longform=longform)


def _no_shared(consequence: str) -> None:
    print(f"no shared/{SHARED_REAL_EN_DEV} beside the repository or the working folder: {consequence}", flush=True)


def general_test_manifest(c: RecipeConfig) -> str:
    """The real general English the report scores: ``general_test_manifest``, where "auto"
    is ../shared's real-en-dev ("" when it is absent or the setting is None)."""
    spec = c.data.general_test_manifest
    if spec != "auto":
        return spec or ""
    shared = find_shared(SHARED_REAL_EN_DEV)
    return str(shared) if shared else ""


def with_general(c: RecipeConfig, data: DataOut) -> DataOut:
    """Name the general test; without prepared real dev speakers (a fresh machine), split it:
    every other clip guards the tuning of terms and the two-pass (on 2026-12-05 a fresh run
    tuned unguarded chose prompts that cost real-en-dev 3.8 WER points) and the rest stays an
    unseen test. Alternate clips, so both halves hold each source's voices."""
    general = general_test_manifest(c)
    entries = read_manifest(general) if general and not data.real_dev and c.data.guard_on_general else []
    if len(entries) < 2:
        return dataclasses.replace(data, general_test=general)
    out = c.work_path / "data"
    write_manifest(out / "real-dev.jsonl", entries[0::2])
    write_manifest(out / "general-test.jsonl", entries[1::2])
    print(f"no real dev speakers prepared: {len(entries[0::2])} of {general}'s {len(entries)} clips guard the "
          f"tuning, the other {len(entries[1::2])} are scored as the general test", flush=True)
    return dataclasses.replace(data, real_dev=str(out / "real-dev.jsonl"), general_test=str(out / "general-test.jsonl"),
                               real_dev_from_general=True)


def longform_sets(c: RecipeConfig) -> tuple[str, ...]:
    """The long-form sets' manifests: those ``longform`` names; "auto": ../shared's
    real-en-dev (44 real utterances) joined with pauses of 0.4-1.2 s into one ~5-minute
    recording. With the writer stage on (and a writer to adapt), "auto" even when
    ``longform`` is None: an adapted writer is judged on long real English too (the legal
    writer of 2026-12-04 cost real-en-dev 0.15 points on its 44 clips and 1.44 points
    joined into one recording)."""
    from ..data.longform import join_utterances

    spec = "auto" if c.data.longform is None and adapts_writer(c) else c.data.longform
    if spec is None:
        return ()
    if spec != "auto":
        paths = tuple(p.strip() for p in spec.split(",") if p.strip())
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:
            raise SpeechtlError(f"longform: no such manifest: {', '.join(missing)} (tools/make_longform.py builds them)")
        return paths
    shared = find_shared(SHARED_REAL_EN_DEV)
    if shared is None:
        _no_shared("no long-form set (--set data.longform=MANIFEST names some; tools/make_longform.py builds them)")
        return ()
    out = c.data_path / "longform" / "real-en-dev"
    rec = join_utterances(read_manifest(shared), out / "real-en-dev.wav", (0.4, 1.2), c.seed, "real-en-dev-joined")
    write_manifest(out / "recordings.jsonl", [rec])
    return (str(out / "recordings.jsonl"),)


def domain_data(c: RecipeConfig, vocabulary: Vocabulary) -> DataOut:
    """The given manifests, or synthesized ones: training from the generator, dev and
    the headline test from held-out sentences in held-out engines' voices."""
    from ..domains import generate
    from ..domains.heldout import heldout_sentences
    from ..synth.corpus import SynthConfig, synthesize_corpus
    from ..synth.domain import build_domain_corpus
    from ..synth.engines import parse_engine_weights

    if c.data.train_manifest:
        if not c.data.test_manifest:
            log.warning("no --test-manifest: the report scores the dev set")
        dev = c.data.dev_manifest or c.data.train_manifest
        return DataOut(train=c.data.train_manifest, dev=dev, test=c.data.test_manifest or dev)
    synth = SynthConfig(seed=c.seed, workers=c.data.synth_workers, dev_voices=0)
    split = split_voices(c.data.voices.split(",") if c.data.voices else None, c.data.dev_engines, c.data.test_engines)
    transcripts = heldout_transcripts(c)
    three_way = c.data.text == HELDOUT_TEXT
    dev_sentences = heldout_sentences(c.domain, "dev", transcripts, three_way)[: c.data.dev_utterances]
    test_sentences = heldout_sentences(c.domain, "test", transcripts, three_way)[: c.data.test_sentences]
    held_out = {normalize(s) for s in dev_sentences + test_sentences}
    text = [s for s in training_text(c) if normalize(s) not in held_out]
    # the weights shape the training corpus only: dev and test voices are one engine each
    report = build_domain_corpus(c.domain, c.data_path / "train", hours=c.data.hours, general_share=c.data.general_share,
                                 vocabulary=vocabulary, voices=split["train"],
                                 config=dataclasses.replace(synth, engine_weights=parse_engine_weights(c.data.engine_weights)),
                                 text=text, text_share=c.data.text_share)
    print(report.summary(), flush=True)

    def speak(name: str, sentences: list[str], voices: list[str], repeat: int, offset: int) -> str:
        made = synthesize_corpus(sentences * repeat, c.data_path / name, vocabulary, voices=voices,
                                 config=dataclasses.replace(synth, seed=c.seed + offset))
        return str(made.train_manifest)

    heldout = bool(test_sentences and dev_sentences)
    # new generator sentences: the second test beside the held-out one, or the only one
    size = c.data.test_sentences if not heldout or c.data.generated_test_sentences is None else \
        min(c.data.test_sentences, c.data.generated_test_sentences)
    seen = set(generate(c.domain, report.utterances * 2, c.seed, c.data.general_share))
    fresh = [s for s in generate(c.domain, c.data.test_sentences * 3, c.seed + 1000) if s not in seen][:size]
    common = dict(train=str(report.train_manifest), hours=report.hours, voices=len(report.seconds_per_voice),
                  dev_voices=tuple(split["dev"]), test_voices=tuple(split["test"]))
    generated_test = speak("test-generated", fresh, split["test"], 1, 1000)
    if not heldout:
        print(f"no held-out sentences for {c.domain}: dev and test use generator sentences", flush=True)
        dev = speak("dev-generated", generate(c.domain, c.data.dev_utterances, c.seed + 500), split["dev"], 1, 500)
        return DataOut(dev=dev, test=generated_test, **common)
    # each dev sentence in several held-out voices: enough utterances to tune on
    dev = speak("dev-heldout", dev_sentences, split["dev"], len(split["dev"]), 500)
    # a short held-out list is spoken twice (other rate, pitch, noise) for a steadier figure
    test = speak("test-heldout", test_sentences, split["test"], 2 if len(test_sentences) < 100 else 1, 1500)
    return DataOut(dev=dev, test=test, generated_test=generated_test, **common,
                   heldout_sentences={"dev": len(dev_sentences), "test": len(test_sentences),
                                      "source": transcripts or "built-in"})


def training_text(c: RecipeConfig) -> list[str]:
    """The user's domain text (``data.text``) as sentences, in file order; [] when there is none."""
    from ..domains.heldout import transcript_text
    from ..lm.build import read_lines
    from ..text import split_sentences

    if not c.data.text:
        return []
    if c.data.text == HELDOUT_TEXT:
        folder = heldout_transcripts(c)
        return transcript_text(folder) if folder else []
    path = _shared_or_path(c.data.text)
    if path is None:
        print(f"data.text {c.data.text}: not found, training on the generator's sentences only", flush=True)
        return []
    sentences = [s for line in read_lines([path]) for s in split_sentences(line) if normalize(s)]
    if not sentences:
        print(f"data.text {c.data.text}: no sentences in it, training on the generator's sentences only", flush=True)
    return sentences


def _shared_or_path(spec: str) -> str | None:
    """A path, or ``shared:PATH`` under ../shared (None where ../shared lacks it)."""
    if not spec.startswith(SHARED_PREFIX):
        return spec
    shared = find_shared(spec.removeprefix(SHARED_PREFIX))
    return str(shared) if shared else None


def heldout_transcripts(c: RecipeConfig) -> str | None:
    """Real transcripts to draw held-out sentences from: a folder, or ``shared:PATH`` under
    ../shared when it is there (the medical recipe's interviews); None: the domain's heldout.txt."""
    return _shared_or_path(c.data.heldout_transcripts) if c.data.heldout_transcripts else None


def with_real(c: RecipeConfig, data: DataOut) -> DataOut:
    """Mix prepared real general speech into training (``real_share`` of the utterances;
    the general recipe takes it all and tunes on real dev speakers), and add the
    held-out real speakers as a test set."""
    from ..data.prepare import prepared_manifests

    real = {split: [e for m in prepared_manifests(c.data.real_dir, split) for e in read_manifest(m)]
            for split in ("train", "dev", "test")}
    if not real["train"] or c.data.real_share <= 0:
        if c.data.real_share > 0:
            print(f"no real corpora prepared under {c.data.real_dir} (see `speechtl prepare`): training on "
                  f"synthetic audio; the L2-SP anchor keeps the base's real-speech skills", flush=True)
        return data
    out = c.work_path / "data"
    synth = read_manifest(data.train)
    take = _share(real["train"], len(synth), c.data.real_share, c.seed)
    write_manifest(out / "train.jsonl", synth + take)
    changes = dict(train=str(out / "train.jsonl"), real_train_utterances=len(take),
                   real_train_hours=sum(e.duration for e in take) / 3600)
    if c.data.dev_on_real and real["dev"]:
        write_manifest(out / "dev.jsonl", real["dev"])
        changes["dev"] = str(out / "dev.jsonl")
    elif real["dev"]:
        write_manifest(out / "real-dev.jsonl", _sample(real["dev"], c.data.dev_utterances, c.seed))
        changes["real_dev"] = str(out / "real-dev.jsonl")
    if real["test"]:
        write_manifest(out / "real-test.jsonl", real["test"])
        changes["real_test"] = str(out / "real-test.jsonl")
    print(f"real speech: {len(take)} training utterances ({changes['real_train_hours']:.2f} h) from {c.data.real_dir}",
          flush=True)
    return dataclasses.replace(data, **changes)


def with_pseudo(c: RecipeConfig, data: DataOut) -> DataOut:
    """Mix pseudo-labelled domain recordings (``speechtl pseudo-label``) into training at
    ``pseudo_share`` of the utterances."""
    if not c.data.pseudo_manifest or c.data.pseudo_share <= 0:
        return data
    train = read_manifest(data.train)
    take = _share(read_manifest(c.data.pseudo_manifest), len(train), c.data.pseudo_share, c.seed)
    path = c.work_path / "data" / "train-pseudo.jsonl"
    write_manifest(path, train + take)
    print(f"pseudo-labelled speech: {len(take)} training utterances "
          f"({sum(e.duration for e in take) / 3600:.2f} h) from {c.data.pseudo_manifest}", flush=True)
    return dataclasses.replace(data, train=str(path), pseudo_train_utterances=len(take))


def _sample(entries: list, n: int, seed: int) -> list:
    """A seeded sample of ``n`` entries (all of them when there are fewer), in their order."""
    keep = set(random.Random(seed).sample(range(len(entries)), min(n, len(entries))))
    return [e for i, e in enumerate(entries) if i in keep]


def _share(extra: list, base_count: int, share: float, seed: int) -> list:
    """A seeded sample of ``extra`` that makes up ``share`` of base + sample (all of it
    when there is less, or when ``share`` is 1)."""
    if share >= 1:
        return extra
    n = round(base_count * share / (1 - share))
    return random.Random(seed).sample(extra, min(n, len(extra)))


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
    from ..synth.engines import available_voices

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
