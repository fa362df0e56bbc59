"""The ``speechtl`` command.

    speechtl transcribe hearing.wav dictations/ --model runs/legal/best --format srt --output-dir out/
    speechtl evaluate --model runs/legal/best --manifest data/test.jsonl --output-dir runs/legal/eval
    speechtl train --base facebook/wav2vec2-base-960h --train-manifest train.jsonl \\
        --dev-manifest dev.jsonl --output-dir runs/mine --set max_steps=500 --set freeze.trainable_layers=4
    speechtl prepare mini-librispeech --source data/raw/LibriSpeech --output-dir data/real
    speechtl demo

Exit status: 0 all done; 1 done, but something was skipped (each skip listed on stderr,
a count at the end; ``--strict`` fails on the first one instead); 2 bad arguments, input
or setup, one line on stderr, before any work starts where it can be checked; 3 an
unexpected error (a bug: rerun with -v for the traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from .errors import SpeechtlError
from .lm.arpa import DEFAULT_ORDER

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3
FORMATS = ("txt", "json", "srt")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        self.exit(EXIT_USAGE, f"speechtl: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="speechtl", description="Adapt pretrained speech recognizers to a domain.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("transcribe", help="transcribe audio files and folders")
    t.add_argument("paths", nargs="+", help="audio files or folders (searched recursively)")
    t.add_argument("--model", required=True, help="model folder or Hugging Face hub id")
    t.add_argument("--format", choices=FORMATS, default="txt")
    t.add_argument("--output-dir", help="write one file per input here, mirroring the inputs' folders "
                                        "(default: print to stdout); existing outputs are kept")
    t.add_argument("--overwrite", action="store_true", help="transcribe again inputs whose output exists")
    _add_inference_args(t)
    _add_decoding_args(t)
    t.add_argument("--chunk-length", type=float, default=None, help="seconds per chunk for long audio")
    t.add_argument("--stride-length", type=float, default=None, help="seconds of context each side of a chunk")

    e = sub.add_parser("evaluate", help="WER/CER of a model on a manifest, with results files")
    e.add_argument("--model", required=True)
    e.add_argument("--manifest", required=True)
    e.add_argument("--output-dir", default="results")
    e.add_argument("--set-name", help="name used in results file names (default: manifest file name)")
    e.add_argument("--strict", action="store_true", help="fail on the first bad entry instead of skipping it")
    _add_inference_args(e)
    _add_decoding_args(e)

    lm = sub.add_parser("build-lm", help="build a KenLM n-gram LM (ARPA) from domain text")
    lm.add_argument("--text", action="append", default=[], required=True,
                    help="text file or folder of .txt files (repeatable)")
    lm.add_argument("--terms", help="vocabulary file (.txt or .csv): its terms join the LM text")
    lm.add_argument("--output", required=True, help="ARPA file to write")
    lm.add_argument("--order", type=int, default=DEFAULT_ORDER)
    lm.add_argument("--prune", type=int, nargs="*", default=[],
                    help="minimum count per order, e.g. 0 0 2 2 drops 3- and 4-grams seen once")
    lm.add_argument("--general-english", action="store_true",
                    help="mix speechtl's real-English sentences (LJ Speech, LibriSpeech, VCTK transcripts) into the text")
    lm.add_argument("--lexicon", metavar="auto|FILE",
                    help="real-word list made known to the LM (auto: the system's, e.g. wamerican-large), "
                         "so only letter soup pays the OOV offset")
    lm.add_argument("--attach-to", metavar="MODEL_DIR", help="save the LM decoder next to this model")
    lm.add_argument("--tune-manifest", help="with --attach-to: tune alpha/beta/term weight on this dev manifest")

    tr = sub.add_parser("train", help="fine-tune a checkpoint on manifests")
    tr.add_argument("--base", required=True, help="checkpoint to start from: hub id or folder")
    tr.add_argument("--train-manifest", required=True)
    tr.add_argument("--dev-manifest")
    tr.add_argument("--output-dir", required=True)
    tr.add_argument("--strict", action="store_true", help="fail on the first bad manifest entry instead of skipping it")
    tr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a TrainConfig field, e.g. max_steps=500 or freeze.trainable_layers=all")

    sy = sub.add_parser("synth", help="synthesize a multi-voice training corpus from text")
    src = sy.add_mutually_exclusive_group(required=True)
    src.add_argument("--domain", choices=("medical", "legal", "general"), help="a built-in domain's sentences")
    src.add_argument("--text", action="append", help="text file(s) or folders: one sentence per line")
    sy.add_argument("--terms", help="vocabulary file: pronunciation hints and term coverage (default: the domain's)")
    sy.add_argument("--hours", type=float, default=None, help="target hours of audio (built-in domains)")
    sy.add_argument("--sentences", type=int, default=None, help="how many sentences (built-in domains)")
    sy.add_argument("--general-share", type=float, default=0.2, help="share of everyday English mixed in")
    sy.add_argument("--voices", help="comma-separated voice names (default: every installed voice)")
    sy.add_argument("--dev-voices", type=int, default=2, help="voices held out for dev.jsonl")
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--workers", type=int, default=2)
    sy.add_argument("--noise-prob", type=float, default=0.3)
    sy.add_argument("--reverb-prob", type=float, default=0.2)
    sy.add_argument("--output-dir", required=True)
    sy.add_argument("--no-progress", action="store_true")

    sg = sub.add_parser("segment", help="cut a long recording into utterances by aligning its transcript")
    sg.add_argument("--model", required=True)
    sg.add_argument("--audio", required=True)
    sg.add_argument("--transcript", required=True, help="text file: the whole recording's transcript")
    sg.add_argument("--output-dir", required=True)
    sg.add_argument("--min-confidence", type=float, default=None, help="drop segments below this log-probability")

    pr = sub.add_parser("prepare", help="turn a real corpus in its published layout into speaker-split manifests")
    pr.add_argument("corpus", choices=("mini-librispeech", "speechocean762", "vctk", "ljspeech"))
    pr.add_argument("--source", required=True, help="the corpus folder (downloaded there first with --download)")
    pr.add_argument("--output-dir", required=True, help="manifests go to OUTPUT_DIR/CORPUS/{train,dev,test}.jsonl")
    pr.add_argument("--download", action="store_true", help="fetch the corpus from its official source first")

    d = sub.add_parser("demo", help="built-in default: build a tiny model on the shipped sample, then transcribe and evaluate it")
    d.add_argument("--output-dir", default="runs/demo")
    d.add_argument("--steps", type=int, default=300)
    return parser


def _add_decoding_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--decoder", choices=("auto", "greedy", "beam"), default="auto",
                   help="auto: beam search with the model's LM if it has one, else greedy")
    p.add_argument("--lm", help="ARPA/KenLM file to decode with (overrides the model's own)")
    p.add_argument("--terms", help="vocabulary file (.txt or .csv) of terms to boost, added at decode time")
    p.add_argument("--beam-width", type=int, default=None)
    p.add_argument("--spot-threshold", type=float, default=None,
                   help="term spotting after the search with this threshold (overrides the model's tuned one)")
    p.add_argument("--no-spotting", action="store_true", help="switch off term spotting the model was tuned with")
    p.add_argument("--processes", type=int, default=None, help="beam-search worker processes")


def _add_inference_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--int8", action="store_true", help="CPU: int8 encoder layers (faster, small WER cost)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="speechtl: %(message)s")
    _quiet_transformers(args.verbose)
    try:
        commands = {"transcribe": cmd_transcribe, "evaluate": cmd_evaluate, "train": cmd_train,
                    "build-lm": cmd_build_lm, "synth": cmd_synth, "segment": cmd_segment, "prepare": cmd_prepare, "demo": cmd_demo}
        return commands[args.command](args)
    except SpeechtlError as exc:
        print(f"speechtl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("speechtl: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: say so, with the way to the details
        if args.verbose:
            raise
        print(f"speechtl: unexpected error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
              f" (rerun with -v for the traceback, and please report it)", file=sys.stderr)
        return EXIT_BUG


def cmd_transcribe(args: argparse.Namespace) -> int:
    from .data.audio import audio_info, find_audio_files
    from .fileio import write_text
    from .model.loader import load_pretrained
    from .transcribe import Transcriber, to_json, to_srt

    _check_output_dir(args.output_dir)
    inputs: list[Path] = []
    problems = []
    for raw in args.paths:
        root = Path(raw)
        if not root.exists():
            problems.append(f"{raw}: no such file or folder")
            continue
        found = find_audio_files(root)
        if root.is_dir() and not found:
            problems.append(f"{raw}: no audio files in folder")
        inputs += found
    inputs = list(dict.fromkeys(inputs))  # a file named twice is transcribed once
    if not inputs:
        raise SpeechtlError("no audio to transcribe" + (f" ({'; '.join(problems)})" if problems else ""))
    for problem in problems:
        print(f"speechtl: skipped {problem}", file=sys.stderr)
    failures = len(problems)
    if args.format == "srt" and not args.output_dir and len(inputs) > 1:
        raise SpeechtlError("srt output for several files needs --output-dir")

    # Each input gets its own output, never overwritten unless asked: a rerun resumes.
    outputs = output_paths(inputs, Path(args.output_dir), args.format) if args.output_dir else {}
    existing = set() if args.overwrite else {f for f in inputs if f in outputs and outputs[f].exists()}
    inputs = [f for f in inputs if f not in existing]
    for f in inputs:
        try:
            if audio_info(f).truncated:
                print(f"speechtl: warning: {f} is cut off (its header promises more audio than the file "
                      f"holds): transcribing what is there", file=sys.stderr)
        except SpeechtlError:
            pass  # reported as skipped below, when it fails to load
    done = 0
    if inputs:
        kwargs = {k: v for k, v in (("chunk_length", args.chunk_length), ("stride_length", args.stride_length)) if v}
        bundle = load_pretrained(args.model)
        beam, _ = _beam_decoder(args, bundle)
        transcriber = Transcriber(bundle, device=args.device, batch_size=args.batch_size, beam=beam,
                                  processes=args.processes, int8=args.int8, half=_on_gpu(args.device), **kwargs)
        for result in transcriber.transcribe_files(inputs, progress=not args.no_progress):
            if result.error:
                print(f"speechtl: skipped {result.path}: {result.error}", file=sys.stderr)
                failures += 1
                continue
            body = {"txt": lambda r: r.text + "\n", "json": lambda r: json.dumps(to_json(r)) + "\n",
                    "srt": to_srt}[args.format](result)
            if args.output_dir:
                write_text(outputs[Path(result.path)], body)
            elif args.format == "txt" and len(inputs) > 1:
                print(f"{result.path}\t{result.text}")
            else:
                sys.stdout.write(body)
            sys.stdout.flush()
            done += 1
    why = " (output exists; --overwrite redoes them)" if existing else ""
    print(f"speechtl: {done} transcribed, {len(existing)} skipped{why}, {failures} failed", file=sys.stderr)
    return EXIT_PARTIAL if failures else EXIT_OK


def output_paths(inputs: Sequence[Path], output_dir: Path, fmt: str) -> dict[Path, Path]:
    """One output per input, mirroring the inputs' tree below their common folder;
    inputs that would share a name (x.wav and x.flac) keep their extension (x.wav.txt)."""
    import os

    resolved = [f.resolve() for f in inputs]
    root = Path(os.path.commonpath([str(f.parent) for f in resolved]))
    rel = {f: r.relative_to(root) for f, r in zip(inputs, resolved)}
    plain = {f: r.with_suffix("." + fmt) for f, r in rel.items()}
    counts: dict[Path, int] = {}
    for p in plain.values():
        counts[p] = counts.get(p, 0) + 1
    return {f: output_dir / (plain[f] if counts[plain[f]] == 1 else rel[f].with_name(rel[f].name + "." + fmt))
            for f in inputs}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_manifest
    from .model.loader import load_pretrained

    _check_output_dir(args.output_dir)
    bundle = load_pretrained(args.model)
    if args.device:
        bundle.model.to(args.device)
    beam, vocabulary = _beam_decoder(args, bundle)
    ev, validation = evaluate_manifest(bundle, args.manifest, args.output_dir, args.set_name, beam=beam,
                                       vocabulary=vocabulary, batch_size=args.batch_size,
                                       progress=not args.no_progress, int8=args.int8, strict=args.strict)
    skipped = report_skips(list(validation.rejected) + list(ev.skipped))
    line = f"WER {100 * ev.score.wer:.2f}%  CER {100 * ev.score.cer:.2f}%"
    if ev.terms is not None and ev.terms.recall is not None:
        line += f"  term recall {100 * ev.terms.recall:.2f}%"
    print(f"{line}  ({len(ev.score.utterances)} utterances, {skipped} skipped)")
    print(f"results: {ev.files['errs'].parent}")
    return EXIT_PARTIAL if skipped else EXIT_OK


def report_skips(rejected) -> int:
    """One line per skipped entry on stderr; the count."""
    for r in rejected:
        print(f"speechtl: skipped {r.id}: {r.reason}", file=sys.stderr)
    return len(rejected)


def _check_output_dir(path: str | None) -> None:
    """Fail before any work when an output folder cannot be one."""
    if path and Path(path).exists() and not Path(path).is_dir():
        raise SpeechtlError(f"--output-dir {path}: exists and is not a folder")


def cmd_build_lm(args: argparse.Namespace) -> int:
    from .decode.beam import BeamDecoder
    from .lm.build import build_lm, read_lines
    from .vocabulary import Vocabulary

    from .lm.general import general_sentences, system_lexicon

    vocabulary = Vocabulary.load(args.terms) if args.terms else None
    lines = list(read_lines(args.text)) + (general_sentences() if args.general_english else [])
    lexicon = system_lexicon(None if args.lexicon in (None, "auto") else args.lexicon) if args.lexicon else ()
    stats = build_lm(lines, args.output, args.order, args.prune, vocabulary, lexicon=lexicon)
    print(f"wrote {args.output}: order {stats.order}, n-grams {list(stats.ngrams)}, {stats.vocabulary} words")
    if not args.attach_to:
        if args.tune_manifest:
            raise SpeechtlError("--tune-manifest needs --attach-to MODEL_DIR")
        return EXIT_OK
    from .model.loader import load_pretrained

    bundle = load_pretrained(args.attach_to)
    decoder = BeamDecoder(bundle.alphabet, args.output, vocabulary)
    extra = {}
    if args.tune_manifest:
        from .decode.tune import tune_beam
        from .evaluate import entry_logprobs, load_valid

        dev = load_valid(args.tune_manifest, bundle).kept
        result = tune_beam(decoder, entry_logprobs(bundle, dev), [e.text for e in dev], bundle.frame_shift)
        decoder = decoder.with_changes(alpha=result.config.alpha, beta=result.config.beta,
                                       hotword_weight=result.config.hotword_weight)
        extra = {"tuned_on": str(args.tune_manifest), "tuned_wer": result.wer, "grid": list(result.grid)}
        print(f"tuned: alpha {result.config.alpha}, beta {result.config.beta}, "
              f"term weight {result.config.hotword_weight}: dev WER {100 * result.wer:.2f}%")
    decoder.save(args.attach_to, extra)
    print(f"saved the LM decoder in {args.attach_to}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from .alphabet import Alphabet
    from .config import apply_overrides
    from .data.manifest import read_manifest, validate
    from .model.loader import load_pretrained
    from .trainer import TrainConfig, train

    _check_output_dir(args.output_dir)
    config = apply_overrides(TrainConfig(output_dir=args.output_dir), args.set)
    alphabet = Alphabet.default()
    on_error = "fail" if args.strict else "drop"
    train_set = validate(read_manifest(args.train_manifest), alphabet, on_error)
    dev_set = validate(read_manifest(args.dev_manifest), alphabet, on_error) if args.dev_manifest else None
    skipped = report_skips(list(train_set.rejected) + list(dev_set.rejected if dev_set else ()))
    bundle = load_pretrained(args.base, alphabet)
    result = train(bundle, train_set.kept, dev_set.kept if dev_set else [], config)
    quality = (f"best dev WER {100 * result.best_wer:.2f}%" if dev_set else
               f"no dev set: the model with the lowest training loss ({result.best_wer:.3f})")
    print(f"{quality} after {result.steps} steps; model: {result.best_dir}"
          + (f"; {skipped} utterances skipped" if skipped else ""))
    return EXIT_PARTIAL if skipped else EXIT_OK


def cmd_synth(args: argparse.Namespace) -> int:
    from .synth.corpus import SynthConfig, build_domain_corpus, synthesize_corpus
    from .vocabulary import Vocabulary

    _check_output_dir(args.output_dir)
    config = SynthConfig(seed=args.seed, dev_voices=args.dev_voices, workers=args.workers,
                         noise_prob=args.noise_prob, reverb_prob=args.reverb_prob)
    voices = args.voices.split(",") if args.voices else None
    vocabulary = Vocabulary.load(args.terms) if args.terms else None
    if args.domain:
        report = build_domain_corpus(args.domain, args.output_dir, hours=args.hours, sentences=args.sentences,
                                     general_share=args.general_share, vocabulary=vocabulary, voices=voices,
                                     config=config, progress=not args.no_progress)
    else:
        from .lm.build import read_lines

        lines = [line for line in read_lines(args.text) if line.strip()]
        report = synthesize_corpus(lines, args.output_dir, vocabulary, voices, config, progress=not args.no_progress)
    print(report.summary())
    print(f"manifests: {report.train_manifest} {report.dev_manifest}")
    return EXIT_PARTIAL if report.failed else EXIT_OK


def cmd_segment(args: argparse.Namespace) -> int:
    from .fileio import read_text_file
    from .model.loader import load_pretrained
    from .segment import DEFAULT_MIN_CONFIDENCE, segment_recording

    _check_output_dir(args.output_dir)
    transcript = Path(args.transcript)
    if not transcript.is_file():
        raise SpeechtlError(f"{transcript}: transcript not found")
    report = segment_recording(load_pretrained(args.model), args.audio, read_text_file(transcript, "transcript"),
                               args.output_dir, args.min_confidence if args.min_confidence is not None
                               else DEFAULT_MIN_CONFIDENCE)
    print(f"kept {len(report.kept)} segments, dropped {len(report.dropped)} below the confidence threshold")
    for s in report.dropped:
        print(f"  dropped ({s.confidence:.2f}): {s.text}", file=sys.stderr)
    print(f"manifest: {report.manifest}")
    return EXIT_OK


def cmd_prepare(args: argparse.Namespace) -> int:
    from .data.prepare import prepare_corpus

    prepared = prepare_corpus(args.corpus, args.source, args.output_dir, download=args.download)
    print(prepared.summary())
    for split, path in prepared.manifests.items():
        print(f"  {split}: {path}")
    return EXIT_OK


def _beam_decoder(args: argparse.Namespace, bundle):
    """The beam decoder the decoding flags ask for (None: greedy), and the terms."""
    from .decode.beam import BeamDecoder
    from .vocabulary import Vocabulary

    vocabulary = Vocabulary.load(args.terms) if args.terms else None
    if args.decoder == "greedy":
        return None, vocabulary
    from .model.offline import model_folder

    folder = model_folder(args.model)
    saved = None if args.lm or folder is None else BeamDecoder.load(folder, vocabulary)
    if saved is None and not args.lm and args.decoder == "auto" and vocabulary is None:
        return None, vocabulary
    decoder = saved or BeamDecoder(bundle.alphabet, args.lm, vocabulary)
    if args.beam_width:
        decoder = decoder.with_changes(beam_width=args.beam_width)
    if args.no_spotting or args.spot_threshold is not None:
        decoder = decoder.with_changes(spot_threshold=None if args.no_spotting else args.spot_threshold)
    return decoder, (decoder.vocabulary if len(decoder.vocabulary) else vocabulary)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.output_dir, steps=args.steps)
    return EXIT_OK


def _on_gpu(device: str | None) -> bool:
    """Half precision wherever inference runs on a GPU."""
    import torch

    return (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")


def _quiet_transformers(verbose: bool) -> None:
    try:
        from transformers.utils import logging as hf_logging

        if not verbose:
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
    except ImportError:
        pass


if __name__ == "__main__":
    sys.exit(main())
