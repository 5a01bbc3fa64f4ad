"""Writing a file so that a crash never leaves half of it behind."""

from __future__ import annotations

import os

__all__ = ["write_text"]


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` as UTF-8 to a temporary name beside ``path``, then rename it into place.
    Raises :class:`OSError` on I/O failure (the temporary file is removed)."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
