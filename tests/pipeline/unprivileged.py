"""Run a child process that file permissions apply to, even when the tests run as root.

Root ignores permission bits through the CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH capabilities. The child
drops both from its bounding, effective and permitted sets before it executes, so a ``chmod 0`` file or
folder is as unreadable to it as to any user. Linux only (ctypes calls into libc).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import tempfile
from collections.abc import Sequence
from typing import Any

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_file_access_override() -> None:
    """preexec_fn: give up the capabilities that let root read files regardless of their mode."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
    header, data = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    keep = ~((1 << _CAP_DAC_OVERRIDE) | (1 << _CAP_DAC_READ_SEARCH)) & 0xFFFFFFFF
    data[0].effective &= keep
    data[0].permitted &= keep
    data[0].inheritable &= keep
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def popen_unprivileged(cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
    """``subprocess.Popen`` (text mode) of a child that file permission bits apply to."""
    preexec = _drop_file_access_override if os.geteuid() == 0 else None
    return subprocess.Popen(list(cmd), text=True, preexec_fn=preexec, **kwargs)


def run_unprivileged(cmd: Sequence[str], **kwargs: Any) -> tuple[int, str, str, int]:
    """Run ``cmd`` to completion without file-access override: ``(returncode, stdout, stderr, peak_rss_kib)``
    (the peak resident memory of that child alone, from ``wait4``)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = popen_unprivileged(cmd, stdout=out, stderr=err, **kwargs)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), int(usage.ru_maxrss)
