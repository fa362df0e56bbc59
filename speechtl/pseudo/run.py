"""The resumable pseudo-labelling loop over recordings.

Each recording's result (kept and rejected segments) is written atomically to
``{output_dir}/labels/{key}.json``, the key a hash of its content; a rerun labels only
recordings without one, so nothing is labelled twice (a touched, renamed or copied
recording is the same recording) and an interrupted run loses at most the file it was
on. The teacher and filter settings are recorded in ``settings.json``: a rerun with other
settings is refused rather than mixing labels of two kinds. ``manifest.jsonl`` (kept segments, as
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
from ..errors import AudioError, SpeechtlError
from ..fileio import read_json, write_json, write_text
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


SETTINGS_FILE = "settings.json"


def recording_key(path: str | os.PathLike[str]) -> str:
    """A hash of the recording's bytes: the same audio has the same key wherever it lies."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:20]


def _check_settings(out: Path, settings: dict) -> None:
    """Record the labelling settings in ``out``, or refuse when it holds labels made with others."""
    file = out / SETTINGS_FILE
    if file.is_file():
        before = read_json(file, "pseudo-label settings")
        if before != settings:
            changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
            raise SpeechtlError(f"{out} holds labels made with another {', '.join(changed)} "
                                f"({', '.join(f'{k}: {before.get(k)!r}' for k in changed)}); label into another "
                                f"--output-dir, or delete {out / LABELS_DIR} and {file} to label again")
    elif (out / LABELS_DIR).is_dir() and any((out / LABELS_DIR).glob("*.json")):
        raise SpeechtlError(f"{out} holds labels whose settings are not recorded; label into another --output-dir, "
                            f"or delete {out / LABELS_DIR} to label again")
    else:
        write_json(file, settings)


def pseudo_label(paths: Sequence[str | os.PathLike[str]], output_dir: str | os.PathLike[str], teacher: Teacher,
                 config: FilterConfig = FilterConfig(), second: Teacher | None = None,
                 alphabet: Alphabet | None = None, progress: bool = True) -> PseudoReport:
    """Cut each recording at pauses, label each segment with ``teacher`` (and ``second``,
    whose agreement is then a filter), keep what passes ``config``."""
    alphabet = alphabet or Alphabet.default()
    out = Path(output_dir)
    labels = out / LABELS_DIR
    _check_settings(out, {"teacher": teacher.name, "teacher_settings": getattr(teacher, "settings", {}),
                          "second_teacher": second.name if second is not None else None,
                          "filter": asdict(config)})
    labelled, done_before, failed = 0, 0, []
    current: dict[str, str] = {}  # key -> where the recording is now
    for path in tqdm([str(p) for p in paths], desc="pseudo-label", unit="file", disable=None if progress else True):
        try:
            key = recording_key(path)
            current[key] = str(Path(path).resolve())
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
    kept_rows, rejected_rows = _collect(labels, current)
    manifest, rejected_path = out / "manifest.jsonl", out / "rejected.jsonl"
    write_manifest(manifest, [ManifestEntry(r["id"], r["audio_filepath"], r["duration"], r["text"], offset=r["offset"],
                                            extra={"confidence": round(r["avg_logprob"], 4), "teacher": r["teacher"]})
                              for r in kept_rows])
    write_text(rejected_path, "".join(json.dumps(r) + "\n" for r in rejected_rows))
    return PseudoReport(labelled, done_before, tuple(failed), len(kept_rows), len(rejected_rows), manifest,
                        rejected_path)


def _collect(labels: Path, current: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """Every label file's rows, pointing at where this run found each recording (a renamed
    one keeps its labels and gets its new path)."""
    kept, rejected = [], []
    for file in sorted(labels.glob("*.json")) if labels.is_dir() else []:
        data = read_json(file, "labels")
        where = current.get(file.stem)
        for rows, into in ((data["kept"], kept), (data["rejected"], rejected)):
            into += [dict(r, audio_filepath=where) if where else r for r in rows]
    return kept, rejected
