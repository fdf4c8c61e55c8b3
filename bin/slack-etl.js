#!/usr/bin/env node
// Entry point: everything lives in lib/cli (compiled to dist/); this file only runs it.
import { main } from '../dist/lib/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
