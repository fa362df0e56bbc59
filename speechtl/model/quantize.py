"""int8 dynamic quantization of a CTC model's transformer layers, for CPU inference.

The linear layers of the encoder blocks hold most of the weights and time; they get
int8 weights and dynamically quantized activations. The convolutional front end and
the CTC head stay in float32 (dynamic quantization does not cover convolutions, and
the head is small). The WER cost is measured by ``tools/bench_transcribe.py``.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from .adapters import family_of
from .bundle import Bundle


def quantize_int8(bundle: Bundle) -> Bundle:
    """A copy of ``bundle`` whose encoder linear layers run in int8 on the CPU."""
    model = copy.deepcopy(bundle.model).cpu().eval()
    layers = family_of(model).encoder_layers(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its successor, torchao
        for i, layer in enumerate(layers):
            layers[i] = torch.ao.quantization.quantize_dynamic(layer, {nn.Linear}, dtype=torch.qint8)
    return Bundle(model, bundle.alphabet, bundle.sampling_rate, bundle.kept_rows, bundle.new_rows)
