/**
 * The layering of docs/design.md, checked on the sources: every non-test .ts under src/ is parsed
 * (TypeScript's own pre-processor, so `import type`, `export ... from` and `import()` all count) and
 * - no file imports a folder of a higher layer: mechanism (packet/, dataplane/) < features (switch/,
 *   policy/, offload/, queues/, ports/) < engine/ < runtime/ < control/; so the datapath and the runtime
 *   never know the config file, the API or the CLI;
 * - the folders import each other without a cycle (bench/, testing/, e2e/ included);
 * - no two files import each other, directly or around a longer loop.
 * Tests are left out: a test may reach up to build its rig.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));

/** Layer of each folder of the datapath stack, bottom up; folders not listed sit on top of all. */
const kLayer: Record<string, number> = {
  packet: 0,
  dataplane: 0,
  switch: 1,
  policy: 1,
  offload: 1,
  queues: 1,
  ports: 1,
  engine: 2,
  runtime: 3,
  control: 4,
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** file (relative to src/) -> the relative files it imports (relative to src/). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(srcDir)) {
    const rel = relative(srcDir, file);
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((n) => n.startsWith('.'))
      .map((n) => normalize(join(dirname(rel), n)).replace(/\.js$/, '.ts'));
    graph.set(rel, targets);
  }
  return graph;
}

const folderOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '.');

/** One cycle of a directed graph, or null. */
function findCycle(graph: Map<string, Iterable<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

test('no folder imports a higher layer (the datapath and the runtime know nothing of control/)', () => {
  const up: string[] = [];
  for (const [file, targets] of importGraph()) {
    const from = kLayer[folderOf(file)];
    if (from === undefined) continue;
    for (const t of targets) {
      const to = kLayer[folderOf(t)] ?? Infinity;
      if (to > from) up.push(`${file} -> ${t}`);
    }
  }
  assert.deepEqual(up, [], `imports that run up the layers:\n${up.join('\n')}`);
});

test('the folders import each other without a cycle', () => {
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of importGraph()) {
    const f = folderOf(file);
    const out = folders.get(f) ?? folders.set(f, new Set()).get(f)!;
    for (const t of targets) if (folderOf(t) !== f) out.add(folderOf(t));
  }
  const cycle = findCycle(folders);
  assert.equal(cycle, null, `folder cycle: ${cycle?.join(' -> ')}`);
});

test('no import cycle between files', () => {
  const cycle = findCycle(importGraph());
  assert.equal(cycle, null, `file cycle: ${cycle?.join(' -> ')}`);
});

test('the checker sees what it checks: a known downward import and a made-up cycle', () => {
  const g = importGraph();
  assert.ok(g.get('engine/worker.ts')?.includes('engine/engine.ts'), 'engine/worker.ts imports engine/engine.ts');
  assert.ok(
    (g.get('control/managed-switch.ts') ?? []).some((t) => t.startsWith('runtime/')),
    'control drives the runtime',
  );
  assert.deepEqual(
    findCycle(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
      ]),
    ),
    ['a', 'b', 'c', 'a'],
  );
});
