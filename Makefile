# Thin wrapper over CMake.  `make demo` and `make test` are what README.md
# tells a newcomer to run; both install dependencies first.
JOBS ?= $(shell nproc)
DEMO_PROMPT ?= And God said unto Moses,

.PHONY: all deps build demo test test-cuda clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	cmake --build build -j $(JOBS)

demo: build
	./build/accinf run examples/demo-model --prompt "$(DEMO_PROMPT)" -n 120 \
	  --temperature 0.7 --top-p 0.9 --seed 7 --stats

# Tests: clang, ASan + UBSan, libFuzzer targets run briefly; ends with ctest's summary.
test: deps
	CC=clang cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DACCINF_SANITIZE=ON -DACCINF_FUZZ=ON -DACCINF_NATIVE=OFF >/dev/null
	cmake --build build-test -j $(JOBS)
	cd build-test && ctest --output-on-failure -j $(JOBS)

# GPU tests (tests/cuda, ctest label "cuda") on a machine with an NVIDIA GPU.
test-cuda:
	cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DACCINF_CUDA=ON -DACCINF_CUDA_TESTS=ON >/dev/null
	cmake --build build-cuda -j $(JOBS) --target accinf $(patsubst tests/cuda/%.c,%,$(wildcard tests/cuda/test_*.c))
	cd build-cuda && ctest -L cuda --output-on-failure -V

clean:
	rm -rf build build-test build-cuda
