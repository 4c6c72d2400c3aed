"""Files written atomically: to a hidden temporary file beside the target, renamed over it once
complete, so that a reader sees the last good file or the new one, never half of one.

A writer holds a lock on its temporary file while it lives. A killed run leaves its temporary
file behind, unlocked: the next writer of the same target removes it, and never touches one a
live writer holds. Any location's outputs go through here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def temporary_file_for(path: Path) -> Iterator[Path]:
    """A hidden temporary file beside `path` (`.<name>.<uuid>.tmp`), locked while in use and
    removed afterwards; leftovers of dead writers of `path` are removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    while True:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        lock = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Another writer's clean-up may have taken it between its creation and the lock.
        if tmp.exists() and os.stat(tmp).st_ino == os.fstat(lock).st_ino:
            break
        os.close(lock)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)
        os.close(lock)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file to write `path`'s new content to; it replaces `path` when the block
    ends without an error, and is removed otherwise."""
    with temporary_file_for(path) as tmp:
        yield tmp
        os.replace(tmp, path)


def remove_leftovers(path: Path) -> list[Path]:
    """Remove the temporary files that writers of `path` left when they died mid-write (a
    killed run). A writer holds a lock on its file while it lives, so a file nobody holds is
    a leftover; a file a live writer holds is never touched. Returns what it removed."""
    removed = []
    # `.<name>.*.tmp`, matched by hand: a glob compiles its pattern at every call, which cost a
    # backfill's 366 files a quarter of a second.
    prefix, suffix = f".{path.name}.", ".tmp"
    for entry in os.scandir(path.parent):
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(suffix)):
            continue
        if len(name) < len(prefix) + len(suffix):
            continue
        tmp = Path(entry.path)
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except FileNotFoundError:  # its writer finished meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
        except BlockingIOError:  # a live writer holds it
            pass
        finally:
            os.close(fd)
    return removed
