#!/usr/bin/env bash
# The Windows path, checked from Linux: cross-compiles the C++ core, its ctest tests and the
# Windows test programs in cpp/windows with mingw-w64 (build/mingw), then runs every program under
# wine in a fresh, throw-away WINEPREFIX. Installs nothing; says what to install when a tool is
# missing (Debian/Ubuntu: apt-get install -y g++-mingw-w64-x86-64 wine64 wine).
#
# Then tests/test_wine_launch_flow.py: ac_core's Python launching the stand-in acs.exe under wine
# (launch, smoke-test, training through crashes and a hang), when the package is installed.
#
# Output: each program's report, then one line `wine: N passed, M failed` (tests, summed over the
# programs; a program that crashes or times out without a report counts as one failure).
# Exit status: 0 when everything passed, 1 on any failure, 2 when a tool is missing.
#
# Environment: AC_CORE_MINGW_BUILD_DIR (default build/mingw), AC_CORE_WINE_TIMEOUT (seconds per
# program, default 180), AC_CORE_KEEP_WINEPREFIX=1 keeps the prefix for debugging.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${AC_CORE_MINGW_BUILD_DIR:-$ROOT/build/mingw}"
PER_PROGRAM_TIMEOUT="${AC_CORE_WINE_TIMEOUT:-180}"

missing=()
command -v cmake >/dev/null || missing+=("cmake")
command -v x86_64-w64-mingw32-g++-posix >/dev/null || command -v x86_64-w64-mingw32-g++ >/dev/null ||
  missing+=("g++-mingw-w64-x86-64")
WINE="$(command -v wine64 || command -v wine || true)"
[[ -n "$WINE" ]] || missing+=("wine64 wine")
command -v wineserver >/dev/null || [[ -x /usr/lib/wine/wineserver ]] || missing+=("wine (wineserver)")
if ((${#missing[@]})); then
  echo "run_wine_tests.sh: missing tools: ${missing[*]}" >&2
  echo "  install them with: apt-get install -y g++-mingw-w64-x86-64 wine64 wine" >&2
  echo "wine: 0 passed, 0 failed (not run: tools missing)"
  exit 2
fi
WINESERVER="$(command -v wineserver || echo /usr/lib/wine/wineserver)"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- build -----------------------------------------------------------------------------------
t0="$(now)"
echo "== building with mingw-w64 into $BUILD"
mkdir -p "$BUILD"
if ! cmake -S "$ROOT/cpp/windows" -B "$BUILD" \
      -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/mingw-w64-x86_64.cmake" \
      -DCMAKE_BUILD_TYPE=Release -DAC_CORE_BUILD_TESTS=ON >"$BUILD/configure.log" 2>&1; then
  cat "$BUILD/configure.log"
  echo "wine: 0 passed, 1 failed (cmake configure failed)"
  exit 1
fi
cmake --build "$BUILD" -j2 >"$BUILD/build.log" 2>&1
build_rc=$?
grep -E 'warning|error' "$BUILD/build.log"  # the project is warning-free: show any that appear
if [[ $build_rc -ne 0 ]]; then
  tail -40 "$BUILD/build.log"
  echo "wine: 0 passed, 1 failed (mingw build failed)"
  exit 1
fi
echo "   build: $(elapsed "$t0") s"

# --- a fresh wine prefix ---------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ac_core_wine.XXXXXX")"
export WINEPREFIX="$WORK/prefix"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="  # no Mono/Gecko installer prompts in a headless prefix
unset DISPLAY                               # console programs only; no X windows
cleanup() {
  "$WINESERVER" -k >/dev/null 2>&1 || true
  if [[ "${AC_CORE_KEEP_WINEPREFIX:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WINEPREFIX"; fi
}
trap cleanup EXIT

t0="$(now)"
"$WINE" wineboot --init >"$WORK/wineboot.log" 2>&1
"$WINESERVER" -w
echo "== wine prefix created in $(elapsed "$t0") s ($("$WINE" --version 2>/dev/null))"
# Keep one wineserver alive for the whole run: programs started one after the other then share
# the named-object namespace, and nobody pays the server start-up again.
"$WINESERVER" -p >/dev/null 2>&1

# --- run ---------------------------------------------------------------------------------------
passed=0
failed=0
programs=()
for exe in "$BUILD"/core/test_*.exe "$BUILD"/win_*.exe; do
  [[ -f "$exe" ]] && programs+=("$exe")
done
# win_ac_reader.exe alone runs its missing-page test; win_ac_writer.exe starts it again itself.

t_all="$(now)"
for exe in "${programs[@]}"; do
  name="$(basename "$exe")"
  log="$WORK/$name.log"
  t0="$(now)"
  echo "== $name"
  (cd "$(dirname "$exe")" && timeout "$PER_PROGRAM_TIMEOUT" "$WINE" "$exe") >"$log" 2>&1
  rc=$?
  tr -d '\r' <"$log" >"$log.txt" && mv "$log.txt" "$log"  # wine consoles write CRLF
  grep -v -E '^(it looks like wine32 is missing|multiarch needs|execute "dpkg|apt-get install wine32)' "$log"
  p=0; f=0
  while read -r np nf; do
    p=$((p + np)); f=$((f + nf))
  done < <(sed -n -E 's/^[A-Za-z0-9_]+: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log")
  if [[ $rc -ne 0 && $f -eq 0 ]]; then
    f=1
    [[ $rc -eq 124 ]] && why="timed out after ${PER_PROGRAM_TIMEOUT} s" || why="exit status $rc"
    echo "   $name failed without a test report ($why)"
  fi
  passed=$((passed + p)); failed=$((failed + f))
  echo "   ($(elapsed "$t0") s, exit $rc)"
done
echo "== programs ran in $(elapsed "$t_all") s"

# --- the launch flow: ac_core's Python (Linux) launching and supervising the stand-in acs.exe --------
# tests/test_wine_launch_flow.py: setup-controls, launch, smoke-test, then training through two crashes
# and a hang of the stand-in. Needs the installed package (scripts/test.sh installs it first).
PY="${PYTHON:-python3}"
echo "== launch flow (tests/test_wine_launch_flow.py)"
if "$PY" -c "import ac_core._core, pytest, torch" >/dev/null 2>&1; then
  t0="$(now)"
  log="$WORK/launch_flow.log"
  (cd "$ROOT" && AC_CORE_WINE_BUILD="$BUILD" timeout 600 "$PY" -m pytest -p no:cacheprovider -q -rs \
      tests/test_wine_launch_flow.py) >"$log" 2>&1
  rc=$?
  tail -15 "$log"
  p="$(sed -n -E 's/^(.* )?([0-9]+) passed.*/\2/p' "$log" | tail -1)"
  if [[ $rc -eq 0 && -n "$p" ]]; then
    passed=$((passed + p))
  else
    failed=$((failed + 1))
    echo "   launch flow failed (exit $rc)"
  fi
  echo "   ($(elapsed "$t0") s)"
else
  echo "   skipped: ac_core (with _core), pytest and torch are not importable by $PY (pip install .[test])"
fi
echo "wine: $passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
