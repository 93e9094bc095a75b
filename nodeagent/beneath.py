"""File operations the agent does on a task's behalf, which never leave the task's directory.

The agent (often root) makes directories, opens stdout files, places inputs and reads outputs inside a
directory the task controls, while the task (or another index sharing the directory) may plant symbolic
links there. So every path is first resolved (``realpath``) and refused when it ends up outside the
directory; then it is opened one component at a time from a descriptor of the directory with
``O_NOFOLLOW``, so a link swapped in after the check makes the open fail instead of being followed.

Files are never truncated in place (a name may be a hard link to something else): a file the agent writes
is created afresh under a temporary name and renamed over the old one. A file it reads must be a regular
file the task's account could read itself, so an upload cannot carry out what the task could not see.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import threading
import uuid

from hpcburst.errors import PathRefused

Owner = tuple[int, int] | None  # (uid, gid) given to what is created; None: the agent's own
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def resolve(root: str, relative: str, what: str) -> str:
    """``relative`` (a path below ``root``) with every symlink resolved, as a path relative to ``root``;
    PathRefused when it resolves outside. "." for the directory itself."""
    base = os.path.realpath(root)
    full = os.path.realpath(os.path.join(base, relative))
    if full != base and not full.startswith(base.rstrip("/") + "/"):
        raise PathRefused(f"{what} {relative!r} resolves outside the task's directory (to {full}); refused")
    return os.path.relpath(full, base)


def open_dir(root: str, relative: str, what: str, create: bool = False, owner: Owner = None) -> int:
    """A descriptor of the directory ``root/relative`` (made, owned by ``owner``, when ``create``)."""
    rel = resolve(root, relative, what)
    fd = os.open(os.path.realpath(root), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in rel.split("/"):
            if part in ("", "."):
                continue
            fd = _step(fd, part, relative, what, create, owner)
        return fd
    except BaseException:
        os.close(fd)
        raise


def create_file(root: str, relative: str, what: str, owner: Owner = None, mode: int = 0o644) -> int:
    """A new, empty file at ``root/relative`` open for writing (a fresh inode, never the old one)."""
    parent, name = _split(root, relative, what)
    dirfd = open_dir(root, parent, what, create=True, owner=owner)
    try:
        tmp = _temp_name(name)
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dirfd
        )
        try:
            if owner is not None:
                os.fchown(fd, *owner)
            os.replace(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
        except BaseException:
            os.close(fd)
            _unlink(tmp, dirfd)
            raise
        return fd
    finally:
        os.close(dirfd)


def place_file(
    source: str, root: str, relative: str, what: str, owner: Owner = None, link: bool = False
) -> None:
    """Put a copy of ``source`` (or a hard link to it) at ``root/relative``, replacing what is there."""
    parent, name = _split(root, relative, what)
    dirfd = open_dir(root, parent, what, create=True, owner=owner)
    tmp = _temp_name(name)
    try:
        if link:
            os.link(source, tmp, dst_dir_fd=dirfd)
        else:
            _copy_into(source, tmp, dirfd, owner)
        os.replace(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
    except BaseException:
        _unlink(tmp, dirfd)
        raise
    finally:
        os.close(dirfd)


def open_readable(root: str, relative: str, what: str, owner: Owner = None) -> int:
    """``root/relative`` open for reading: a regular file inside that ``owner`` may read itself."""
    parent, name = _split(root, relative, what)
    dirfd = open_dir(root, parent, what)
    try:
        fd = _open_nofollow(name, os.O_RDONLY | os.O_NONBLOCK, dirfd, relative, what)  # a FIFO never blocks
    finally:
        os.close(dirfd)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (owner is not None and not _readable_by(st, owner)):
        os.close(fd)
        raise PathRefused(f"{what} {relative!r} is not a regular file the task may read; refused")
    return fd


def _step(fd: int, part: str, relative: str, what: str, create: bool, owner: Owner) -> int:
    try:
        nxt = _open_nofollow(part, _DIR_FLAGS, fd, relative, what)
    except FileNotFoundError:
        if not create:
            raise
        try:
            os.mkdir(part, 0o700 if owner is not None else 0o755, dir_fd=fd)
        except FileExistsError:
            pass  # made meanwhile by a concurrent index: open whatever it is, without following
        nxt = _open_nofollow(part, _DIR_FLAGS, fd, relative, what)
        if owner is not None:
            os.fchown(nxt, *owner)
    os.close(fd)
    return nxt


def _open_nofollow(name: str, flags: int, dirfd: int, relative: str, what: str) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dirfd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):  # a link (or file) appeared where a directory was
            raise PathRefused(f"{what} {relative!r} changed while being opened; refused") from None
        raise


def _split(root: str, relative: str, what: str) -> tuple[str, str]:
    parent, name = posixpath.split(resolve(root, relative, what))
    if name in ("", ".", ".."):
        raise PathRefused(f"{what} {relative!r} names the task's directory, not a file in it; refused")
    return parent or ".", name


def _temp_name(name: str) -> str:
    return f".{name[:64]}.{threading.get_ident()}-{uuid.uuid4().hex[:8]}.tmp"


def _copy_into(source: str, tmp: str, dirfd: int, owner: Owner) -> None:
    src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    try:
        dst = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dirfd
        )
        try:
            if owner is not None:
                os.fchown(dst, *owner)
            _copy_fd(src, dst, os.fstat(src).st_size)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _copy_fd(src: int, dst: int, size: int) -> None:
    """copy_file_range (a reflink on file systems that share extents), else sendfile: in the kernel."""
    left, use_range = size, True
    while left > 0:
        try:
            if use_range:
                sent = os.copy_file_range(src, dst, left)
            else:
                sent = os.sendfile(dst, src, None, left)
        except OSError as e:
            if use_range and e.errno in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                use_range = False
                continue
            raise
        if sent == 0:
            break
        left -= sent


def _readable_by(st: os.stat_result, owner: tuple[int, int]) -> bool:
    uid, gid = owner
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IRUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IRGRP)
    return bool(st.st_mode & stat.S_IROTH)


def _unlink(name: str, dirfd: int) -> None:
    try:
        os.unlink(name, dir_fd=dirfd)
    except FileNotFoundError:
        pass
