#!/usr/bin/env bash
# Formatting and static checks with the repository's .clang-format and .clang-tidy.
#   scripts/lint.sh            check formatting (fails on any difference)
#   scripts/lint.sh --fix      reformat in place
#   scripts/lint.sh --tidy     also run clang-tidy on the host sources (needs build/compile_commands.json)
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'libextract/*.cpp' 'libextract/*.hpp' 'cpu_fallback/*.cpp' 'cpu_fallback/*.hpp' \
  'cuda/*.cu' 'cuda/*.cuh' 'cuda/*.hpp' 'cuda/*.cpp' 'tests/*.cpp' 'tests/*.hpp' 'bench/*.cpp' 'bindings/python/src/*.cpp')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
clang-format --dry-run --Werror "${files[@]}"
echo "lint: formatting ok (${#files[@]} files)"
if [ "${1:-}" = "--tidy" ]; then
  mapfile -t host < <(git ls-files 'libextract/src/*.cpp' 'libextract/apps/*.cpp' 'cpu_fallback/*.cpp')
  clang-tidy -p "${BUILD_DIR:-build}" --quiet "${host[@]}"
fi
