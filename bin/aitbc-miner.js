#!/usr/bin/env node
// The miner's relayer as a command: the compiled relayer/main.ts (flags, config file and environment as documented
// in docs/MINER.md). Built into dist/ by `npm run release`.
import "../dist/relayer/main.js";
