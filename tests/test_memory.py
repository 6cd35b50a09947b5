"""A password check must not leave its 16 MiB of scrypt memory resident.

glibc raises its mmap threshold once the first large block is freed, so later scrypt
buffers come from the heap and stay there. The service therefore runs with the threshold
fixed in its environment (``MALLOC_MMAP_THRESHOLD_``): the systemd unit sets it, and so do
``make run`` and the benchmarks' service runner. These tests read the setting from the unit
and show what it does.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTING = "MALLOC_MMAP_THRESHOLD_"

SCRIPT = """
import hashlib
def rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')) // 1024
hashlib.scrypt(b'warm', salt=b's' * 16, n=2**14, r=8, p=1, maxmem=64 * 2**20)  # raises glibc's threshold
before = rss()
for _ in range(3):
    hashlib.scrypt(b'password', salt=b's' * 16, n=2**14, r=8, p=1, maxmem=64 * 2**20)
print(rss() - before)
"""


def unit_environment() -> dict[str, str]:
    unit = (ROOT / "systemd" / "sms-appliance.service").read_text()
    return dict(re.findall(r"^Environment=([A-Za-z_]+)=(\S+)$", unit, re.MULTILINE))


def growth(environment: dict[str, str]) -> int:
    env = {name: value for name, value in os.environ.items() if name != SETTING}
    return int(subprocess.run([sys.executable, "-c", SCRIPT], env={**env, **environment},
                              capture_output=True, text=True, check=True).stdout)


def test_the_unit_fixes_the_mmap_threshold_and_so_does_every_real_start():
    value = unit_environment()[SETTING]
    assert value == "131072"  # glibc's initial 128 KiB, kept
    run = next(line for line in (ROOT / "Makefile").read_text().splitlines() if "sms-appliance run" in line)
    assert f"{SETTING}={value} " in run
    assert f'{{"{SETTING}": "{value}"}}' in (ROOT / "bench" / "service_runner.py").read_text()


def test_scrypt_memory_goes_back_to_the_system_with_the_units_setting():
    assert growth({}) >= 12  # what the setting is for: 16 MiB kept after a login
    assert growth({SETTING: unit_environment()[SETTING]}) < 2
