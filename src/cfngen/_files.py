"""Every file cfngen writes goes through here: never through a symbolic link, and atomically.

Blueprints, service files and the committed `templates/` arrive in pull requests. A link committed as
`templates/<name>/service-web.yaml -> ../../../x/.bashrc` would otherwise make `cfngen synth` write lines the
pull request chose into a file outside the repository. So a write refuses any link on its way: the target
itself and every folder between the output root and the target. The text goes to a temporary file in the
same folder first and replaces the target with one rename, so a reader (or an interrupted run) sees the old
file or the new one, never half of it.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from cfngen.errors import UsageError


def refuse_links(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None) -> Path:
    """The absolute path `path` names; UsageError when it, or a folder below `root` on its way, is a link.

    `root` is the folder the caller trusts (default: the working directory when `path` lies in it, so
    everything a repository holds is checked; otherwise the folder the caller named). `..` is resolved
    by name, and the path returned is the one checked, so the write goes where the check looked.
    """
    target = Path(os.path.abspath(path))
    base = Path(os.path.abspath(root)) if root is not None else Path.cwd()
    try:
        parts = target.relative_to(base).parts
    except ValueError:
        base, parts = target.parent, (target.name,)
    current = base
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise UsageError(
                f"{current}: is a symbolic link; cfngen does not write through links "
                "(remove the link or choose another output path)"
            )
    return target


def write_text(
    path: str | os.PathLike[str], text: str, *, root: str | os.PathLike[str] | None = None, mode: int | None = None
) -> Path:
    """Write `text` (UTF-8) to `path` atomically, creating its folders; returns the path written.

    Raises UsageError when a link is on the way (see `refuse_links`). `mode` defaults to what a new file
    gets under the process umask; pass 0o600 for a file that holds secrets (it is never readable by others,
    not even for an instant, since the temporary file is created 0600).
    """
    target = refuse_links(path, root=root)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, staging = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            os.fchmod(handle.fileno(), _default_mode() if mode is None else mode)
        # rename replaces the directory entry: a link that appeared at `target` since the check is replaced,
        # never followed.
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return target


@functools.cache
def _default_mode() -> int:
    # The umask can only be read by setting it; done once, before any worker thread writes.
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask
