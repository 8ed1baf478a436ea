'use strict';
// Preloaded (NODE_OPTIONS=--require) into the processes the tests start, and their worker threads,
// while StrykerJS runs the suite (see ./stryker-children.js). The mutant under test reaches them
// through the environment (the instrumented code reads __STRYKER_ACTIVE_MUTANT__); this file sends
// back which mutants their code reached, so that the tests that start them count as covering those
// mutants. Without StrykerJS it is never loaded.
const fs = require('node:fs');
const path = require('node:path');
const { BroadcastChannel, isMainThread, threadId } = require('node:worker_threads');

const CHANNEL = 'emo-stryker-coverage';
const dir = process.env.EMO_STRYKER_COVERAGE_DIR;

/** Every mutant this thread's code reached so far (a thread of a started process has no current test). */
function reached() {
  const coverage = globalThis.__stryker__?.mutantCoverage;
  if (!coverage) return {};
  const all = { ...coverage.static };
  for (const perTest of Object.values(coverage.perTest ?? {})) Object.assign(all, perTest);
  return all;
}

if (dir && !isMainThread) {
  // A worker thread: its coverage goes to its process's main thread, now and then and at its end.
  const channel = new BroadcastChannel(CHANNEL);
  channel.unref();
  const send = () => channel.postMessage(reached());
  setInterval(send, 200).unref();
  process.on('exit', send);
} else if (dir) {
  // A started process: its own coverage and its threads', written to a file when it exits.
  const started = Date.now();
  const fromThreads = {};
  const channel = new BroadcastChannel(CHANNEL);
  channel.unref();
  channel.onmessage = ({ data }) => Object.assign(fromThreads, data);
  process.on('exit', () => {
    const mutants = { ...fromThreads, ...reached() };
    if (Object.keys(mutants).length === 0) return;
    fs.writeFileSync(path.join(dir, `${process.pid}-${threadId}-${started}.json`), JSON.stringify({ started, ended: Date.now(), mutants }));
  });
}
