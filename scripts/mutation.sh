#!/usr/bin/env bash
# Mutation testing of the contracts: SuMo generates the mutants in a throwaway copy of the repository, and
# scripts/mutation-lanes.ts evaluates them in parallel lanes, each mutant against the Solidity tests of its contract.
#
# Nothing runs in the working tree: a mutated contract is written only into a lane's own copy, so an interrupted run
# leaves nothing behind in the repository and never disturbs another build of it.
#
#   scripts/mutation.sh [preflight|test]     default: test
#
# Environment:
#   AITBC_MUTATION_DIR    the copy (default: ${TMPDIR:-/tmp}/aitbc-mutation); emptied first; lanes are DIR-lane<i>
#   AITBC_MUTATION_OUT    where results.jsonl accumulates (default: docs/mutation, committed); a rerun skips the
#                         mutants already there, so a run can be continued; delete the directory to start over
#   AITBC_MUTATION_LANES  parallel lanes (default: the number of cores)
#   AITBC_MUTATION_ONLY   comma-separated contract file names to evaluate (e.g. "JobEscrow.sol,AITBCToken.sol")
#   AITBC_MUTATION_SKIP   space-separated paths under contracts/ to leave out on top of sumo-config.json
#   AITBC_MUTATION_OPS    space-separated SuMo operator ids to enable (default: the set in docs/mutation-report.md)
#   AITBC_FUZZ_RUNS, AITBC_INVARIANT_RUNS, AITBC_INVARIANT_DEPTH   the per-mutant fuzz budget (default 64, 16, 30)
#   AITBC_SOLC_OPTIMIZER  "minimal" by default here: the same semantics, faster compilation (see hardhat.config.ts)
#
# The report: node --import tsx scripts/mutation-lanes.ts report --out docs/mutation [--markdown]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${AITBC_MUTATION_DIR:-${TMPDIR:-/tmp}/aitbc-mutation}"
out="${AITBC_MUTATION_OUT:-$root/docs/mutation}"
lanes="${AITBC_MUTATION_LANES:-$(nproc)}"
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
# The lanes compile with the minimal optimizer (see hardhat.config.ts); the artifacts they start from match it.
export AITBC_SOLC_OPTIMIZER="${AITBC_SOLC_OPTIMIZER:-minimal}"
./node_modules/.bin/hardhat build --quiet
if [[ "$command" == "preflight" ]]; then
  exec "${sumo[@]}" preflight
fi
# SuMo writes every mutant to .sumo/results/mutants; the lanes evaluate them (see scripts/mutation-lanes.ts).
"${sumo[@]}" mutate >/dev/null
exec node --import tsx "$root/scripts/mutation-lanes.ts" run --work "$work" --out "$out" --lanes "$lanes" \
  ${AITBC_MUTATION_ONLY:+--only "$AITBC_MUTATION_ONLY"}
