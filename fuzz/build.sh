#!/bin/sh
# Build the libFuzzer harness for the PDU codec core, under ASan and UBSan.
#   fuzz/build.sh             -> fuzz/fuzz_decode
# Needs clang with the libFuzzer runtime (Debian 12: apt-get install clang-14 libclang-rt-14-dev).
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-clang-14}
$CC -g -O1 -std=c99 -Wall -Wextra -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    -Iappliance/pdu fuzz/fuzz_decode.c appliance/pdu/pdu_core.c -o fuzz/fuzz_decode
echo "built fuzz/fuzz_decode"
