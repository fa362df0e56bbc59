"""Fetching the real corpora data/prepare.py reads (only when asked: ``--download``)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable


def lhotse_corpus(fn_name: str, **kwargs) -> Callable[[Path], Path]:
    """A download into a folder by lhotse's recipe ``fn_name``; returns where the corpus is."""
    def download(target: Path) -> Path:
        import lhotse.recipes

        return Path(getattr(lhotse.recipes, fn_name)(target, **kwargs))
    return download


def speechocean762(target: Path) -> Path:
    """speechocean762 from OpenSLR into ``target``; returns where the corpus is."""
    import tarfile
    import urllib.request

    target.mkdir(parents=True, exist_ok=True)
    archive = target / "speechocean762.tar.gz"
    if not archive.is_file():
        urllib.request.urlretrieve("https://www.openslr.org/resources/101/speechocean762.tar.gz", archive)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target / "speechocean762"
