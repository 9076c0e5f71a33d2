# Two entry points: `make demo` and `make test`. Each one sets up everything it needs
# on a fresh Debian machine (apt packages, .venv, the package) and then runs.
VENV    := .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.soundstage-installed
APT_PKGS := espeak-ng libmysofa1 ffmpeg
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup system clean

demo: setup
	$(VENV)/bin/soundstage demo

test: setup
	$(PYTHON) -m pytest

setup: system $(STAMP)

system:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q torch==2.13.0
	$(PYTHON) -m pip install -q -e ".[dev]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) soundstage-demo
