# The README's two commands: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := pyproject.toml appliance/pdu/_pdu.c

.PHONY: run test install clean bench bench-codec bench-wsgi

$(STAMP): $(SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/sms-appliance run --data ./data --listen 127.0.0.1:9710 $(ARGS)

# the suite checks the unit file with systemd-analyze: install it where it is missing
test: $(STAMP)
	command -v systemd-analyze >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd; }
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: bench-codec bench-wsgi

# PDU codec against python-gsmmodem-new's pure-Python codec, same inputs, same run
bench-codec: $(STAMP)
	$(BIN)/python bench/codec.py

# Which WSGI server: cheroot against waitress under wrk (Debian's wrk package)
bench-wsgi: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/wsgi_servers.py compare

clean:
	rm -rf $(VENV) build *.egg-info appliance/pdu/*.so
