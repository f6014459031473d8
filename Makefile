# imapscope: the two commands a user needs are `make demo` and `make test`.
# Both install what is missing (scripts/install-deps.sh), then build with CMake.

BUILD    ?= build
ASAN     ?= build-asan
PREFIX   ?= /usr/local
DEMO     ?= samples/login-fetch.pcap
JOBS     ?= 2

.PHONY: all deps build demo test test-asan update-golden install clean bench

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DISC_WERROR=ON -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	@echo "== transcript: $(BUILD)/imapscope -r $(DEMO)"
	@$(BUILD)/imapscope -r $(DEMO)
	@echo "== NDJSON: $(BUILD)/imapscope -r $(DEMO) --json"
	@$(BUILD)/imapscope -r $(DEMO) --json

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	$(MAKE) test-asan
	$(MAKE) test-fuzz
	$(MAKE) lint

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer.
# Sanitizer reports go to files as well: a test runner may pass a test whose
# child printed a leak report, so any report found there fails the run.
test-asan: deps
	cmake -S . -B $(ASAN) -DISC_WERROR=ON -DISC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN) -j$(JOBS)
	rm -rf $(ASAN)/sanitizer-logs && mkdir -p $(ASAN)/sanitizer-logs
	cd $(ASAN) && ASAN_OPTIONS=log_path=$(CURDIR)/$(ASAN)/sanitizer-logs/asan:detect_leaks=1 \
		UBSAN_OPTIONS=log_path=$(CURDIR)/$(ASAN)/sanitizer-logs/ubsan:print_stacktrace=1 \
		ctest --output-on-failure -j$(JOBS)
	@if ls $(ASAN)/sanitizer-logs/* >/dev/null 2>&1; then \
		echo "sanitizer reports:"; cat $(ASAN)/sanitizer-logs/*; exit 1; \
	else echo "no sanitizer reports"; fi

# Rewrites samples/*.expected.* from the current build. Read the diff
# (git diff samples/) before committing it.
update-golden: build
	@for p in samples/*.pcap; do \
		tests/golden.sh --update $(BUILD)/imapscope $$p || exit 1; \
	done

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN)

# Throughput and memory benchmark on generated captures (bench/README.md).
# SCALE=0.02 RUNS=1 make bench is a quick check; PROFILES= picks profiles.
bench:
	@scripts/install-deps.sh --build-only
	bench/run.sh

# ---- fuzzing and static analysis (docs/security.md) -------------------------
# fuzz:      every libFuzzer target for FUZZ_SECONDS each, one at a time; new
#            inputs go to fuzz/corpus-new/<target>, crashes to fuzz/artifacts/.
# test-fuzz: the targets over their seeds plus a short mutation run each, and
#            every input in tests/regress/; fails on any sanitizer report.
# lint:      clang-tidy (.clang-tidy) and cppcheck over the sources.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20

.PHONY: fuzz test-fuzz lint

fuzz: deps
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) fuzz/run.sh fuzz

test-fuzz: deps
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) JOBS=$(JOBS) fuzz/run.sh smoke

lint: deps
	scripts/lint.sh
