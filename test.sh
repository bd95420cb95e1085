#!/usr/bin/env bash
# Installs what is missing (apt-get and npm, through tools/install-deps.sh), builds everything and runs the whole test suite through ctest.
# The exit code is ctest's. Environment:
#   BUILD_DIR   build directory (default: build)
#   CTEST_JOBS  parallel ctest jobs (default: 2)
#   CTEST_ARGS  extra ctest arguments, e.g. "-R integration"
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
exit "$rc"
