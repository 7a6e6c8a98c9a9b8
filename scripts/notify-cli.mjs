#!/usr/bin/env node
// The `notify` command (package.json "bin"; `npx notify` in the repository): the compiled entry of
// services/cli. A plain script so that it runs from a fresh clone and says what to do when unbuilt.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const main = new URL('../dist/services/cli/src/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("notify: not built yet: run 'npm run build' in the repository first\n");
  process.exit(1);
}
await import(pathToFileURL(main.pathname).href);
