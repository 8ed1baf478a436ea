#!/usr/bin/env node
'use strict';
// Mutation testing of the native code: `npm run mutate:native [-- id...]`.
//
// Applies each mutant of test/native/mutants.json in turn (one realistic bug in src/ or binding/),
// rebuilds the addon, runs the test files of the mutant's group, and restores the source. A mutant
// whose tests still pass has survived: the run lists it and exits 1. A mutant that does not build,
// or whose text is not found exactly once, is an error in the list (exit 2). The addon is rebuilt
// from the restored sources at the end, also after Ctrl-C. Writes reports/native-mutants.json.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const LIST = path.join(ROOT, 'test', 'native', 'mutants.json');
const REPORT = path.join(ROOT, 'reports', 'native-mutants.json');
// A mutant's tests may take this many times their normal time before it counts as killed (a hang).
const TEST_TIMEOUT_MS = 10 * 60_000;

function run(command, args, timeout) {
  const started = Date.now();
  const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { status: r.status, signal: r.signal, output: `${r.stdout ?? ''}${r.stderr ?? ''}`, seconds: (Date.now() - started) / 1000 };
}

const build = () => run('npx', ['cmake-js', 'compile', '--out', 'build'], 30 * 60_000);

function main() {
  const { groups, mutants: all } = JSON.parse(fs.readFileSync(LIST, 'utf8'));
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((id) => !all.some((m) => m.id === id));
  if (unknown.length > 0) {
    console.error(`no such mutant: ${unknown.join(', ')}`);
    return 2;
  }
  const mutants = wanted.length > 0 ? all.filter((m) => wanted.includes(m.id)) : all;
  // Every mutant is checked before any runs: a list that no longer matches the sources is an error.
  const originals = new Map();
  for (const m of mutants) {
    const file = path.join(ROOT, m.file);
    if (!originals.has(file)) originals.set(file, fs.readFileSync(file, 'utf8'));
    const count = originals.get(file).split(m.from).length - 1;
    if (count !== 1) {
      console.error(`mutant ${m.id}: its text occurs ${count} times in ${m.file}, not once`);
      return 2;
    }
    if (!groups[m.group]) {
      console.error(`mutant ${m.id}: no test group '${m.group}'`);
      return 2;
    }
  }
  const restore = () => {
    for (const [file, text] of originals) if (fs.readFileSync(file, 'utf8') !== text) fs.writeFileSync(file, text);
  };
  process.on('SIGINT', () => {
    restore();
    console.error('\ninterrupted: sources restored; rebuilding the addon');
    build();
    process.exit(130);
  });

  const results = [];
  const started = Date.now();
  let broken = false;
  try {
    for (const [i, m] of mutants.entries()) {
      const file = path.join(ROOT, m.file);
      const original = originals.get(file);
      fs.writeFileSync(file, original.replace(m.from, () => m.to));
      let result;
      try {
        const compiled = build();
        if (compiled.status !== 0) {
          result = { id: m.id, status: 'build error', seconds: compiled.seconds, detail: compiled.output.slice(-2000) };
          broken = true;
        } else {
          const tests = run('npx', ['mocha', ...groups[m.group]], TEST_TIMEOUT_MS);
          const failing = /(\d+) failing/.exec(tests.output);
          const status = tests.signal === 'SIGTERM' ? 'killed (timeout)' : tests.status === 0 ? 'survived' : 'killed';
          result = { id: m.id, status, seconds: compiled.seconds + tests.seconds, failing: failing ? Number(failing[1]) : 0 };
          if (status === 'killed' && tests.status !== 1 && !failing) result.status = `killed (exit ${tests.status ?? tests.signal})`;
        }
      } finally {
        fs.writeFileSync(file, original);
      }
      results.push({ ...result, file: m.file, kind: m.kind });
      console.log(`[${i + 1}/${mutants.length}] ${m.id.padEnd(28)} ${result.status.padEnd(18)} ${result.seconds.toFixed(0).padStart(4)} s${result.failing ? `  (${result.failing} failing)` : ''}`);
      if (result.status === 'build error') console.log(result.detail);
    }
  } finally {
    restore();
    const rebuilt = build();
    if (rebuilt.status !== 0) {
      console.error(`the addon did not rebuild from the restored sources:\n${rebuilt.output.slice(-2000)}`);
      broken = true;
    }
  }
  const survived = results.filter((r) => r.status === 'survived');
  const killed = results.filter((r) => r.status.startsWith('killed'));
  fs.mkdirSync(path.dirname(REPORT), { recursive: true });
  fs.writeFileSync(REPORT, `${JSON.stringify({ killed: killed.length, survived: survived.length, seconds: (Date.now() - started) / 1000, results }, null, 2)}\n`);
  console.log(`\n${killed.length} of ${results.length} mutants killed in ${((Date.now() - started) / 60_000).toFixed(1)} min${survived.length ? `; survived: ${survived.map((r) => r.id).join(', ')}` : ''}`);
  if (broken) return 2;
  return survived.length > 0 ? 1 : 0;
}

process.exitCode = main();
