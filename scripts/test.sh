#!/usr/bin/env bash
# Installs ac_core with its test dependencies and runs every suite: Python tests and benchmarks
# (few rounds), the C++ tests under ASan+UBSan and under TSan, and the Windows build under wine
# when mingw-w64 and wine are installed (apt-get install g++-mingw-w64-x86-64 wine64).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
JOBS=${JOBS:-2}

echo "== boost headers (benchmark only: the ring benchmark's boost::lockfree::spsc_queue row)"
# A 9.5 MB header-only download, before the build so _core finds them; without them (no apt, not
# root) that row is skipped and says how to enable it.
if [ ! -f /usr/include/boost/lockfree/spsc_queue.hpp ] && command -v apt-get > /dev/null && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libboost-dev > /dev/null 2>&1 \
    || echo "skipped: apt-get install libboost-dev failed; the boost row of bench_ring.py will be skipped"
fi

echo "== install"
# The CPU build of torch first, so the project's `torch>=2.1` is already met (no multi-GB CUDA pull).
"$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q torch==2.13.0
# distributed: Ray, so the scale-out tests and benchmarks run (they skip, saying why, without it).
"$PY" -m pip install -q ".[test,distributed]"

echo "== ruff"
"$PY" -m ruff check python tests benchmarks examples

echo "== C++ tests, ASan + UBSan"
cmake -S . -B build/ci-asan -DAC_CORE_BUILD_TESTS=ON -DAC_CORE_BUILD_PYTHON=OFF \
  -DAC_CORE_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug > /dev/null
cmake --build build/ci-asan -j"$JOBS"
ctest --test-dir build/ci-asan --output-on-failure

echo "== C++ tests, TSan"
cmake -S . -B build/ci-tsan -DAC_CORE_BUILD_TESTS=ON -DAC_CORE_BUILD_PYTHON=OFF \
  -DAC_CORE_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug > /dev/null
cmake --build build/ci-tsan -j"$JOBS"
# setarch -R: TSan needs a non-randomised layout on some kernels.
TSAN_OPTIONS="halt_on_error=1" setarch "$(uname -m)" -R ctest --test-dir build/ci-tsan --output-on-failure

echo "== Windows build under wine"
if [ -x cpp/windows/run_wine_tests.sh ] || [ -f cpp/windows/run_wine_tests.sh ]; then
  if command -v x86_64-w64-mingw32-g++ > /dev/null && command -v wine > /dev/null; then
    bash cpp/windows/run_wine_tests.sh
  else
    echo "skipped: install g++-mingw-w64-x86-64 and wine64 (apt-get) to run the Windows tests"
  fi
fi

echo "== Python tests and benchmarks"
# Run from outside the source tree so the installed package (with its compiled _core) is tested.
"$PY" -m pytest -p no:cacheprovider --benchmark-max-time=0.05 --benchmark-min-rounds=3 \
  --benchmark-columns=min,median,mean,rounds --benchmark-sort=name "$@"
