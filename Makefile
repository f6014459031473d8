# imapscope: the two commands a user needs are `make demo` and `make test`.
# Both install what is missing (scripts/install-deps.sh), then build with CMake.

BUILD    ?= build
ASAN     ?= build-asan
PREFIX   ?= /usr/local
DEMO     ?= samples/login-fetch.pcap
JOBS     ?= 2

.PHONY: all deps build demo test test-asan update-golden install clean

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

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN) -DISC_WERROR=ON -DISC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN) -j$(JOBS)
	cd $(ASAN) && ctest --output-on-failure -j$(JOBS)

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
