"""Real transcribed corpora, in their published layouts, as speechtl manifests.

    speechtl prepare mini-librispeech --source data/raw/LibriSpeech --output-dir data/real
    speechtl prepare speechocean762 --source data/raw/speechocean762 --output-dir data/real
    speechtl prepare vctk --source data/raw/VCTK-Corpus --output-dir data/real
    speechtl prepare ljspeech --source data/raw/LJSpeech-1.1 --output-dir data/real

    from speechtl.data.prepare import prepare_corpus
    prepared = prepare_corpus("mini-librispeech", "data/raw/LibriSpeech", "data/real")

Each corpus becomes ``{output_dir}/{corpus}/{train,dev,test}.jsonl`` (audio paths point
into the source folder, nothing is copied) and a ``LICENSE.md`` with the attribution.
Splits are by speaker, so dev and test voices are never heard in training; a corpus
with too few speakers to split goes to train whole. Each corpus's metadata is read
here; a clip that is missing or unreadable is left out and counted, malformed metadata
is named with its file and line. The corpus's folder is written whole and atomically
(a rerun leaves no split of an earlier one). With ``download=True`` lhotse (or OpenSLR
for speechocean762) fetches the corpus first; a rerun finds it where the download put it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..errors import SpeechtlError
from ..fileio import atomic_dir, write_text
from . import download
from .audio import audio_info
from .manifest import ManifestEntry, write_manifest

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
DEFAULT_DEV_SHARE = 0.05  # of the speakers
DEFAULT_TEST_SHARE = 0.10
# LJ Speech clips that are part of the shared real-en-dev evaluation set: never train on them
LJSPEECH_EXCLUDED = tuple(f"LJ001-{i:04d}" for i in range(1, 33))


class CorpusLayoutError(SpeechtlError):
    """A corpus folder does not have its published layout."""


@dataclass(frozen=True)
class Utterance:
    id: str
    audio_filepath: str
    duration: float  # seconds
    text: str
    speaker: str


@dataclass(frozen=True)
class Corpus:
    name: str
    required: tuple[str, ...]  # paths (relative to the source) that must exist; "a|b": either
    licence: str
    read: Callable[[Path, list[str]], list[Utterance]]  # (source, skipped) -> utterances
    download: Callable[[Path], Path] | None = None


@dataclass(frozen=True)
class PreparedCorpus:
    name: str
    manifests: dict[str, Path]
    utterances: dict[str, int]
    hours: dict[str, float]
    speakers: dict[str, int]
    skipped: tuple[str, ...] = ()  # clips left out, each with why

    def summary(self) -> str:
        parts = [f"{s} {self.utterances[s]} utts / {self.hours[s]:.2f} h / {self.speakers[s]} speakers"
                 for s in SPLITS if self.utterances.get(s)]
        return f"{self.name}: " + "; ".join(parts) + (f"; {len(self.skipped)} clips skipped" if self.skipped else "")


# --- readers -----------------------------------------------------------------------
# Each reads the corpus's own metadata and each clip's header: a clip that is missing or
# unreadable is left out and noted in ``skipped`` (with why), a malformed metadata line is
# named with its file and line number.

def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise CorpusLayoutError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _clip(utt: str, path: Path, text: str, speaker: str, skipped: list[str]) -> Utterance | None:
    """The utterance, or None (noted in ``skipped``) when its audio is missing or unreadable."""
    if not path.is_file():
        skipped.append(f"{utt}: audio missing ({path})")
        return None
    try:
        duration = audio_info(path).duration
    except SpeechtlError as exc:
        skipped.append(f"{utt}: {exc}")
        return None
    return Utterance(utt, str(path.resolve()), duration, text.strip(), speaker)


def read_librispeech(source: Path, skipped: list[str]) -> list[Utterance]:
    """Every ``SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt`` below ``source`` (all parts)."""
    out = []
    for trans in sorted(source.glob("*/*/*/*.trans.txt")):
        for lineno, line in enumerate(_read_lines(trans), start=1):
            if not line.strip():
                continue
            utt, _, text = line.strip().partition(" ")
            if not text or utt.count("-") != 2:
                raise CorpusLayoutError(f"{trans}:{lineno}: expected 'SPEAKER-CHAPTER-NNNN TEXT', got {line[:60]!r}")
            clip = _clip(utt, trans.parent / f"{utt}.flac", text, utt.split("-")[0], skipped)
            if clip:
                out.append(clip)
    return out


def read_vctk(source: Path, skipped: list[str]) -> list[Utterance]:
    """``txt/SPEAKER/ID.txt`` with ``wav48/SPEAKER/ID.wav`` (0.80) or
    ``wav48_silence_trimmed/SPEAKER/ID_mic1.flac`` (0.92)."""
    out = []
    for txt in sorted((source / "txt").glob("*/*.txt")):
        utt, speaker = txt.stem, txt.parent.name
        lines = [line for line in _read_lines(txt) if line.strip()]
        if len(lines) != 1:
            raise CorpusLayoutError(f"{txt}: expected one line of transcript, found {len(lines)}")
        audio = source / "wav48" / speaker / f"{utt}.wav"
        if not audio.exists():
            audio = source / "wav48_silence_trimmed" / speaker / f"{utt}_mic1.flac"
        clip = _clip(utt, audio, lines[0], speaker, skipped)
        if clip:
            out.append(clip)
    return out


def read_ljspeech(source: Path, skipped: list[str]) -> list[Utterance]:
    """``metadata.csv`` (ID|text|normalized text, the normalized one used) and ``wavs/ID.wav``;
    the clips of the shared evaluation set are left out."""
    out = []
    metadata = source / "metadata.csv"
    for lineno, line in enumerate(_read_lines(metadata), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != 3 or not fields[0].strip():
            raise CorpusLayoutError(f"{metadata}:{lineno}: expected 'ID|text|normalized text', got {line[:60]!r}")
        utt = fields[0].strip()
        if utt in LJSPEECH_EXCLUDED:
            continue
        clip = _clip(utt, source / "wavs" / f"{utt}.wav", fields[2] or fields[1], "LJ", skipped)
        if clip:
            out.append(clip)
    return out


def _kaldi_table(path: Path) -> dict[str, str]:
    table = {}
    for line in _read_lines(path):
        fields = line.split(None, 1)
        if fields:
            table[fields[0]] = fields[1].strip() if len(fields) > 1 else ""
    return table


def read_speechocean762(source: Path, skipped: list[str]) -> list[Utterance]:
    """speechocean762's Kaldi folders (train/ and test/: wav.scp, text, utt2spk)."""
    out = []
    for split in ("train", "test"):
        folder = source / split
        wavs, texts, speakers = (_kaldi_table(folder / f) for f in ("wav.scp", "text", "utt2spk"))
        for utt, rel in sorted(wavs.items()):
            if utt not in texts:
                skipped.append(f"{utt}: no transcript in {folder / 'text'}")
                continue
            clip = _clip(utt, source / rel, texts[utt], speakers.get(utt, utt[:4]), skipped)
            if clip:
                out.append(clip)
    return out


