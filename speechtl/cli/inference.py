"""What the inference flags of ``speechtl transcribe`` and ``evaluate`` ask for: the
decoder (greedy, beam search with an LM and terms, or the two-pass over it), the
terms, the device; checked before any work."""

from __future__ import annotations

import argparse

from ..errors import SpeechtlError


def terms(args: argparse.Namespace):
    from ..vocabulary import Vocabulary

    return Vocabulary.load(args.terms) if args.terms else None


def decoding_for(args: argparse.Namespace, bundle):
    """The decoding the flags ask for (decode/policy.py decides)."""
    from ..decode.policy import KEEP, choose_decoding
    from ..model.offline import model_folder

    spot = None if args.no_spotting else KEEP if args.spot_threshold is None else args.spot_threshold
    return choose_decoding(bundle.alphabet, model_folder(args.model), args.decoder, lm=args.lm,
                           vocabulary=terms(args), beam_width=args.beam_width, spot_threshold=spot,
                           processes=args.processes)


def with_two_pass(args: argparse.Namespace, decoding, vocabulary=None):
    """``decoding``, or the two-pass over it when --two-pass asks for it (a decode/base.Decoder)."""
    if args.two_pass is None:
        return decoding
    from ..decoders import load_two_pass
    from ..model.offline import model_folder

    two_pass = load_two_pass(decoding, model_folder(args.model), vocabulary or terms(args), args.two_pass or None)
    return two_pass.with_config(long_form=args.long_form) if args.long_form else two_pass


def check_inference_args(args: argparse.Namespace) -> None:
    """--device names a device this machine has, --int8 is not asked of a GPU, and the
    chunking is one the transcriber can do, --long-form comes with --two-pass: before any work."""
    if args.long_form and args.two_pass is None:
        raise SpeechtlError("--long-form sets how the two-pass writes long recordings: add --two-pass")
    import torch

    if args.device:
        try:
            device = torch.device(args.device)
        except (RuntimeError, ValueError):
            raise SpeechtlError(f"--device {args.device}: not a device (cpu, cuda, cuda:1, ...)") from None
        if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
            raise SpeechtlError(f"--device {args.device}: this machine has "
                                f"{torch.cuda.device_count() if torch.cuda.is_available() else 'no'} CUDA GPU(s)")
        if device.type not in ("cpu", "cuda"):
            raise SpeechtlError(f"--device {args.device}: speechtl runs on cpu or cuda")
    if args.int8 and on_gpu(args.device):
        raise SpeechtlError("--int8 runs on the CPU; on a GPU speechtl uses half precision (add --device cpu)")
    if getattr(args, "chunk_length", None) is not None or getattr(args, "stride_length", None) is not None:
        from ..model.chunked import DEFAULT_CHUNK_LENGTH_S, DEFAULT_STRIDE_LENGTH_S, check_chunking

        check_chunking(DEFAULT_CHUNK_LENGTH_S if args.chunk_length is None else args.chunk_length,
                       DEFAULT_STRIDE_LENGTH_S if args.stride_length is None else args.stride_length)


def on_gpu(device: str | None) -> bool:
    """Half precision wherever inference runs on a GPU."""
    import torch

    return (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
