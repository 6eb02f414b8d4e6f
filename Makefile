# sampswift: build, demo, tests, benchmarks. `make demo` and `make test` are the
# two commands a fresh Debian machine needs (see README.md).
SWIFT ?= swift
DEBIAN_PACKAGES := pkg-config libunwind-dev libdw-dev libelf-dev liblzma-dev gcc g++ make
BIN_DEBUG := .build/debug/sampswift
BIN_RELEASE := .build/release/sampswift

.PHONY: all deps build release demo test unit integration bench bench-quick soak fuzz lint layouts clean
FUZZ_SECONDS ?= 15
FUZZ_TARGETS := FuzzElf FuzzLineTable FuzzPythonString FuzzDebugOffsets FuzzProcText

all: build

# Installs the Debian packages sampswift builds against, only when one is missing.
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

# Builds, starts the bundled demo workload and profiles it for 3 seconds.
demo: release
	@./Docs/demo/run-demo.sh $(BIN_RELEASE)

# The whole suite: the fuzz targets briefly, then unit tests and integration
# tests that profile real processes.
# Integration tests profile with the release binary, the one users run: the
# debug build's symbolization is slow enough to skew rates on a loaded machine.
test: deps fuzz release
	$(SWIFT) build --build-tests
	SAMPSWIFT_BIN=$(CURDIR)/$(BIN_RELEASE) $(SWIFT) test --no-parallel

unit: deps
	$(SWIFT) test --filter SampCoreTests

integration: deps release
	SAMPSWIFT_BIN=$(CURDIR)/$(BIN_RELEASE) $(SWIFT) test --no-parallel --filter IntegrationTests

# libFuzzer targets for every parser of untrusted bytes (Tests/Fuzz), each run
# FUZZ_SECONDS from small seeds; a crash fails and keeps its input in the log.
fuzz: deps
	cd Tests/Fuzz && $(SWIFT) build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
	@work=$$(mktemp -d); \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $$work/$$t; \
	  case $$t in FuzzElf) cp /bin/true $$work/$$t/;; FuzzProcText) cat /proc/self/maps > $$work/$$t/maps; cat /proc/self/status > $$work/$$t/status;; esac; \
	  printf 'fuzz %s for %s s: ' $$t $(FUZZ_SECONDS); \
	  if ! SWIFT_BACKTRACE=enable=no Tests/Fuzz/.build/debug/$$t $$work/$$t -max_total_time=$(FUZZ_SECONDS) \
	       -rss_limit_mb=2048 -artifact_prefix=$$work/ > $$work/$$t.log 2>&1; then \
	    echo FAILED; tail -40 $$work/$$t.log; echo "inputs kept in $$work"; exit 1; \
	  fi; \
	  grep -E '^Done' $$work/$$t.log; \
	done; rm -rf $$work

# Regenerates the per-version Python layouts from the installed interpreters' headers.
layouts:
	python3 Sources/SampCore/Python/Layouts/generate_layouts.py

bench: release
	python3 Tests/Benchmarks/bench.py --binary $(BIN_RELEASE)

bench-quick: release
	python3 Tests/Benchmarks/bench.py --binary $(BIN_RELEASE) --quick

soak: deps
	SAMPSWIFT_SOAK=1 $(SWIFT) test --filter Reliability

lint:
	@! grep -rnE '^(public |internal |@_implementationOnly )?import (CSampShims|CLibdw|Glibc)' Sources/SampCore Sources/sampswift \
	  || (echo "only SampSystem may import C modules" && false)
	@! grep -rn 'Unsafe' Sources/SampCore Sources/sampswift || (echo "Unsafe* belongs in SampSystem" && false)
	@! grep -rnE 'PTRACE_(ATTACH|POKE|SETREGS)|process_vm_writev' Sources | grep -vE '^[^:]+:[0-9]+:\s*(//|/\*|\*)' \
	  || (echo "the target is never written to nor attached with PTRACE_ATTACH" && false)
	@echo lint ok

clean:
	rm -rf .build
