"""Output files: written whole or not at all, never through a symbolic link unless --force."""

from __future__ import annotations

import os

from netpol.cli.errors import _fail


def _suffix(path: str) -> str:
    """The extension that picks an output format, lower-cased; "" without one."""
    return path.rsplit(".", 1)[-1].lower() if "." in path else ""


def _output_path(path: str, force: bool) -> str:
    """The file to write for -o PATH: PATH, or with --force the file a symbolic link there points to. Checked
    before the work too, so that a refused link costs no analysis."""
    if not os.path.islink(path):
        return path
    if not force:
        _fail(f"{path} is a symbolic link (to {os.readlink(path)}): netpol does not write through a link; "
              "remove it, or pass --force to write the file it points to")
    return os.path.realpath(path)


def _write_file(path: str, data: bytes, force: bool) -> None:
    """Write all of `data` or nothing: a temporary file beside the target, renamed over it. A symbolic link is
    refused unless --force (then its target is written): a link planted in a shared folder would otherwise
    overwrite the file it points to, or create one outside the folder (a dangling link)."""
    import stat
    import tempfile

    path = _output_path(path, force)
    try:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):  # a device or a pipe: nothing to rename over
            with open(path, "wb") as fh:
                fh.write(data)
            return
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(temporary, stat.S_IMODE(mode))
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror or exc}")
