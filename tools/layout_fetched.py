"""Lay out a fetched bare git snapshot of a corpus as the corpus's original folder tree.

Public mirrors of speech corpora are sometimes only reachable as bare git snapshots
(no work tree, and the largest blobs may be missing). This copies the files under one
folder of the snapshot onto disk, skipping blobs the snapshot does not hold (listed at
the end), so that ``speechtl prepare`` can read the corpus in its published layout.

Usage (the corpora the general recipe trains on):

    python tools/layout_fetched.py --git-dir MIRROR/zhangrui0712+Voice-Age/repo \\
        --folder LibriSpeech --output-dir data/raw/LibriSpeech
    python tools/layout_fetched.py --git-dir .../jimbozhang+speechocean762/repo \\
        --folder . --output-dir data/raw/speechocean762
    python tools/layout_fetched.py --git-dir .../avgaydashenko+speech-recognition-hw/repo \\
        --rev ctc --folder data/VCTK-Corpus --output-dir data/raw/VCTK-Corpus
    python tools/layout_fetched.py --git-dir .../PrernaSocity+lj_speech_dataset_part_1/repo \\
        --folder LJSpeech-1.1 --output-dir data/raw/LJSpeech-1.1
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path


def list_blobs(git_dir: Path, rev: str, folder: str) -> list[tuple[str, str]]:
    """(blob sha, path) of every file under ``folder`` at ``rev``."""
    args = ["git", f"--git-dir={git_dir}", "ls-tree", "-r", rev]
    if folder not in ("", "."):
        args.append(folder.rstrip("/") + "/")
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    blobs = []
    for line in out.splitlines():
        meta, path = line.split("\t", 1)
        _mode, kind, sha = meta.split()
        if kind == "blob":
            blobs.append((sha, path))
    return blobs


def lay_out(git_dir: Path, rev: str, folder: str, output_dir: Path) -> tuple[int, list[str]]:
    """Write the files; returns (files written, paths whose blob the snapshot lacks)."""
    prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
    written, missing = 0, []
    # one long-lived `git cat-file --batch` is ~100x faster than a process per file
    with subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        assert proc.stdin and proc.stdout
        for sha, path in list_blobs(git_dir, rev, folder):
            proc.stdin.write(f"{sha}\n".encode())
            proc.stdin.flush()
            header = proc.stdout.readline().decode().split()
            if header[-1] == "missing":
                missing.append(path)
                continue
            size = int(header[2])
            data = proc.stdout.read(size)
            proc.stdout.read(1)  # the newline after each object
            target = output_dir / path[len(prefix):]
            if target.exists() and target.stat().st_size == size:
                continue  # already laid out by an earlier run
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
            written += 1
        proc.stdin.close()
    return written, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--git-dir", type=Path, required=True)
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--folder", default=".", help="folder inside the snapshot ('.' for all)")
    parser.add_argument("--output-dir", type=Path, required=True)
    args = parser.parse_args()
    written, missing = lay_out(args.git_dir, args.rev, args.folder, args.output_dir)
    print(f"{written} files written to {args.output_dir}; {len(missing)} absent from the snapshot")
    for path in missing[:20]:
        print(f"  absent: {path}")


if __name__ == "__main__":
    main()
