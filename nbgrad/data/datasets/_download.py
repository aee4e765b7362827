"""Downloads into the cache directory: mirrors tried in turn, MD5 verified, files appear atomically."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_CHUNK = 1 << 20
TIMEOUT_S = 30.0


def default_root() -> Path:
    """``$XDG_CACHE_HOME/nbgrad``, which is ``~/.cache/nbgrad`` unless ``XDG_CACHE_HOME`` says otherwise."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nbgrad"


def _md5():
    import hashlib  # local, like urllib: only downloads pay for their import

    return hashlib.md5(usedforsecurity=False)  # the published checksums are MD5: integrity, not security


def md5sum(path: Path) -> str:
    digest = _md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ChecksumError(OSError):
    """A downloaded file does not have the published checksum."""


def _fetch(url: str, dest: Path, md5: str) -> None:
    """Stream ``url`` into a temporary file beside ``dest``; rename it to ``dest`` only if its MD5 is ``md5``."""
    import urllib.request

    # Not tempfile.mkstemp: its files are owner-only, and the cache should be readable as usual.
    tmp = str(dest.parent / f".{dest.name}.{os.getpid()}.{os.urandom(4).hex()}.part")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o666)
    try:
        digest = _md5()
        request = urllib.request.Request(url, headers={"User-Agent": "nbgrad"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != md5:
            raise ChecksumError(f"checksum mismatch: expected MD5 {md5}, got {digest.hexdigest()}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def download(urls: list, dest: Path, md5: str, op: str) -> Path:
    """``dest``, downloaded from the first of ``urls`` that serves the file with MD5 ``md5`` unless cached.

    A cached file whose checksum is wrong (a damaged download from elsewhere) is fetched again.
    """
    dest = Path(dest)
    if dest.is_file() and md5sum(dest) == md5:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        print(f"{op}: downloading {url} to {dest}", file=sys.stderr)
        try:
            _fetch(url, dest, md5)
            return dest
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts and ChecksumError are OSErrors
            errors.append(f"{url}: {exc}")
    if any("checksum mismatch" in e for e in errors):
        hint = "\nThe file served differs from the published one; try again later or another mirror."
    else:
        hint = (
            "\nIs this machine offline? Download the file by hand into that folder, or pass root= a folder that has it."
        )
    raise RuntimeError(f"{op}: could not download {dest.name} to {dest.parent}:\n  " + "\n  ".join(errors) + hint)
