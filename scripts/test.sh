#!/usr/bin/env bash
# The README's test command runs this: system packages if missing, type, unused-export and format checks, then
# every vitest project (unit, gpu on Dawn, e2e in Chromium), ending with one plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh || exit 1
[ -d node_modules ] || npm ci || exit 1

echo "== type check" >&2
npx svelte-check --tsconfig ./tsconfig.json --threshold error --output human || { echo "tests: 0 passed, 1 failed (type check)"; exit 1; }

# Unused files, exports and dependencies (knip.jsonc): once counting the tests as users, once counting only the
# product, so code that only its own tests use fails too. A few seconds each.
echo "== unused exports" >&2
{ npx knip --no-progress --no-config-hints && npx knip --production --no-progress; } || { echo "tests: 0 passed, 1 failed (unused exports)"; exit 1; }

echo "== format" >&2
node scripts/check-format.mjs || { echo "tests: 0 passed, 1 failed (format)"; exit 1; }

mkdir -p test-results
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
rc=$?
node scripts/summary.mjs test-results/vitest.json || rc=1
exit $rc
