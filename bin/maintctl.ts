#!/usr/bin/env node
/** The `maintctl` CLI's entry (bundled to dist/maintctl.mjs by `npm run build`). */
import { main } from '../cli/main.js';

process.exitCode = await main(process.argv.slice(2));
