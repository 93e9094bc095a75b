"""Which local account runs a task, and the ``setpriv`` prefix that makes it so.

An agent running as root never runs a task as root. Each task runs as its owner's local account when the
user map names one (``--user-map FILE`` or $HPCBURST_USER_MAP: ``hpcburst_user=local_account`` lines, ``#``
comments), else as the dedicated task user (``--task-user`` or $HPCBURST_TASK_USER; by default
``hpcburst-task`` when that account exists, else ``nobody``). A map naming an account with uid 0 is refused
when the agent starts, as is a missing ``setpriv`` (util-linux).

The runner keeps its plain spawn: the task's argv is prefixed with ``setpriv``, which sets uid, gid and
groups, drops every capability and sets no_new_privs before it execs the task, so a setuid binary cannot
win anything back either.

An agent that is not root runs tasks as itself: separate directories are then the only isolation between
its tasks, and they can read its cache.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hpcburst.errors import ConfigError

log = logging.getLogger("nodeagent")

DEFAULT_TASK_USERS = ("hpcburst-task", "nobody")


@dataclass(frozen=True)
class Account:
    """A local account tasks run as; ``prefix`` goes before the task's argv."""

    name: str
    uid: int
    gid: int
    prefix: tuple[str, ...]  # setpriv ..., for a runner without the launcher
    groups: tuple[int, ...] = ()  # supplementary groups (as setpriv --init-groups sets them)

    @property
    def owner(self) -> tuple[int, int]:
        return (self.uid, self.gid)

    @property
    def ids(self) -> tuple[int, int, tuple[int, ...]]:
        """(uid, gid, groups), as the task launcher takes them."""
        return (self.uid, self.gid, self.groups)


class RunAs:
    """Maps a task's owner to an account (None: the agent's own account, when it is not root)."""

    def __init__(
        self,
        task_user: str | None = None,
        user_map: Mapping[str, str] | None = None,
        euid: int | None = None,
        setpriv: str | None = None,
    ) -> None:
        self.privileged = (os.geteuid() if euid is None else euid) == 0
        self._default: Account | None = None
        self._mapped: dict[str, Account] = {}
        if not self.privileged:
            if task_user or user_map:
                log.warning(
                    "not root: tasks run as this agent's own account; the task user and map are unused"
                )
            return
        tool = setpriv or shutil.which("setpriv")
        if not tool:
            raise ConfigError(
                "the agent runs as root and so runs each task as an unprivileged account, which needs "
                "setpriv: install the util-linux package"
            )
        self._default = _account(task_user or _default_task_user(), tool, "the task user")
        for user, local in (user_map or {}).items():
            self._mapped[user] = _account(local, tool, f"user map entry {user}={local}")

    def for_owner(self, owner: str) -> Account | None:
        if not self.privileged:
            return None
        return self._mapped.get(owner, self._default)

    def accounts(self) -> list[Account]:
        """Every account a task may run as (none: tasks run as the agent itself)."""
        found = [self._default] if self._default else []
        return found + [a for a in self._mapped.values() if a not in found]


def load_user_map(path: Path) -> dict[str, str]:
    """The user map file: ``hpcburst_user=local_account`` per line, ``#`` comments, blank lines ignored.

    It decides which account runs whose code, so a map others could rewrite is refused."""
    try:
        st = path.stat()
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read the user map {path}: {e.strerror or e}") from e
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or st.st_uid not in (0, os.geteuid()):
        raise ConfigError(f"the user map {path} may be changed by other users: chown it to root, chmod 644")
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        user, sep, local = (part.strip() for part in line.partition("="))
        if not sep or not user or not local:
            raise ConfigError(f"{path}:{number}: expected hpcburst_user=local_account, got {raw.strip()!r}")
        entries[user] = local
    return entries


def _default_task_user() -> str:
    for name in DEFAULT_TASK_USERS:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise ConfigError(f"no task user: create the {DEFAULT_TASK_USERS[0]} account or pass --task-user")


def _account(name: str, setpriv: str, what: str) -> Account:
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except (KeyError, ValueError):
        raise ConfigError(f"{what}: no local account {name!r}") from None
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise ConfigError(f"{what}: {name!r} is root (uid or gid 0); tasks never run as root")
    prefix = (
        setpriv,
        f"--reuid={entry.pw_uid}",
        f"--regid={entry.pw_gid}",
        "--init-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    )
    groups = tuple(g for g in os.getgrouplist(entry.pw_name, entry.pw_gid) if g != 0)
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid, prefix, groups)
