"""Files and folders that appear whole, with the permissions the user's umask asks for.

``tempfile`` creates private folders (0700) and files (0600) on purpose; a results folder
renamed into place from one would stay private, so a colleague could not open a shared
report. Everything orgsim writes for a person goes through these helpers instead.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["umask", "make_temp_dir", "write_file", "write_text", "write_with"]


def umask() -> int:
    """The process's umask (read by setting it and putting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A new, uniquely named folder in ``parent`` with the umask's permissions."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(path, 0o777 & ~umask())
    return path


def write_with(target: Path, write: Callable[[Path], None]) -> Path:
    """Have ``write(tmp)`` fill a temporary file beside ``target``, then rename it into place.

    A reader sees the old file or the new one, never half of one; the file gets the
    permissions of a newly created one (0666 less the umask).
    """
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~umask())
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def write_file(target: Path, fill: Callable[[IO[str]], object], encoding: str = "utf-8") -> Path:
    """Write text through ``fill(handle)`` atomically (see :func:`write_with`)."""
    def write(tmp: Path) -> None:
        with tmp.open("w", encoding=encoding, newline="") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())

    return write_with(target, write)


def write_text(target: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` atomically (see :func:`write_with`)."""
    return write_file(target, lambda fh: fh.write(text), encoding)
