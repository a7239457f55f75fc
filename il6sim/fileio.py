"""Files written whole or not at all: the one place that writes output files atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import Il6simError

__all__ = ["atomic_write", "check_writable"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half-written."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise Il6simError(f"{target}: directory '{directory}' does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise Il6simError(f"{target}: cannot write here: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the mode a plain open() would
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise Il6simError(f"{target}: cannot write: {exc.strerror}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def check_writable(path: str) -> None:
    """Refuse an output path that cannot be written, before any work is done.

    The directory is probed by creating (and removing) a temporary file in it: ``os.access`` says yes
    to root on a read-only file system or a read-only directory.
    """
    import os

    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not str(path).strip() or path.endswith(("/", os.sep)):
        raise Il6simError(f"--out '{path}': give a file name")
    try:
        _probe_output(path, target, parent)
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise Il6simError(f"--out {path[:80]}: cannot write there ({exc.strerror}); choose another path") from None


def _probe_output(path: str, target: Path, parent: Path) -> None:
    import errno
    import os
    import tempfile

    if target.is_dir():
        raise Il6simError(f"--out {path}: is a directory; give a file name")
    for up in (parent, *parent.parents):
        if up.exists() and not up.is_dir():
            raise Il6simError(f"--out {path}: '{up}' is a file, not a directory; choose another path")
    if not parent.is_dir():
        raise Il6simError(f"--out {path}: directory '{parent}' does not exist; create it first")
    try:  # the same temporary name pattern as atomic_write, so a name too long for it fails here
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise Il6simError(f"--out {path[:80]}...: file name too long; choose a shorter name") from None
        raise Il6simError(f"--out {path}: directory '{parent}' is not writable ({exc.strerror}); "
                          "choose another directory") from None
    os.close(fd)
    os.unlink(probe)
