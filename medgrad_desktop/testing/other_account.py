"""What another account on the same workstation can open: the privacy tests' witness.

Running as root (CI does), `readable_by_other_account` starts `sh` as `nobody` (subprocess's own
setuid/setgid, no preexec hook: safe with the app's threads running) and lets it try to read each file,
so the kernel's own permission checks decide, folders on the way included. `mode_listing` is the list
a person reads: every file and folder under some roots with its mode.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterable
from pathlib import Path

OTHER_ACCOUNT = "nobody"
_TRY_READ = 'for f; do if cat -- "$f" > /dev/null 2>&1; then printf "%s\\n" "$f"; fi; done'


def other_account() -> tuple[int, int] | None:
    """(uid, gid) of an account this process can become: only as root on POSIX with `nobody` present."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd  # POSIX only

    try:
        pw = pwd.getpwnam(OTHER_ACCOUNT)
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


def readable_by_other_account(paths: Iterable[Path | str]) -> list[str]:
    """The files of `paths` that the other account could open for reading, as it, right now."""
    who = other_account()
    if who is None:
        raise RuntimeError(f"cannot act as '{OTHER_ACCOUNT}': needs root on POSIX")
    uid, gid = who
    out = subprocess.run(
        ["/bin/sh", "-c", _TRY_READ, "sh", *(str(p) for p in paths)],
        user=uid,
        group=gid,
        extra_groups=[],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.splitlines()


def others_bits(path: Path | str) -> int:
    """The mode's group and other bits: 0 when only the owner may touch it."""
    return stat.S_IMODE(os.stat(path).st_mode) & (stat.S_IRWXG | stat.S_IRWXO)


def mode_listing(roots: Iterable[Path]) -> list[tuple[Path, str]]:
    """Every file and folder under `roots` (the roots too), with its mode as `ls -l` prints it."""
    out: list[tuple[Path, str]] = []
    for root in roots:
        if not root.exists():
            continue
        for p in [root, *sorted(root.rglob("*"))]:
            out.append((p, stat.filemode(os.lstat(p).st_mode)))
    return out
