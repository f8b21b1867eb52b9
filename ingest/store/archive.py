"""The archive: delivered files kept byte for byte, addressed by their sha256.

A file with hash ``abcd…`` lives at ``archive/ab/abcd….csv``. The path depends on the
bytes alone, so storing the same bytes twice is a no-op, and a half-written copy can never
sit under a final name: bytes go to a temporary file, are flushed to disk, then renamed.
Archived files are made read-only, and nothing here ever removes one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kiip_import.reader import open_regular

CHUNK = 1 << 20


@dataclass(frozen=True)
class Archived:
    sha256: str
    size: int
    relative_path: str  # below the archive folder, with forward slashes


class Archive:
    def __init__(self, root: Path):
        self.root = Path(root)

    def relative_path(self, sha256: str, suffix: str = ".csv") -> str:
        return f"{sha256[:2]}/{sha256}{suffix.lower()}"

    def path_of(self, relative_path: str) -> Path:
        return self.root / relative_path

    def put(self, source: Path) -> Archived:
        """Copy ``source`` into the archive; return its hash and archive path.

        The hash is of the bytes copied, so it describes exactly what the archive holds even
        if the source changes meanwhile (the caller compares it with what it validated).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        tmp = Path(tmp_name)
        try:
            # Never through a symbolic link: the bytes must be the file's own.
            with os.fdopen(fd, "wb") as out, open(open_regular(source), "rb") as src:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            rel = self.relative_path(sha, Path(source).suffix or ".csv")
            final = self.root / rel
            if final.exists():
                tmp.unlink()  # the same bytes are already kept
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, 0o444)
                os.replace(tmp, final)
                _fsync_dir(final.parent)
            return Archived(sha, size, rel)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def clear_incoming(self) -> int:
        """Remove half-written copies (``.incoming-*``) that a killed process left behind.
        Only for the holder of the work folder's lock: no one else can be writing one."""
        removed = 0
        if self.root.is_dir():
            for tmp in self.root.glob(".incoming-*"):
                try:
                    tmp.unlink()
                    removed += 1
                except OSError:
                    pass
        return removed

    def holds(self, relative_path: str, sha256: str) -> bool:
        path = self.root / relative_path
        if not path.is_file():
            return False
        return file_sha256(path) == sha256


def file_sha256(path: Path) -> str:
    """The sha256 of a regular file (OSError for a symbolic link, which is never followed)."""
    digest = hashlib.sha256()
    with open(open_regular(path), "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
