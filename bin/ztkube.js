#!/usr/bin/env node
// Entry point of the ztkube CLI: the compiled TypeScript lives in dist/ (npm run build).
import { main } from '../dist/agent/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
