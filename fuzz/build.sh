#!/bin/sh
# Build the libFuzzer harness for the PDU codec core, under ASan and UBSan, and the C
# extension with coverage counters and the same sanitizers for the atheris harness.
#   fuzz/build.sh             -> fuzz/fuzz_decode, build/fuzz/_pdu<suffix>
# Needs clang with the libFuzzer runtime (Debian 12: apt-get install clang-14 libclang-rt-14-dev).
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-clang-14}
$CC -g -O1 -std=c99 -Wall -Wextra -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    -Iappliance/pdu fuzz/fuzz_decode.c appliance/pdu/pdu_core.c -o fuzz/fuzz_decode
echo "built fuzz/fuzz_decode"
PYTHON=${PYTHON:-.venv/bin/python}
include=$($PYTHON -c "import sysconfig; print(sysconfig.get_paths()['include'])")
suffix=$($PYTHON -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
mkdir -p build/fuzz
$CC -g -O1 -std=c99 -Wall -Wextra -shared -fPIC \
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    -I"$include" -Iappliance/pdu appliance/pdu/_pdu.c -o "build/fuzz/_pdu$suffix"
echo "built build/fuzz/_pdu$suffix"
