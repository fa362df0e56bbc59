"""Build the long-form test sets: long recordings joined from transcribed utterances.

    # the shared real English, 44 utterances joined into one ~6-minute recording
    .venv/bin/python tools/make_longform.py joined ../shared/data/real-en-dev/manifest.jsonl \\
        --output-dir data/longform/real-en-dev --pause 0.4 1.2
    # LibriSpeech dev-clean (the half in felixbastian/Speaker_partition_module, fetched to
    # data/raw; its .wav files hold MP3): per utterance, and per chapter as 5-15 min recordings
    .venv/bin/python tools/make_longform.py librispeech data/raw/data/LibriSpeech/dev-clean \\
        --output-dir data/longform/librispeech
    # two dev-clean speakers taking turns, with short answers cut from their own speech
    .venv/bin/python tools/make_longform.py conversations data/raw/data/LibriSpeech/dev-clean \\
        --output-dir data/longform/conversations --count 4
    # doctor-patient interviews (../shared/corpora/medical-dialogue, test-split files),
    # doctor and patient in two voices of engines the recipes never train on
    .venv/bin/python tools/make_longform.py interviews ../shared/corpora/medical-dialogue \\
        --output-dir data/longform/interviews --count 3

Each writes ``recordings.jsonl`` (one line per long recording: the joined transcript,
and its ``turns`` with start and end seconds); ``librispeech`` also writes
``utterances.jsonl``. LibriSpeech is for evaluation only: never train on these.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from speechtl.data.longform import chapter_groups, join_utterances, plan_conversation
from speechtl.data.manifest import ManifestEntry, read_manifest, write_manifest

SHORT_WORDS = ("yes", "no", "okay", "right", "well", "oh", "so", "yeah", "sure", "now", "then", "why", "what")
SHORT_PAD_S = 0.04  # kept each side of a short word cut from an utterance


def librispeech_entries(folder: Path) -> list[ManifestEntry]:
    """Utterances of a LibriSpeech split: ``*.trans.txt`` beside ``.flac`` or ``.wav`` clips."""
    import soundfile as sf

    entries = []
    for trans in sorted(folder.rglob("*.trans.txt")):
        for line in trans.read_text(encoding="utf-8").splitlines():
            utt, _, text = line.partition(" ")
            audio = next((p for p in (trans.parent / f"{utt}.flac", trans.parent / f"{utt}.wav") if p.is_file()), None)
            if audio is None or not text.strip():
                continue
            entries.append(ManifestEntry(utt, str(audio.resolve()), round(sf.info(str(audio)).duration, 3),
                                         text.strip().lower(), speaker=utt.split("-")[0]))
    if not entries:
        raise SystemExit(f"{folder}: no LibriSpeech transcripts (*.trans.txt) with audio")
    return entries


def cmd_joined(args) -> None:
    entries = read_manifest(args.manifest)
    name = args.name or Path(args.output_dir).name
    rec = join_utterances(entries, Path(args.output_dir) / f"{name}.wav", tuple(args.pause), args.seed, name)
    write_manifest(Path(args.output_dir) / "recordings.jsonl", [rec])
    print(f"{rec.id}: {len(entries)} utterances, {rec.duration / 60:.1f} min")


def cmd_librispeech(args) -> None:
    out = Path(args.output_dir)
    entries = librispeech_entries(Path(args.source))
    write_manifest(out / "utterances.jsonl", entries)
    recordings = []
    for i, group in enumerate(chapter_groups(entries)):
        rec_id = f"{group[0].id.rsplit('-', 1)[0]}-long{i:02d}"
        # LibriSpeech's own clips are cut at pauses: short gaps keep a chapter's pace
        recordings.append(join_utterances(group, out / "audio" / f"{rec_id}.wav", (0.2, 0.8), args.seed + i, rec_id))
    write_manifest(out / "recordings.jsonl", recordings)
    print(f"{len(entries)} utterances ({sum(e.duration for e in entries) / 3600:.2f} h); {len(recordings)} "
          f"recordings of {min(r.duration for r in recordings) / 60:.1f}-{max(r.duration for r in recordings) / 60:.1f} min")


def short_answers(entries: list[ManifestEntry], bundle, limit: int) -> list[ManifestEntry]:
    """Single short words (at most 0.5 s) cut from ``entries`` where a CTC model's
    alignment of their own transcript puts them: real short turns by the same voice."""
    from speechtl.data.manifest import load_entry
    from speechtl.decode.align import align_words
    from speechtl.text import normalize
    from speechtl.model.chunked import AcousticModel

    candidates = [e for e in entries if any(w in SHORT_WORDS for w in normalize(e.text).split())][: 4 * limit]
    if not candidates:
        return []
    transcriber = AcousticModel(bundle)
    logprobs = transcriber.logits([load_entry(e, bundle.sampling_rate) for e in candidates])
    out = []
    for e, lp in zip(candidates, logprobs):
        aligned = align_words(lp, normalize(e.text), bundle.alphabet) or []
        for word, (start, end) in aligned:
            seconds = (end - start) * bundle.frame_shift + 2 * SHORT_PAD_S
            if word in SHORT_WORDS and 0.15 <= seconds <= 0.5:
                offset = max(0.0, start * bundle.frame_shift - SHORT_PAD_S)
                out.append(ManifestEntry(f"{e.id}-{word}", e.audio_filepath, round(seconds, 3), word,
                                         speaker=e.speaker, offset=round((e.offset or 0.0) + offset, 3)))
                break
        if len(out) >= limit:
            break
    return out


def cmd_conversations(args) -> None:
    from speechtl.model.loader import load_pretrained

    out = Path(args.output_dir)
    bundle = load_pretrained(args.model)  # once: it finds the short answers of every speaker
    by_speaker: dict[str, list[ManifestEntry]] = {}
    for e in librispeech_entries(Path(args.source)):
        by_speaker.setdefault(e.speaker, []).append(e)
    rng = random.Random(args.seed)
    speakers = sorted(by_speaker, key=int)
    rng.shuffle(speakers)
    recordings = []
    for i in range(args.count):
        pair = speakers[2 * i: 2 * i + 2]
        if len(pair) < 2:
            break
        turns, answers = [], []
        for s in pair:
            chapters = sorted({e.id.split("-")[1] for e in by_speaker[s]})
            # long turns from the first chapter, short answers cut from the others
            main = [e for e in by_speaker[s] if e.id.split("-")[1] == chapters[0]]
            rest = [e for e in by_speaker[s] if e.id.split("-")[1] != chapters[0]] or main
            turns.append(_take_minutes(main, args.minutes / 2))
            answers += short_answers(rest, bundle, limit=8)
        rec_id = f"conv{i:02d}-{pair[0]}-{pair[1]}"
        plan = plan_conversation(turns, answers, seed=args.seed + i)
        recordings.append(join_utterances(plan, out / "audio" / f"{rec_id}.wav", (0.2, 2.0), args.seed + i, rec_id))
        print(f"{rec_id}: {len(plan)} turns ({sum(1 for t in plan if t.duration <= 0.5)} short), "
              f"{recordings[-1].duration / 60:.1f} min", flush=True)
    write_manifest(out / "recordings.jsonl", recordings)


def _take_minutes(entries: list[ManifestEntry], minutes: float) -> list[ManifestEntry]:
    taken, total = [], 0.0
    for e in sorted(entries, key=lambda e: e.id):
        if total >= minutes * 60:
            break
        taken.append(e)
        total += e.duration
    return taken


def cmd_interviews(args) -> None:
    from speechtl.domains.heldout import split_of
    from speechtl.synth.corpus import SynthConfig, synthesize_corpus
    from speechtl.text import normalize, split_sentences

    out = Path(args.output_dir)
    # test files with or without a train third (the medical recipe's own text is that third)
    files = [f for f in sorted(Path(args.source).glob("*.txt")) if split_of(f.name, train=True) == "test"][: args.count]
    recordings = []
    for f in files:
        lines = []  # (role, text): a turn is one transcript line; long lines are spoken sentence by sentence
        for raw in f.read_text(encoding="utf-8").splitlines():
            role, _, text = raw.partition(":")
            if role.strip() in ("D", "P") and normalize(text):
                lines += [(role.strip(), s) for s in split_sentences(text.strip()) if normalize(s)]
        spoken = {}
        for role, voice in (("D", args.doctor), ("P", args.patient)):
            mine = [t for r, t in lines if r == role]
            # clean studio speech: the test is about length and turns, not noise
            made = synthesize_corpus(mine, out / "clips" / f.stem / role, voices=[voice],
                                     config=SynthConfig(seed=args.seed, workers=args.workers, dev_voices=0,
                                                        noise_prob=0.0, reverb_prob=0.0, telephone_prob=0.0))
            for e in read_manifest(made.train_manifest):
                spoken.setdefault((role, normalize(e.text)), []).append(e)
        # a sentence synthesis failed on is left out of both the audio and the reference
        plan = [spoken[(r, normalize(t))].pop(0) for r, t in lines if spoken.get((r, normalize(t)))]
        recordings.append(join_utterances(plan, out / "audio" / f"{f.stem}.wav", (0.2, 1.5), args.seed, f.stem))
        print(f"{f.stem}: {len(plan)} sentences, {recordings[-1].duration / 60:.1f} min", flush=True)
    write_manifest(out / "recordings.jsonl", recordings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    sub = ap.add_subparsers(dest="source_kind", required=True)
    j = sub.add_parser("joined", help="one manifest joined into one recording")
    j.add_argument("manifest")
    j.add_argument("--name", default="")
    j.add_argument("--pause", type=float, nargs=2, default=(0.4, 1.2), metavar=("LOW", "HIGH"))
    ls = sub.add_parser("librispeech", help="a LibriSpeech split per utterance and per chapter")
    ls.add_argument("source")
    cv = sub.add_parser("conversations", help="two LibriSpeech speakers taking turns, short answers between")
    cv.add_argument("source")
    cv.add_argument("--count", type=int, default=4)
    cv.add_argument("--minutes", type=float, default=5.0)
    cv.add_argument("--model", default="general", help="CTC model that finds the short words to cut")
    iv = sub.add_parser("interviews", help="doctor-patient transcripts spoken by two held-out voices")
    iv.add_argument("source")
    iv.add_argument("--count", type=int, default=3)
    iv.add_argument("--doctor", default="piper-joe")
    iv.add_argument("--patient", default="festival-slt-hts")
    iv.add_argument("--workers", type=int, default=2)
    for p in (j, ls, cv, iv):
        p.add_argument("--output-dir", required=True)
    args = ap.parse_args()
    {"joined": cmd_joined, "librispeech": cmd_librispeech, "conversations": cmd_conversations,
     "interviews": cmd_interviews}[args.source_kind](args)


if __name__ == "__main__":
    main()
