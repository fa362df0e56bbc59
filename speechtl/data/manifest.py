"""NeMo-style JSONL manifests: one utterance per line.

    {"audio_filepath": "audio/a.wav", "duration": 3.2, "text": "hello", "speaker": "s1", "offset": 0.0}

``audio_filepath`` is relative to the manifest's folder or absolute; ``duration`` and
``offset`` are seconds. In memory each line is an immutable ManifestEntry with a
string id and an absolute path.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, TextIO

if TYPE_CHECKING:
    import numpy as np

from ..alphabet import Alphabet
from ..errors import AudioError, ManifestError
from ..fileio import read_text_file, write_text
from ..text import normalize
from .audio import AudioInfo, audio_info, load_audio

_KNOWN = {"id", "audio_filepath", "duration", "text", "speaker", "offset"}
DURATION_TOLERANCE_S = 0.1  # a labelled duration may differ from the file's by this much...
DURATION_TOLERANCE = 0.02  # ...or by this share of it, whichever is larger
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManifestEntry:
    id: str
    audio_filepath: str
    duration: float
    text: str
    speaker: str | None = None
    offset: float | None = None  # seconds; set for a segment of a longer file (then duration bounds it)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self, relative_to: Path | None = None) -> dict[str, Any]:
        audio = Path(self.audio_filepath)
        if relative_to is not None:
            try:
                audio = audio.resolve().relative_to(relative_to.resolve())
            except ValueError:
                audio = audio.resolve()  # outside the manifest's folder: absolute
        row: dict[str, Any] = {"id": self.id, "audio_filepath": str(audio),
                               "duration": round(self.duration, 4), "text": self.text}
        if self.speaker is not None:
            row["speaker"] = self.speaker
        if self.offset is not None:
            row["offset"] = self.offset
        row.update(self.extra)
        return row


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestEntry]:
    """Parse a manifest; a malformed line raises ManifestError naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    base = path.resolve().parent
    entries: list[ManifestEntry] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(read_text_file(path, "manifest").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ManifestError(f"{where}: each line must be a JSON object")
        for key in ("audio_filepath", "duration", "text"):
            if key not in row:
                raise ManifestError(f"{where}: missing field {key!r}")
        try:
            duration = float(row["duration"])
            offset = None if row.get("offset") is None else float(row["offset"])
        except (TypeError, ValueError):
            raise ManifestError(f"{where}: duration and offset must be numbers") from None
        if not isinstance(row["text"], str):
            raise ManifestError(f"{where}: text must be a string")
        if not isinstance(row["audio_filepath"], str) or not row["audio_filepath"].strip():
            raise ManifestError(f"{where}: audio_filepath must be a non-empty string")
        audio = Path(row["audio_filepath"])
        audio = audio if audio.is_absolute() else base / audio
        utt_id = str(row.get("id") or audio.stem)
        if utt_id in seen:  # two segments of one file: keep ids unique
            seen[utt_id] += 1
            utt_id = f"{utt_id}-{seen[utt_id]}"
        else:
            seen[utt_id] = 0
        speaker = row.get("speaker")
        entries.append(ManifestEntry(
            id=utt_id, audio_filepath=str(audio), duration=duration, text=row["text"],
            speaker=None if speaker is None else str(speaker), offset=offset,
            extra={k: v for k, v in row.items() if k not in _KNOWN},
        ))
    return entries


def load_entry(entry: ManifestEntry, sampling_rate: int) -> "np.ndarray":
    """The entry's samples: the whole file, or its segment when it has an offset."""
    if entry.offset is None:
        return load_audio(entry.audio_filepath, sampling_rate)
    return load_audio(entry.audio_filepath, sampling_rate, entry.offset, entry.duration)


def write_manifest(path: str | os.PathLike[str], entries: Iterable[ManifestEntry]) -> None:
    """Write atomically; audio paths under the manifest's folder become relative."""
    path = Path(path)
    base = path.parent.resolve() if path.parent.exists() else None
    lines = [json.dumps(e.to_json(base), ensure_ascii=False) for e in entries]
    write_text(path, "\n".join(lines) + ("\n" if lines else ""))


@dataclass(frozen=True)
class Rejected:
    id: str
    reason: str


@dataclass(frozen=True)
class ValidationReport:
    kept: tuple[ManifestEntry, ...]
    rejected: tuple[Rejected, ...]
    corrected: tuple[Rejected, ...] = ()  # kept, with the duration the file header gives

    def summary(self) -> str:
        text = f"kept {len(self.kept)} utterances, dropped {len(self.rejected)}"
        if self.corrected:
            text += f"; {len(self.corrected)} durations corrected from the audio files"
        return text


def validate(
    entries: Iterable[ManifestEntry],
    alphabet: Alphabet,
    on_error: Literal["drop", "fail"] = "drop",
    check_audio: bool = True,
) -> ValidationReport:
    """Check every entry; drop or fail on a bad one. Kept entries carry normalized text.

    Problems found: empty transcript, characters outside the alphabet, non-positive
    duration, and (with ``check_audio``) a missing, unreadable or empty audio file.
    With ``check_audio`` the labelled ``duration`` is also checked against the file
    header (``soundfile.info``): a label off by more than ``DURATION_TOLERANCE`` is
    replaced by the real length (listed in ``corrected``), so length guards see the truth.
    """
    kept: list[ManifestEntry] = []
    rejected: list[Rejected] = []
    corrected: list[Rejected] = []
    for entry in entries:
        reason, text, info = _problem(entry, alphabet, check_audio)
        if reason is None:
            entry = replace(entry, text=text)
            real = _real_duration(entry, info) if info is not None else None
            if real is not None and abs(real - entry.duration) > max(DURATION_TOLERANCE_S,
                                                                     DURATION_TOLERANCE * real):
                corrected.append(Rejected(entry.id, f"duration labelled {entry.duration:.2f}s, "
                                                    f"the audio is {real:.2f}s"))
                entry = replace(entry, duration=real)
            kept.append(entry)
            continue
        if on_error == "fail":
            raise ManifestError(f"utterance {entry.id!r}: {reason}")
        rejected.append(Rejected(entry.id, reason))
    if corrected:
        log.warning("%d manifest durations did not match their audio and were corrected (first: %s: %s)",
                    len(corrected), corrected[0].id, corrected[0].reason)
    return ValidationReport(tuple(kept), tuple(rejected), tuple(corrected))


def _real_duration(entry: ManifestEntry, info: AudioInfo) -> float | None:
    """Seconds of audio the entry really covers (a segment: up to the end of the file)."""
    if entry.offset is None:
        return info.duration
    remaining = info.duration - entry.offset
    return remaining if entry.duration > remaining else None  # a segment may be shorter than the rest


def _problem(entry: ManifestEntry, alphabet: Alphabet, check_audio: bool
             ) -> tuple[str | None, str, AudioInfo | None]:
    """(what is wrong or None, the normalized text, the audio header when read)."""
    text = normalize(entry.text)
    if entry.duration <= 0:
        return f"duration {entry.duration} is not positive", text, None
    if not text:
        return "empty transcript", text, None
    bad = alphabet.unknown_characters(text)
    if bad:
        return f"characters outside the alphabet: {''.join(sorted(bad))!r}", text, None
    if not check_audio:
        return None, text, None
    try:
        info = audio_info(entry.audio_filepath)
    except AudioError as exc:
        return str(exc), text, None
    if entry.offset is not None and entry.offset >= info.duration:
        return f"{entry.audio_filepath}: offset {entry.offset}s is past the end ({info.duration:.2f}s)", text, info
    return None, text, info


def load_valid(manifest: str | os.PathLike[str], alphabet: Alphabet, strict: bool = False) -> ValidationReport:
    """Read and validate a manifest: bad entries are dropped (the report lists them), or
    with ``strict`` the first one raises; a manifest with nothing usable raises."""
    validation = validate(read_manifest(manifest), alphabet, on_error="fail" if strict else "drop")
    if not validation.kept:
        first = f"; first: {validation.rejected[0].id}: {validation.rejected[0].reason}" if validation.rejected else ""
        raise ManifestError(f"{manifest}: no usable utterances ({len(validation.rejected)} rejected{first})")
    return validation


def report_rejected(rejected: Iterable[Rejected], stream: TextIO | None = None) -> int:
    """The one skip rule: each skipped entry on its own line (stderr), and the count."""
    stream = stream or sys.stderr
    count = 0
    for r in rejected:
        print(f"speechtl: skipped {r.id}: {r.reason}", file=stream, flush=True)
        count += 1
    return count
