"""Writing files safely: every file atomically (temp file, then rename), and output paths checked before work.

Light on purpose (no model, no pandas), so commands can check their outputs before importing anything heavy.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from leanflow.errors import OutputError


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temp file beside ``path``, then rename it into place.

    Raises:
        OutputError: when the file cannot be written (no permission, a full disk); nothing partial is left.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output(path: Path, directory: bool = True) -> Path:
    """``path`` if a results directory (or a file) can be written there, else a one-line error.

    Checked before simulating; nothing is created.
    """
    try:
        if path.exists() and path.is_dir() != directory:
            raise OutputError(f"cannot write to {path}: it exists and is not a {'directory' if directory else 'file'}")
        existing = path if directory else path.parent
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
    except OSError as exc:
        raise OutputError(f"cannot write to {path}: {exc.strerror or exc}") from None
    if not existing.is_dir():
        raise OutputError(f"cannot write to {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to {path}: {existing} is not writable")
    return path