CORPORA: dict[str, Corpus] = {
    "mini-librispeech": Corpus(
        "mini-librispeech", ("train-clean-5|dev-clean-2",),
        "Mini LibriSpeech (OpenSLR 31), from LibriVox public-domain audiobooks; CC BY 4.0. "
        "V. Panayotov, G. Chen, D. Povey, S. Khudanpur, 'LibriSpeech: an ASR corpus based on public "
        "domain audio books', ICASSP 2015.",
        read_librispeech, download.lhotse_corpus("download_librispeech", dataset_parts="mini_librispeech")),
    "speechocean762": Corpus(
        "speechocean762", ("WAVE", "train/wav.scp", "train/text", "train/utt2spk", "test/wav.scp",
                           "test/text", "test/utt2spk"),
        "speechocean762 (OpenSLR 101), Speechocean; CC BY 4.0. J. Zhang et al., 'speechocean762: an "
        "open-source non-native English speech corpus for pronunciation assessment', Interspeech 2021.",
        read_speechocean762, download.speechocean762),
    "vctk": Corpus(
        "vctk", ("txt", "wav48|wav48_silence_trimmed", "speaker-info.txt"),
        "CSTR VCTK Corpus, University of Edinburgh; CC BY 4.0. C. Veaux, J. Yamagishi, K. MacDonald.",
        read_vctk, download.lhotse_corpus("download_vctk")),
    "ljspeech": Corpus(
        "ljspeech", ("metadata.csv", "wavs"),
        "The LJ Speech Dataset, K. Ito and L. Johnson (2017), public domain (LibriVox recordings). "
        f"Clips {LJSPEECH_EXCLUDED[0]}..{LJSPEECH_EXCLUDED[-1]} are left out: they belong to a shared "
        "evaluation set.",
        read_ljspeech, download.lhotse_corpus("download_ljspeech")),
}


# --- layout check, speaker split, writing -----------------------------------------------

