"""Deny network connections to the current process, at the kernel: the query engines' sandbox.

pyoxigraph and the `oxigraph` server are Rust: they open sockets without going through Python,
so a Python-level hook (monkeypatching `socket`) cannot stop them; the SPARQL `SERVICE` check
(`pipeline.sparqlguard`) is the first line, this is the second. On Linux (x86-64 and arm64) a
seccomp filter makes `connect(2)` fail with EACCES, for TCP, UDP (DNS) and Unix sockets alike,
and `io_uring_setup(2)` too (its operations would bypass the filter). Accepting connections on
a socket that is already listening still works, so the read-only server keeps serving. The
filter is inherited by every thread and child and cannot be removed. Elsewhere it is a no-op
(`deny_network()` returns False) and the `SERVICE` check stands alone.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct
import sys

_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000
_LOAD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, ..., BPF_RET|K
_X32_BIT = 0x40000000  # x32 system calls on x86-64 carry this bit: refuse them all
# audit arch, then the syscall numbers to refuse: connect, io_uring_setup
_ARCHES = {"x86_64": (0xC000003E, (42, 425)), "aarch64": (0xC00000B7, (203, 425))}


def _op(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _program() -> bytes | None:
    if not sys.platform.startswith("linux") or platform.machine() not in _ARCHES:
        return None
    arch, numbers = _ARCHES[platform.machine()]
    deny = _op(_RET, 0, 0, _RET_ERRNO | errno.EACCES)
    ops = [_op(_LOAD, 0, 0, 4), _op(_JEQ, 1, 0, arch), deny, _op(_LOAD, 0, 0, 0)]  # arch, nr
    ops += [_op(_JGE, 0, 1, _X32_BIT), deny]
    for number in numbers:
        ops += [_op(_JEQ, 0, 1, number), deny]
    ops.append(_op(_RET, 0, 0, _RET_ALLOW))
    return b"".join(ops)


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


# Built once in the parent: after fork (preexec_fn) the child only makes two prctl calls.
_CODE = _program()
_BUFFER = ctypes.create_string_buffer(_CODE or b"")
_FPROG = _Fprog(len(_CODE or b"") // 8, ctypes.cast(_BUFFER, ctypes.c_void_p))


def supported() -> bool:
    return _CODE is not None


def deny_network() -> bool:
    """Install the filter in this process (and its future threads and children).

    True when installed; False where unsupported or refused by the kernel, never an exception:
    it runs in `preexec_fn`, between fork and exec.
    """
    if _CODE is None:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
        ulong = ctypes.c_ulong
        prctl.argtypes = [ctypes.c_int, ulong, ctypes.c_void_p, ulong, ulong]
        if prctl(_PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:  # unused arguments must be 0
            return False
        return bool(prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(_FPROG), 0, 0) == 0)
    except (OSError, AttributeError):
        return False
