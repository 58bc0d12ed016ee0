# The two commands of the quick start, and a few conveniences.
#   make run    install what is missing, build, check the examples and run one
#               offline (mock model provider: no network, no key)
#   make test   build (normal and ASan+UBSan) and run the whole suite
BUILD      ?= build
BUILD_SAN  ?= build-san
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build build-san run test test-fast bench clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-san: deps
	@cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DFLOW_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_SAN) -j $(JOBS)

run: build
	./$(BUILD)/flowc check examples/
	./$(BUILD)/flowc run examples/support/triage.flow --mock --input examples/support/triage.input.jsonl

test: build build-san
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(BUILD_SAN) && ctest --output-on-failure -j $(JOBS)

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	sh bench/run.sh

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