def check_layout(corpus: Corpus, source: Path) -> None:
    """Raise CorpusLayoutError naming every required path that ``source`` lacks."""
    if not source.is_dir():
        raise CorpusLayoutError(f"{source}: no such folder (the {corpus.name} corpus in its published layout)")
    missing = [need.replace("|", " or ") for need in corpus.required
               if not any((source / option).exists() for option in need.split("|"))]
    if missing:
        raise CorpusLayoutError(f"{source} is not a {corpus.name} folder: missing {', '.join(missing)}")


def split_speakers(speakers: Iterable[str], dev_share: float, test_share: float, salt: str) -> dict[str, str]:
    """speaker -> split, stable under adding speakers (a hash decides, not the order).

    With fewer than 3 speakers everything is train: no voice could be held out."""
    speakers = sorted(set(speakers))
    if len(speakers) < 3:
        return {s: "train" for s in speakers}
    ranked = sorted(speakers, key=lambda s: hashlib.sha256(f"{salt}:{s}".encode()).hexdigest())
    n_test = max(1, round(test_share * len(ranked)))
    n_dev = max(1, round(dev_share * len(ranked)))
    split = {s: "test" for s in ranked[:n_test]}
    split.update({s: "dev" for s in ranked[n_test:n_test + n_dev]})
    split.update({s: "train" for s in ranked[n_test + n_dev:]})
    return split


def locate(corpus: Corpus, source: Path) -> Path:
    """``source``, or the one folder below it that holds the corpus in its published layout
    (where a download unpacked it: LibriSpeech/, LJSpeech-1.1/, ...)."""
    try:
        check_layout(corpus, source)
        return source
    except CorpusLayoutError:
        if not source.is_dir():
            raise
        inside = []
        for child in sorted(p for p in source.iterdir() if p.is_dir()):
            try:
                check_layout(corpus, child)
                inside.append(child)
            except CorpusLayoutError:
                continue
        if len(inside) == 1:
            return inside[0]
        raise


def prepare_corpus(name: str, source: str | os.PathLike[str], output_dir: str | os.PathLike[str], *,
                   dev_share: float = DEFAULT_DEV_SHARE, test_share: float = DEFAULT_TEST_SHARE,
                   download: bool = False) -> PreparedCorpus:
    """Read corpus ``name`` from ``source`` and write its speaker-split manifests."""
    if name not in CORPORA:
        raise SpeechtlError(f"unknown corpus {name!r} (known: {', '.join(CORPORA)})")
    corpus = CORPORA[name]
    source = Path(source)
    if download and not source.exists():
        if corpus.download is None:
            raise SpeechtlError(f"{name} cannot be downloaded automatically")
        source = corpus.download(source)
    source = locate(corpus, source)
    skipped: list[str] = []
    utterances = []
    for u in corpus.read(source, skipped):
        if u.text and u.duration > 0:
            utterances.append(u)
        else:
            skipped.append(f"{u.id}: {'no transcript' if not u.text else 'no audio in the file'}")
    if not utterances:
        raise CorpusLayoutError(f"{source}: the {name} layout is there but holds no transcribed audio"
                                + (f" ({len(skipped)} clips skipped; first: {skipped[0]})" if skipped else ""))
    assignment = split_speakers((u.speaker for u in utterances), dev_share, test_share, salt=name)
    out = Path(output_dir) / name
    manifests, counts, hours, speakers = {}, {}, {}, {}
    with atomic_dir(out) as tmp:  # every manifest afresh: a split an earlier run wrote cannot linger
        for split in SPLITS:
            chosen = sorted((u for u in utterances if assignment[u.speaker] == split), key=lambda u: u.id)
            if not chosen and split != "train":
                continue
            write_manifest(tmp / f"{split}.jsonl", (ManifestEntry(u.id, u.audio_filepath, u.duration, u.text, u.speaker)
                                                    for u in chosen))
            manifests[split], counts[split] = out / f"{split}.jsonl", len(chosen)
            hours[split] = sum(u.duration for u in chosen) / 3600
            speakers[split] = len({u.speaker for u in chosen})
        prepared = PreparedCorpus(name, manifests, counts, hours, speakers, tuple(skipped))
        write_text(tmp / "LICENSE.md", f"# {name}\n\n{corpus.licence}\n\nSource folder: {source.resolve()}\n\n"
                                       f"{prepared.summary()}\n")
    return prepared


def prepared_manifests(real_dir: str | os.PathLike[str], split: str) -> list[Path]:
    """The ``split`` manifests of every corpus prepared under ``real_dir`` (sorted; [] when none)."""
    root = Path(real_dir)
    return sorted(root.glob(f"*/{split}.jsonl")) if root.is_dir() else []
