# The README's two commands: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := pyproject.toml appliance/pdu/_pdu.c appliance/pdu/pdu_core.c appliance/pdu/pdu_core.h

.PHONY: run test lint install clean bench bench-compare bench-codec bench-schemas bench-wsgi bench-fsync bench-e2e bench-http bench-flood bench-sd bench-providers fuzz fuzz-build check-simd

$(STAMP): $(SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# one simulated modem; ARGS come after, so `make run ARGS="--simulate 3"` gives three.
# The malloc setting is the unit's (systemd/sms-appliance.service says why)
run: $(STAMP)
	MALLOC_MMAP_THRESHOLD_=131072 $(BIN)/sms-appliance run --simulate 1 --data ./data --listen 127.0.0.1:9710 $(ARGS)

# Debian packages the suite runs: systemd-analyze checks the unit file; gammu and
# gammu-smsd, real third-party software, talk to the simulated modem; openssl makes the
# HTTPS tests' certificates; nginx runs in front of the service as on the appliance;
# chromium and chromium-driver are the real browser the web pages are tested in.
# The lint comes first: it takes seconds, the suite minutes
TEST_DEBS := systemd gammu gammu-smsd openssl nginx chromium chromium-driver
test: $(STAMP) lint
	command -v systemd-analyze >/dev/null && command -v gammu >/dev/null && command -v gammu-smsd >/dev/null \
	  && command -v openssl >/dev/null && PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null \
	  && command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_DEBS) >/dev/null; }
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Style (ruff), types (mypy) and the layering contract (import-linter): settings in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: bench-codec bench-wsgi bench-fsync bench-e2e bench-http

# The appliance against an earlier version of itself (BASE, a git revision), taking turns
# in one run: end to end, idle latency, the HTTP load, memory and fsyncs (bench/compare.py).
# The earlier version is unpacked into build/base with a .venv of its own.
BASE ?= HEAD~1
bench-compare: $(STAMP)
	command -v wrk >/dev/null && command -v strace >/dev/null || apt-get install -y wrk strace
	rm -rf build/base && mkdir -p build/base && git archive $(BASE) | tar -x -C build/base
	$(MAKE) -C build/base install
	$(BIN)/python bench/compare.py --base build/base $(COMPARE_ARGS)

# Hostile input: 64 clients posting 2 MiB forms of empty fields without credentials; the
# service's CPU and memory (APPLIANCE_TREE=<checkout with a .venv> measures another version)
bench-flood: $(STAMP)
	$(BIN)/python bench/form_flood.py $(FLOOD_ARGS)

# PDU codec against python-gsmmodem-new's pure-Python codec, same inputs, same run
bench-codec: $(STAMP)
	$(BIN)/python bench/codec.py

# fsync calls per message, counted with strace on the real service
bench-fsync: $(STAMP)
	command -v strace >/dev/null || apt-get install -y strace
	$(BIN)/python bench/fsync.py

# What the store costs an SD card: bytes written and fsyncs per message, the write-ahead
# log's size (APPLIANCE_TREE=<checkout with a .venv> measures another version);
# SD_ARGS e.g. "--one 20 --bulk 1000" or "--steady 20000 --rate 5.5"
bench-sd: $(STAMP)
	command -v strace >/dev/null || apt-get install -y strace
	$(BIN)/python bench/sd_writes.py $(SD_ARGS)

# send-message requests per second with 1, 8 and 32 clients, fsyncs per message, memory
bench-http: $(STAMP)
	command -v wrk >/dev/null && command -v strace >/dev/null || apt-get install -y wrk strace
	$(BIN)/python bench/http_load.py

# The HTTP server: cheroot as configured against waitress, under wrk (Debian's wrk package);
# WSGI_ARGS e.g. "--servers cheroot cheroot:linger=0 waitress --before ../before"
bench-wsgi: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/wsgi_servers.py compare $(WSGI_ARGS)

# The schema libraries: msgspec (what the appliance declares its schemas with) against
# pydantic, cattrs and marshmallow: import cost, memory, time to check one config table
bench-schemas: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench-schemas]'
	$(BIN)/python bench/schema_libraries.py

# End to end, submission to PDU at simulated modems: the appliance against gammu-smsd and
# smstools (Debian packages, configured as bench/PEERS.md says) and a bare
# python-gsmmodem-new sendSms loop. About half an hour, most of it gammu-smsd (1.4 msg/s);
# E2E_ARGS e.g. "--messages 200 --samples 20" or "--contenders appliance,bare"
PEER_DEBS := gammu-smsd smstools
bench-e2e: $(STAMP)
	command -v gammu-smsd >/dev/null && command -v smsd >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PEER_DEBS) >/dev/null; }
	$(BIN)/python bench/e2e.py all $(E2E_ARGS)

# Through an HTTP SMS provider, end to end: the appliance's provider gateway against Kannel's
# generic HTTP SMSC (Debian's kannel, set up as bench/PEERS.md says), one fake provider for
# both; PROVIDERS_ARGS e.g. "--only kannel" or "--messages 5000 --concurrency 4 16"
bench-providers: $(STAMP)
	command -v bearerbox >/dev/null && command -v wrk >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kannel wrk >/dev/null; }
	$(BIN)/python bench/providers.py $(PROVIDERS_ARGS)

# Fuzzing the codec: libFuzzer on the C core under ASan and UBSan, atheris on the Python
# API. FUZZ_SECONDS each; new inputs collect in fuzz/work (the seeds stay in fuzz/corpus).
FUZZ_SECONDS ?= 60
FUZZ_DEBS := clang-14 libclang-rt-14-dev
fuzz-build: $(STAMP)
	command -v clang-14 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(FUZZ_DEBS) >/dev/null; }
	fuzz/build.sh

fuzz: $(STAMP) fuzz-build
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz]'
	mkdir -p fuzz/work fuzz/work-api
	fuzz/fuzz_decode -runs=0 fuzz/corpus
	fuzz/fuzz_decode -max_len=400 -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/work fuzz/corpus
	LD_PRELOAD=$$($(BIN)/python -c "import atheris; print(atheris.path())")/asan_with_fuzzer.so \
	  ASAN_OPTIONS=detect_leaks=0 FUZZ_PDU_EXTENSION=$$(ls build/fuzz/_pdu*.so) \
	  $(BIN)/python fuzz/fuzz_api.py -max_len=400 -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/work-api fuzz/corpus

# The hex decoder's vector paths against a plain decoder: natively, and the NEON path for
# the Raspberry Pi cross-compiled to aarch64 and run under qemu (Debian packages)
SIMD_DEBS := gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
check-simd:
	command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64-static >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SIMD_DEBS) >/dev/null; }
	mkdir -p build
	cc -O2 -std=gnu99 -Wall -Wextra -Wno-unused-function -o build/hex_check fuzz/hex_check.c && build/hex_check
	aarch64-linux-gnu-gcc -O2 -std=gnu99 -Wall -Wextra -Wno-unused-function -static -o build/hex_check_arm64 fuzz/hex_check.c
	qemu-aarch64-static build/hex_check_arm64

clean:
	rm -rf $(VENV) build *.egg-info appliance/pdu/*.so
