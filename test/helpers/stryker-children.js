'use strict';
// Root hooks for runs under StrykerJS (`npm run mutate`); without it they do nothing.
//
// StrykerJS's mocha runner activates the mutant under test in the mocha process only, and counts
// coverage there only. Much of this package is exercised in processes the tests start (`emo …`,
// queue workers, servers) and in worker threads (onnxruntime sessions, training folds): mutants
// there would never be run, or never be killed. So before each test the active mutant goes into
// the environment those processes and threads inherit, and ./stryker-child.js, preloaded into
// them, sends back the mutants they reached: a worker thread of this process at once (credited to
// the running test), a started process when it exits (credited to every test that ran while it
// lived).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { BroadcastChannel } = require('node:worker_threads');

const ACTIVE = '__STRYKER_ACTIVE_MUTANT__';
const stryker = () => globalThis.__stryker__;
let dir = null;
let channel = null;
const tests = []; // { id, started, ended } of the tests run so far

/** Adds `mutants` (id → hits) to the coverage of `testId` (static coverage without one). */
function credit(testId, mutants) {
  const ns = stryker();
  if (!ns?.mutantCoverage) return;
  const target = testId === undefined ? ns.mutantCoverage.static : (ns.mutantCoverage.perTest[testId] ??= {});
  for (const [id, hits] of Object.entries(mutants)) target[id] = (target[id] ?? 0) + hits;
}

/** The coverage files of the processes that have exited, each credited to the tests of its lifetime. */
function collect() {
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    const { started, ended, mutants } = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.rmSync(file);
    const during = tests.filter((t) => t.started <= ended && (t.ended ?? Infinity) >= started);
    if (during.length === 0) credit(undefined, mutants);
    for (const t of during) credit(t.id, mutants);
  }
}

function exportMutant() {
  const ns = stryker();
  if (ns.activeMutant === undefined) delete process.env[ACTIVE];
  else process.env[ACTIVE] = String(ns.activeMutant);
}

const mochaHooks = {
  beforeAll() {
    if (!stryker()) return;
    if (dir === null) {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-stryker-'));
      process.env.EMO_STRYKER_COVERAGE_DIR = dir;
      const preload = `--require ${JSON.stringify(path.join(__dirname, 'stryker-child.js'))}`;
      process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' ');
      channel = new BroadcastChannel('emo-stryker-coverage');
      channel.unref();
      channel.onmessage = ({ data }) => credit(stryker().currentTestId, data);
    }
    exportMutant();
  },
  beforeEach() {
    if (!stryker()) return;
    exportMutant();
    tests.push({ id: this.currentTest.fullTitle(), started: Date.now(), ended: undefined });
  },
  afterEach() {
    if (!stryker()) return;
    const last = tests.at(-1);
    if (last) last.ended = Date.now();
    collect();
  },
  afterAll() {
    if (stryker() && dir !== null) collect();
  },
};

module.exports = { mochaHooks };
