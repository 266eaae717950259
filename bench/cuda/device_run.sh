#!/usr/bin/env bash
# device_run.sh — everything one call on the GPU machine does, in stages:
#   deps      unpack the carried Debian libraries (.deb/*.deb, see docs/CUDA.md)
#   build     make test-cuda's build (Release, ACCINF_CUDA=ON, GPU tests registered)
#   test      ctest -L cuda (GPU tests against the CPU reference)
#   memcheck  compute-sanitizer memcheck over the GPU model test
#   gemv      bench/cuda/gemv_bench.cu: decode GEMV check + bandwidth per shape
#   flash     bench/cuda/flash_bench.cu: tiled prefill attention check + TFLOP/s
#   gemm      bench/cuda/gemm_bench.cu: TFLOP/s of the 8B prefill GEMM shapes
#   bench     bench/cuda/bench.sh (demo model, 1B and 8B random models,
#             transformers); BENCH_PARTS picks parts (see bench.sh)
# usage, from the repository root: bash bench/cuda/device_run.sh [STAGE...]
# Logs go to $OUT (the device tool's result folder) or /tmp/accinf-out.
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/accinf-out}
mkdir -p "$OUT"
stages=${*:-deps build test bench memcheck}
deps=/tmp/accinf-deps
jobs=$(nproc)

stage_deps() {
    mkdir -p "$deps"
    for f in .deb/*.deb; do dpkg -x "$f" "$deps"; done
    # the .pc files name /usr; point them at the unpacked tree.  Every run:
    # a warm machine may hold a tree unpacked by an earlier run with fewer
    # packages; a path already under $deps is not rewritten again.
    sed -i "s|$deps/usr|/usr|g; s|/usr|$deps/usr|g" "$deps"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc
}

export PKG_CONFIG_PATH=$deps/usr/lib/x86_64-linux-gnu/pkgconfig
export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export CMAKE_PREFIX_PATH=$deps/usr
pkg_config=$(command -v pkg-config || echo "$deps/usr/bin/pkgconf")

stage_build() {
    cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DACCINF_CUDA=ON -DACCINF_CUDA_TESTS=ON \
        -DCMAKE_CUDA_ARCHITECTURES=90 -DPKG_CONFIG_EXECUTABLE="$pkg_config" >"$OUT/build.log" 2>&1 &&
        cmake --build build-cuda -j "$jobs" --target accinf \
            $(for t in tests/cuda/test_*.c; do basename "$t" .c; done) >>"$OUT/build.log" 2>&1
    local rc=$?
    tail -5 "$OUT/build.log"
    return $rc
}

stage_test() {
    (cd build-cuda && timeout 200 ctest -L cuda --output-on-failure -V) >"$OUT/test.log" 2>&1
    local rc=$?
    grep -E "worst|greedy|ok:|FAIL|out of device|tests passed|tests failed|PASSED|FAILED|Error" \
        "$OUT/test.log" | cut -c1-220 | tail -60
    return $rc
}

stage_memcheck() {
    timeout 150 compute-sanitizer --tool memcheck --leak-check full --report-api-errors no --error-exitcode 9 \
        build-cuda/test_cuda_models >"$OUT/memcheck.log" 2>&1
    local rc=$?
    grep -E "ERROR SUMMARY|LEAK SUMMARY|PASSED|FAILED|Invalid" "$OUT/memcheck.log" | head -10
    echo "memcheck rc=$rc"
    return $rc
}

stage_gemv() {
    nvcc -std=c++17 -O3 -arch=sm_90 -I src -I include bench/cuda/gemv_bench.cu \
        src/backend/cuda/cuda_gemv.cu -lcublas -o build-cuda/gemv_bench >"$OUT/gemv.log" 2>&1 &&
        timeout 120 build-cuda/gemv_bench >>"$OUT/gemv.log" 2>&1
    local rc=$?
    grep -E "^\||check|CHECK|device" "$OUT/gemv.log" | head -60
    return $rc
}

stage_flash() {
    nvcc -std=c++17 -O3 -arch=sm_90 -I src -I include bench/cuda/flash_bench.cu \
        src/backend/cuda/cuda_flash.cu src/backend/cuda/cuda_kernels.cu -o build-cuda/flash_bench \
        >"$OUT/flash.log" 2>&1 &&
        timeout 120 build-cuda/flash_bench >>"$OUT/flash.log" 2>&1
    local rc=$?
    grep -vE "^\s*$" "$OUT/flash.log" | tail -20
    return $rc
}

stage_gemm() {
    nvcc -std=c++17 -O3 -arch=sm_90 bench/cuda/gemm_bench.cu -lcublasLt -lcublas \
        -o build-cuda/gemm_bench >"$OUT/gemm.log" 2>&1 &&
        timeout 120 build-cuda/gemm_bench >>"$OUT/gemm.log" 2>&1
    local rc=$?
    tail -20 "$OUT/gemm.log"
    return $rc
}

stage_bench() {
    timeout "${BENCH_TIMEOUT:-400}" bash bench/cuda/bench.sh build-cuda/accinf "$OUT" \
        ${BENCH_PARTS:-} 2>&1 | tee "$OUT/bench.log"
}

status=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
for s in $stages; do
    echo "== $s"
    start=$(date +%s)
    "stage_$s" || { echo "stage $s failed"; status=1; }
    echo "== $s: $(($(date +%s) - start)) s"
done
exit $status
