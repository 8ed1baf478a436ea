#!/usr/bin/env bash
# CI entry point for the native kernel tests (DSP and fused training kernels): configures an AddressSanitizer +
# UBSan build in build-native/, builds the test targets and runs ctest.
#
#   bash test/native/run.sh              (from anywhere in the repository)
#
# Environment:
#   EMO_SANITIZE=OFF        plain optimised build instead of ASan/UBSan
#   EMO_NATIVE_BUILD_DIR    build directory (default: <repo>/build-native, or
#                           <repo>/build-native-standalone with EMO_NATIVE_STANDALONE=1)
#   EMO_FUZZ_ITERATIONS     mutation count of wav_mutation_test (default in the binary)
#   EMO_FUZZ_SEED           its seed; EMO_FUZZ_SLOW_MS its per-input time limit
#   JOBS                    build and test parallelism (default: number of CPUs)
#   EMO_NATIVE_STANDALONE=1 configure test/native as its own project (needs only
#                           kissfft, not the top-level dependencies)
# Needs cmake >= 3.18, a C++17 compiler and kissfft (pkg-config kissfft-float).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source_dir="$ROOT"
options=(-DEMO_NATIVE_TESTS=ON)
default_build="$ROOT/build-native"
if [ "${EMO_NATIVE_STANDALONE:-0}" = 1 ]; then
  source_dir="$ROOT/test/native"
  options=()
  default_build="$ROOT/build-native-standalone"
fi
BUILD="${EMO_NATIVE_BUILD_DIR:-$default_build}"
SANITIZE="${EMO_SANITIZE:-ON}"
JOBS="${JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}"

generator=()
# A fresh build directory gets Ninja when available; an existing one keeps its generator.
if [ ! -f "$BUILD/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
fi

start=$SECONDS
cmake -S "$source_dir" -B "$BUILD" ${generator[@]+"${generator[@]}"} ${options[@]+"${options[@]}"} \
  -DEMO_SANITIZE="$SANITIZE" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
targets=(kernels_test wav_mutation_test)
# The fused training kernels need OpenMP: top-level configuration only.
[ "${EMO_NATIVE_STANDALONE:-0}" = 1 ] || targets+=(nn_train_test)
cmake --build "$BUILD" --parallel "$JOBS" --target "${targets[@]}"
echo "configure + build: $((SECONDS - start)) s"

# The tests run at once (the DSP ones are single-threaded, nn_train_test uses 2 threads).
cd "$BUILD"
ctest --output-on-failure --parallel "$JOBS"
echo "total: $((SECONDS - start)) s"
