#!/usr/bin/env bash
# Installs what is missing (apt-get and npm, through tools/install-deps.sh), builds everything and runs the whole test suite through ctest.
# The exit code is ctest's. Environment:
#   BUILD_DIR   build directory (default: build)
#   CTEST_JOBS  parallel ctest jobs (default: 2)
#   CTEST_ARGS  extra ctest arguments, e.g. "-R integration"
#   SANITIZERS, TSAN, FUZZ_SECONDS: see the sanitizer and fuzzing section at the end
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

build_dir="${BUILD_DIR:-build}"

tools/install-deps.sh

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build_dir"

set +e
# shellcheck disable=SC2086
ctest --test-dir "$build_dir" --output-on-failure -j"${CTEST_JOBS:-2}" ${CTEST_ARGS:-}
rc=$?
set -e

# ---- Sanitizers and fuzzing (docs/fuzzing.md) -------------------------------------------------------
# Opt-in until their time on an idle 2-core CI machine is measured (docs/fuzzing.md):
#   SANITIZERS=1     also build an ASan+UBSan tree and run the unit + integration suites under it
#   TSAN=1           also build a TSan gateway and run the reload-under-traffic test against it
#   FUZZ_SECONDS=N   also run each libFuzzer target N seconds (needs clang++-14; e.g. 20)
sanitizer_env() {
  local reports="$1"
  rm -rf "$reports" && mkdir -p "$reports"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$reports/asan"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan"
}
# A report written by a process no test waited for (a leak at exit, a gateway killed at the end) fails too.
check_reports() {
  if compgen -G "$1/*" >/dev/null; then
    echo "sanitizer reports in $1:" >&2
    head -n 40 "$1"/* >&2
    rc=1
  fi
}
if [[ ${SANITIZERS:-0} != 0 ]]; then
  asan_dir="$build_dir/asan"
  cmake -S . -B "$asan_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLIPWAY_SANITIZE=address,undefined >/dev/null
  ninja -C "$asan_dir" unit-tests slipway vllm-sim
  # No e2e; replay and validate_cli need tools this tree does not build.
  (
    sanitizer_env "$asan_dir/sanitizer-reports"
    ctest --test-dir "$asan_dir" --output-on-failure -j"${CTEST_JOBS:-2}" \
      -E '^(e2e\.|integration\.(replay|validate_cli)$)'
  ) || rc=1
  check_reports "$asan_dir/sanitizer-reports"
fi
if [[ ${TSAN:-0} == 1 ]]; then
  tsan_dir="$build_dir/tsan"
  cmake -S . -B "$tsan_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLIPWAY_SANITIZE=thread >/dev/null
  ninja -C "$tsan_dir" slipway vllm-sim
  (
    sanitizer_env "$tsan_dir/sanitizer-reports"
    ctest --test-dir "$tsan_dir" --output-on-failure -R '^integration\.reload$'
  ) || rc=1
  check_reports "$tsan_dir/sanitizer-reports"
fi
if [[ ${FUZZ_SECONDS:-0} != 0 ]] && command -v clang++-14 >/dev/null; then
  FUZZ_BUILD_DIR="$build_dir/fuzz" tests/fuzz/run.sh --seconds-per-target "$FUZZ_SECONDS" || rc=1
fi
exit "$rc"
