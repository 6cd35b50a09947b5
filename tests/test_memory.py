"""A password check must not leave its 16 MiB of scrypt memory resident."""

import subprocess
import sys

SCRIPT = """
import hashlib, sys
from appliance import memory
def rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')) // 1024
fixed = sys.argv[1] == 'fixed'
if fixed:
    assert memory.return_large_blocks()
hashlib.scrypt(b'warm', salt=b's' * 16, n=2**14, r=8, p=1, maxmem=64 * 2**20)  # raises glibc's threshold
before = rss()
for _ in range(3):
    hashlib.scrypt(b'password', salt=b's' * 16, n=2**14, r=8, p=1, maxmem=64 * 2**20)
print(rss() - before)
"""


def growth(mode):
    return int(subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                              check=True).stdout)


def test_scrypt_memory_goes_back_to_the_system_once_the_threshold_is_fixed():
    assert growth("default") >= 12  # what the fix is for: 16 MiB kept after a login
    assert growth("fixed") < 2
