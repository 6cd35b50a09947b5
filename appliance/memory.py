"""Keep the service's memory small on a 512 MB board.

A password check runs scrypt, which takes 16 MiB for a moment (accounts/users.py). glibc's malloc
raises its threshold for serving large blocks from mmap after the first such block is
freed, so later ones come from the heap and stay resident: one login made the idle
service 15 MB larger. A fixed threshold keeps every large block on mmap, returned to
the system the moment it is freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3       # mallopt parameter (malloc.h)
THRESHOLD = 128 * 1024      # glibc's initial value, now kept


def return_large_blocks() -> bool:
    """Fix malloc's mmap threshold; False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        log.debug("no mallopt in this C library: large blocks follow its own policy")
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD))
