#!/usr/bin/env bash
# Compiles services, libs, tests and benchmarks into dist/, rewriting @notify/* imports to relative paths.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install tsc -p tsconfig.build.json
npx --no-install tsc-alias -p tsconfig.build.json
# tsc builds incrementally and never deletes: output whose source was moved or removed would still be
# run (a stale spec by the test runner), so it goes.
if [ -d dist ]; then
  find dist -name '*.js' -print0 | while IFS= read -r -d '' out; do
    src="${out#dist/}"
    [ -f "${src%.js}.ts" ] || rm -f "$out" "$out.map"
  done
fi
