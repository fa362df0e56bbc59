"""The resumable pseudo-labelling loop over recordings.

Each recording's result (kept and rejected segments) is written atomically to
``{output_dir}/labels/{key}.json``, the key a hash of its path, size and modification
time; a rerun labels only recordings without one, so nothing is labelled twice and an
interrupted run loses at most the file it was on. ``manifest.jsonl`` (kept segments, as
``offset``/``duration`` into the recording, with the teacher's confidence) and
``rejected.jsonl`` (each with its reason) are rebuilt from all of them at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from ..alphabet import Alphabet
from ..constants import SAMPLE_RATE
from ..data.audio import load_audio
from ..data.manifest import ManifestEntry, write_manifest
from ..errors import AudioError
from ..fileio import write_json, write_text
from ..text import normalize
from ..data.vad import speech_segments
from .filter import FilterConfig, rejection
from .teacher import Teacher

LABELS_DIR = "labels"


@dataclass(frozen=True)
class PseudoReport:
    labelled: int  # recordings labelled by this run
    done_before: int  # recordings a previous run had labelled
    failed: tuple[str, ...]  # "path: reason" of recordings that could not be read
    kept: int  # segments in manifest.jsonl (all runs)
    rejected: int  # segments in rejected.jsonl (all runs)
    manifest: Path
    rejected_path: Path

    def summary(self) -> str:
        total = self.kept + self.rejected
        share = f" ({100 * self.kept / total:.0f}% of {total})" if total else ""
        return (f"{self.labelled} recordings labelled, {self.done_before} done before, {len(self.failed)} failed; "
                f"{self.kept} segments kept{share}, {self.rejected} rejected")


def recording_key(path: str | os.PathLike[str]) -> str:
    stat = os.stat(path)
    return hashlib.sha1(f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:20]


def pseudo_label(paths: Sequence[str | os.PathLike[str]], output_dir: str | os.PathLike[str], teacher: Teacher,
                 config: FilterConfig = FilterConfig(), second: Teacher | None = None,
                 alphabet: Alphabet | None = None, progress: bool = True) -> PseudoReport:
    """Cut each recording at pauses, label each segment with ``teacher`` (and ``second``,
    whose agreement is then a filter), keep what passes ``config``."""
    alphabet = alphabet or Alphabet.default()
    out = Path(output_dir)
    labels = out / LABELS_DIR
    labelled, done_before, failed = 0, 0, []
    for path in tqdm([str(p) for p in paths], desc="pseudo-label", unit="file", disable=None if progress else True):
        try:
            key = recording_key(path)
            if (labels / f"{key}.json").is_file():
                done_before += 1
                continue
            wave = load_audio(path)
        except (OSError, AudioError) as exc:
            failed.append(f"{path}: {exc}")
            continue
        kept, rejected = [], []
        for i, seg in enumerate(speech_segments(wave)):
            piece = wave[int(seg.start_s * SAMPLE_RATE): int(seg.end_s * SAMPLE_RATE)]
            label = teacher.label(piece)
            other = second.label(piece) if second is not None else None
            row = {"id": f"{Path(path).stem}-{key[:8]}-{i:04d}", "audio_filepath": str(Path(path).resolve()),
                   "offset": round(seg.start_s, 3), "duration": round(seg.duration_s, 3),
                   "text": normalize(label.text), "teacher": teacher.name, **asdict(label)}
            if other is not None:
                row["second_text"] = normalize(other.text)
            reason = rejection(label, seg.duration_s, alphabet, config, other)
            (rejected if reason else kept).append(dict(row, reason=reason) if reason else row)
        write_json(labels / f"{key}.json", {"path": str(path), "kept": kept, "rejected": rejected})
        labelled += 1
    kept_rows, rejected_rows = _collect(labels)
    manifest, rejected_path = out / "manifest.jsonl", out / "rejected.jsonl"
    write_manifest(manifest, [ManifestEntry(r["id"], r["audio_filepath"], r["duration"], r["text"], offset=r["offset"],
                                            extra={"confidence": round(r["avg_logprob"], 4), "teacher": r["teacher"]})
                              for r in kept_rows])
    write_text(rejected_path, "".join(json.dumps(r) + "\n" for r in rejected_rows))
    return PseudoReport(labelled, done_before, tuple(failed), len(kept_rows), len(rejected_rows), manifest,
                        rejected_path)


def _collect(labels: Path) -> tuple[list[dict], list[dict]]:
    kept, rejected = [], []
    for file in sorted(labels.glob("*.json")) if labels.is_dir() else []:
        data = json.loads(file.read_text(encoding="utf-8"))
        kept += data["kept"]
        rejected += data["rejected"]
    return kept, rejected
