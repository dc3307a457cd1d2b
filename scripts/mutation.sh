#!/usr/bin/env bash
# Mutation testing of the contracts with SuMo, in a throwaway copy of the repository.
#
# SuMo rewrites each contract in place while it tests a mutant. Running it in the working tree would leave a mutated
# contract behind if it were interrupted, and would break anything else compiling that tree meanwhile, so it runs in a
# copy: the tracked and untracked-but-not-ignored files, with node_modules linked (SuMo itself is copied, because its
# operator switches live inside its own package directory).
#
#   scripts/mutation.sh [preflight|test]     default: test
#
# Environment:
#   AITBC_MUTATION_DIR    the copy (default: ${TMPDIR:-/tmp}/aitbc-mutation); emptied first
#   AITBC_MUTATION_MOCHA  "1" adds the in-process market mocha tests to the per-mutant test command
#   AITBC_MUTATION_OPS    space-separated SuMo operator ids to enable (default: the set in docs/mutation-report.md)
#   AITBC_MUTATION_SKIP   space-separated paths under contracts/ to skip on top of sumo-config.json (to split a run
#                         into lanes that run side by side in different AITBC_MUTATION_DIRs)
#
# Results stay in $AITBC_MUTATION_DIR/.sumo/results (report.txt, results.csv, alive/, killed/, ...); results.csv
# grows as mutants are classified, so a time-boxed run still reports what it covered.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${AITBC_MUTATION_DIR:-${TMPDIR:-/tmp}/aitbc-mutation}"
command="${1:-test}"
case "$command" in
  preflight | test) ;;
  *)
    echo "usage: scripts/mutation.sh [preflight|test]" >&2
    exit 2
    ;;
esac
if [[ "$work" == "$root" || "$root" == "$work"/* ]]; then
  echo "AITBC_MUTATION_DIR must not be the repository or one of its parents" >&2
  exit 2
fi

rm -rf "$work"
mkdir -p "$work/node_modules/@morenabarboni"
(cd "$root" && git ls-files -co --exclude-standard -z) | (cd "$root" && xargs -0 cp --parents -t "$work")
# The postinstall hook of SuMo writes a CommonJS sumo-config.js, which Node refuses to load in this ESM package and
# which SuMo would prefer over sumo-config.json.
rm -f "$work/sumo-config.js"

for entry in "$root"/node_modules/* "$root"/node_modules/.bin; do
  name="$(basename "$entry")"
  [[ "$name" == "@morenabarboni" ]] || ln -s "$entry" "$work/node_modules/$name"
done
cp -r "$root/node_modules/@morenabarboni/sumo" "$work/node_modules/@morenabarboni/sumo"
# SuMo calls glob with a callback (glob <= 8) but does not declare it; the hoisted glob is 10.x, which has no such API.
legacy_glob="$(cd "$root" && node -e '
  const { dirname } = require("node:path");
  const { createRequire } = require("node:module");
  const fromRimraf = createRequire(require.resolve("rimraf/package.json"));
  console.log(dirname(fromRimraf.resolve("glob/package.json")));
')"
ln -s "$legacy_glob" "$work/node_modules/@morenabarboni/sumo/node_modules/glob"
# SuMo's own parser (0.15) predates `transient` storage; the project's parser (solhint's) reads Solidity 0.8.34.
rm -rf "$work/node_modules/@morenabarboni/sumo/node_modules/@solidity-parser/parser"
ln -s "$root/node_modules/@solidity-parser/parser" "$work/node_modules/@morenabarboni/sumo/node_modules/@solidity-parser/parser"

# SuMo's "custom" mode runs `npm run compile` and `npm run test` in the project: give the copy scripts that build
# once and test. Each mutant pays a full recompilation of the contracts that import it (~15 s of WebAssembly solc), so
# the fuzz and invariant budget per mutant is a quarter of `npm test`'s; AITBC_FUZZ_* from the caller override it.
fuzz="AITBC_FUZZ_RUNS=${AITBC_FUZZ_RUNS:-64} AITBC_INVARIANT_RUNS=${AITBC_INVARIANT_RUNS:-16}"
fuzz="$fuzz AITBC_INVARIANT_DEPTH=${AITBC_INVARIANT_DEPTH:-30}"
# A mutant can make a test loop until it runs out of gas; SuMo's own time-out kills npm but not the Hardhat process
# under it, so the test bounds itself first (exit 124 counts as detected, like SuMo's "timedout").
limit="timeout -k 5 120"
tests="$fuzz $limit hardhat test solidity"
if [[ "${AITBC_MUTATION_MOCHA:-0}" == "1" ]]; then
  tests="$tests && $limit hardhat test mocha test/lib/market/checklist.test.ts test/lib/money/prices.test.ts"
fi
node -e '
  const fs = require("node:fs");
  const file = process.argv[1];
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.scripts = { compile: "hardhat build --quiet", test: process.argv[2] };
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$work/package.json" "$tests"

sumo=("node" "$work/node_modules/@morenabarboni/sumo/index.js")
export APP_ROOT_PATH="$work"
cd "$work"
ops="${AITBC_MUTATION_OPS:-AOR AVR BCRD BLR CCD CSC EED LSC MOD RSD RVS UORD}"
"${sumo[@]}" disable >/dev/null
# shellcheck disable=SC2086
"${sumo[@]}" enable $ops
node -e '
  const fs = require("node:fs");
  const file = process.argv[1];
  const config = JSON.parse(fs.readFileSync(file, "utf8"));
  config.skipContracts.push(...process.argv.slice(2));
  fs.writeFileSync(file, JSON.stringify(config, null, 2) + "\n");
' "$work/sumo-config.json" ${AITBC_MUTATION_SKIP:-}
./node_modules/.bin/hardhat build --quiet
exec "${sumo[@]}" "$command"
