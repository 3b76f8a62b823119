// The rules of the house, checked on the source tree: layers import only downward, no two folders
// import each other, small files, one file-naming style.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

/** Lower layers first; a file may import from its own layer or one listed before it. */
const LAYERS = ['engine', 'media', 'queue', 'metrics', 'discord', 'commands', 'cli', 'app', '.'];

function files(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === 'node_modules' || entry.name === 'fixtures' ? [] : files(path, pattern);
    return pattern.test(entry.name) ? [path] : [];
  });
}

const SOURCES = files(SRC, /\.(ts|mjs)$/);
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bnew URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Every relative import in src/ as [importing file, imported file]. */
function imports(): Array<[string, string]> {
  return SOURCES.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(SPECIFIER)].map((m): [string, string] => [
      file,
      resolve(dirname(file), m[1]),
    ]),
  );
}

const folderOf = (file: string) => relative(SRC, dirname(file)) || '.';
const layerOf = (file: string) => {
  const top = relative(SRC, file).split('/')[0];
  return top.includes('.') ? '.' : top;
};

test('every folder of src/ is a known layer', () => {
  const unknown = [...new Set(SOURCES.map(layerOf))].filter((layer) => !LAYERS.includes(layer));
  assert.deepEqual(unknown, [], `add these folders to LAYERS in test/house.test.ts: ${unknown.join(', ')}`);
});

test('layers import only downward, and nothing outside src/', () => {
  const upward = imports()
    .filter(([from, to]) => !to.startsWith(SRC) || LAYERS.indexOf(layerOf(to)) > LAYERS.indexOf(layerOf(from)))
    .map(([from, to]) => `${relative(ROOT, from)} -> ${relative(ROOT, to)}`);
  assert.deepEqual(upward, []);
});

test('no two folders import each other, directly or around a cycle', () => {
  const edges = new Map<string, Set<string>>();
  for (const [from, to] of imports()) {
    const a = folderOf(from);
    const b = folderOf(to);
    if (a !== b) edges.set(a, (edges.get(a) ?? new Set()).add(b));
  }
  const cycles: string[] = [];
  const visit = (node: string, path: string[]) => {
    for (const next of edges.get(node) ?? []) {
      if (next === path[0]) cycles.push([...path, next].join(' -> '));
      else if (!path.includes(next) && next > path[0]) visit(next, [...path, next]);
    }
  };
  for (const start of edges.keys()) visit(start, [start]);
  assert.deepEqual(cycles, []);
});

test('only the engine touches onnxruntime: the layers above it are told what a run did, they do not open its sessions', () => {
  const outside = SOURCES.filter(
    (file) => layerOf(file) !== 'engine' && /from 'onnxruntime-node'/.test(readFileSync(file, 'utf8')),
  );
  assert.deepEqual(
    outside.map((file) => relative(ROOT, file)),
    [],
  );
});

test('no source file is over 300 lines', () => {
  const long = SOURCES.map(
    (file) => [relative(ROOT, file), readFileSync(file, 'utf8').split('\n').length - 1] as const,
  ).filter(([, n]) => n > 300);
  assert.deepEqual(long, []);
});

test('one file-naming style: lower-case words joined by hyphens', () => {
  const all = [
    ...SOURCES,
    ...files(join(ROOT, 'test'), /\.(ts|mjs)$/),
    ...files(join(ROOT, 'bench'), /\.ts$/),
    ...files(join(ROOT, 'deploy'), /\.ts$/),
  ];
  const odd = all
    .map((file) => relative(ROOT, file))
    .filter((path) => !/^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+)*\.(ts|mjs)$/.test(path.split('/').pop()!));
  assert.deepEqual(odd, []);
});

test('every folder under src/ has a README that names each of its files', () => {
  const folders = [...new Set(SOURCES.map((file) => dirname(file)))].filter((dir) => dir !== SRC);
  const missing: string[] = [];
  for (const dir of folders) {
    let readme = '';
    try {
      readme = readFileSync(join(dir, 'README.md'), 'utf8');
    } catch {
      missing.push(`${relative(ROOT, dir)}/README.md`);
      continue;
    }
    for (const file of readdirSync(dir).filter((name) => /\.(ts|mjs)$/.test(name))) {
      if (!readme.includes(file.replace(/\.(ts|mjs)$/, ''))) missing.push(`${relative(ROOT, dir)}/README.md: ${file}`);
    }
  }
  assert.deepEqual(missing, []);
});
