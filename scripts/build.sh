#!/usr/bin/env bash
# Compiles services, libs, tests and benchmarks into dist/, rewriting @notify/* imports to relative paths.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install tsc -p tsconfig.build.json
npx --no-install tsc-alias -p tsconfig.build.json
