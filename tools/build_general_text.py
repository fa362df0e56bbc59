"""Write speechtl/lm/data/general-en.txt.gz: real English sentences for every domain LM.

    python tools/build_general_text.py --real-dir data/real --ljspeech data/raw/LJSpeech-1.1

Takes the transcripts of the training speakers of the corpora prepared by
`speechtl prepare` (data/real/{corpus}/train.jsonl) and every line of LJ Speech's
metadata.csv (public domain; its audio need not be complete). Any sentence that also
occurs in a dev or test split of the prepared corpora or in ../shared/data/real-en-dev
is left out, so that no evaluation sentence is in the LM. Normalized, deduplicated,
sorted (the file does not change when rebuilt from the same data).
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

from speechtl.data.manifest import read_manifest
from speechtl.data.prepare import prepared_manifests
from speechtl.lm.general import GENERAL_TEXT
from speechtl.text import normalize

LJ_EXCLUDED = tuple(f"LJ001-{i:04d}" for i in range(1, 33))  # in the shared real-en-dev set


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real-dir", default="data/real")
    ap.add_argument("--ljspeech", default="data/raw/LJSpeech-1.1")
    ap.add_argument("--shared-dev", default="../shared/data/real-en-dev/manifest.jsonl")
    ap.add_argument("--output", default=str(GENERAL_TEXT))
    args = ap.parse_args()

    held_out = {normalize(e.text) for split in ("dev", "test") for m in prepared_manifests(args.real_dir, split)
                for e in read_manifest(m)}
    if Path(args.shared_dev).is_file():
        held_out |= {normalize(e.text) for e in read_manifest(args.shared_dev)}
    sentences = {normalize(e.text) for m in prepared_manifests(args.real_dir, "train") for e in read_manifest(m)}
    metadata = Path(args.ljspeech) / "metadata.csv"
    if metadata.is_file():
        for row in metadata.read_text(encoding="utf-8").splitlines():
            parts = row.split("|")
            if parts[0] not in LJ_EXCLUDED:
                sentences.add(normalize(parts[2] if len(parts) > 2 and parts[2] else parts[1]))
    kept = sorted(s for s in sentences if s and s not in held_out)
    with gzip.GzipFile(args.output, "wb", mtime=0) as f:
        f.write("".join(s + "\n" for s in kept).encode("utf-8"))
    words = sum(len(s.split()) for s in kept)
    print(f"{args.output}: {len(kept)} sentences, {words} words ({len(sentences) - len(kept)} held out)")


if __name__ == "__main__":
    main()
