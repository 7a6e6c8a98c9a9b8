#!/usr/bin/env node
// Fails when the compiled services or libs import each other in a cycle ("no circular imports").
// Reads dist/ (built first), where type-only imports are already gone and aliases are relative paths.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const dist = join(root, 'dist');

function files(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (name.endsWith('.js') && !name.endsWith('.spec.js')) out.push(path);
  }
  return out;
}

function resolveLocal(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.js`, join(base, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

const graph = new Map();
for (const dir of ['services', 'libs'].map((d) => join(dist, d)).filter(existsSync)) {
  for (const file of files(dir)) {
    const deps = [...readFileSync(file, 'utf8').matchAll(/require\("(\.[^"]+)"\)/g)]
      .map((m) => resolveLocal(file, m[1]))
      .filter(Boolean);
    graph.set(file, deps);
  }
}

const state = new Map(); // 1 = on the stack, 2 = done
const cycles = [];
function visit(node, stack) {
  state.set(node, 1);
  stack.push(node);
  for (const dep of graph.get(node) ?? []) {
    if (state.get(dep) === 1) cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
    else if (!state.has(dep)) visit(dep, stack);
  }
  stack.pop();
  state.set(node, 2);
}
for (const node of graph.keys()) if (!state.has(node)) visit(node, []);

if (cycles.length) {
  for (const cycle of cycles)
    console.error(`import cycle: ${cycle.map((f) => relative(dist, f)).join(' → ')}`);
  process.exit(1);
}
console.log(`no import cycles (${graph.size} modules)`);
