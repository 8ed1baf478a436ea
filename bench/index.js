'use strict';
// Benchmark harness for emo-native.
//
//   npm run bench                       every suite, readable table at the end
//   npm run bench -- dsp                one suite (several names allowed)
//   npm run -s bench -- dsp --json      one JSON line per measurement on stdout
//   npm run bench -- --list             the suites and what they measure
//
// A suite is bench/suites/<name>.js exporting { name, description, run(ctx) };
// dropping a file there is all it takes to add one (see README.md).
// Benchmarks never fail on a time: the exit status is 0 unless a suite throws
// (1) or the command line is wrong (2).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const timing = require('./lib/timing');
const audio = require('./lib/audio');
const env = require('./lib/env');
const python = require('./lib/python');

const SUITES_DIR = path.join(__dirname, 'suites');

const USAGE = `Usage: node bench/index.js [suite...] [--previous DIR] [--json] [--list] [--help]
       npm run bench -- [suite...] [--previous DIR] [--json] [--list]

  suite...  suites to run (default: all), see --list
  --previous DIR
            a built earlier release of emo-native (a checkout with dist/ and
            node_modules, or an installed package): the train suite times its
            training step alternately with this one's and reports the ratio
  --json    print each measurement as one JSON line on stdout, as it is taken;
            notes and progress go to stderr. Use "npm run -s bench -- ... --json"
            (or node directly) so npm's own banner stays off stdout.
  --list    list the suites and exit
  --help    this text`;

function parseArgs(argv) {
  const opts = { suites: [], json: false, list: false, help: false, previous: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--previous' || arg.startsWith('--previous=')) {
      const dir = arg === '--previous' ? argv[++i] : arg.slice('--previous='.length);
      if (!dir) throw new UsageError('--previous needs a directory');
      if (!fs.existsSync(path.join(dir, 'dist', 'nn'))) throw new UsageError(`--previous ${dir}: no built emo-native there (dist/nn is missing)`);
      opts.previous = path.resolve(dir);
    } else if (arg === '--json') opts.json = true;
    else if (arg === '--list') opts.list = true;
    else if (arg === '--help' || arg === '-h') opts.help = true;
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else opts.suites.push(arg);
  }
  return opts;
}

class UsageError extends Error {}

/** Every suites/*.js, validated, sorted by name so "all" has a stable order. */
function loadSuites() {
  const suites = new Map();
  const files = fs.existsSync(SUITES_DIR) ? fs.readdirSync(SUITES_DIR).filter((f) => f.endsWith('.js')).sort() : [];
  for (const file of files) {
    const suite = require(path.join(SUITES_DIR, file));
    const where = `bench/suites/${file}`;
    if (!suite || typeof suite.name !== 'string' || !suite.name) throw new Error(`${where}: must export a non-empty string "name"`);
    if (typeof suite.run !== 'function') throw new Error(`${where}: must export an async function "run(ctx)"`);
    if (suites.has(suite.name)) throw new Error(`${where}: suite name "${suite.name}" is already taken`);
    suites.set(suite.name, { description: '', ...suite });
  }
  return suites;
}

/** Rounds to 4 significant digits: more would be noise, and lines stay short. */
function round(x) {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(4));
}

function roundExtra(extra) {
  const out = {};
  for (const [k, v] of Object.entries(extra)) out[k] = typeof v === 'number' ? round(v) : v;
  return out;
}

const RESERVED = new Set(['suite', 'name', 'value', 'unit']);

/** Collects measurements and notes, and in JSON mode streams them out immediately. */
class Recorder {
  constructor({ json }) {
    this.json = json;
    this.results = [];
    this.notes = [];
    this.failures = [];
  }

  report(suite, name, value, unit, extra = {}) {
    if (typeof name !== 'string' || !name) throw new TypeError(`report: name must be a non-empty string`);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`report "${name}": value must be a finite number, got ${value}`);
    if (typeof unit !== 'string' || !unit) throw new TypeError(`report "${name}": unit must be a non-empty string`);
    if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw new TypeError(`report "${name}": extra must be a plain object`);
    for (const k of Object.keys(extra)) if (RESERVED.has(k)) throw new TypeError(`report "${name}": extra may not redefine "${k}"`);
    if (this.results.some((r) => r.suite === suite && r.name === name)) process.stderr.write(`[${suite}] warning: "${name}" reported twice\n`);
    // Key order is part of the format: suite, name, value, unit, then extras.
    const record = { suite, name, value: round(value), unit, ...roundExtra(extra) };
    this.results.push(record);
    if (this.json) process.stdout.write(`${JSON.stringify(record)}\n`);
    else process.stderr.write(`[${suite}] ${name}: ${record.value} ${unit}\n`);
  }

  note(suite, text) {
    const lines = String(text).split('\n');
    for (const line of lines) this.notes.push({ suite, text: line });
    // Notes are shown as they come (stderr) in both modes; the table repeats them at the end.
    for (const line of lines) process.stderr.write(`[${suite ?? 'env'}] note: ${line}\n`);
  }
}

function pad(s, width, right = false) {
  s = String(s);
  return right ? s.padStart(width) : s.padEnd(width);
}

function formatDetail(record) {
  const parts = [];
  for (const [k, v] of Object.entries(record)) if (!RESERVED.has(k)) parts.push(`${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  return parts.join(', ');
}

/** The human-readable summary printed at the end of a non-JSON run. */
function renderTable(recorder, suitesRun) {
  const rows = recorder.results.map((r) => [r.suite, r.name, String(r.value), r.unit, formatDetail(r)]);
  const head = ['suite', 'measurement', 'value', 'unit', 'detail'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i], i === 2)))
      .join('  ')
      .trimEnd();
  const out = [];
  out.push('');
  out.push(`emo-native benchmarks: ${suitesRun.join(', ')}`);
  out.push('');
  if (rows.length) {
    out.push(line(head));
    out.push(line(widths.map((w) => '-'.repeat(w))));
    for (const r of rows) out.push(line(r));
  } else out.push('(no measurements)');
  if (recorder.notes.length) {
    out.push('');
    out.push('Notes:');
    for (const n of recorder.notes) out.push(`  ${n.suite ? `[${n.suite}] ` : ''}${n.text}`);
  }
  if (recorder.failures.length) {
    out.push('');
    out.push('Failed suites:');
    for (const f of recorder.failures) out.push(`  ${f.suite}: ${f.message}`);
  }
  return `${out.join('\n')}\n`;
}

/** One temporary directory per run, created on first use and removed on exit. */
function makeTmpdir() {
  let dir = null;
  const cleanup = () => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      cleanup();
      process.exit(128 + (os.constants.signals[sig] || 0));
    });
  }
  return () => {
    if (!dir) dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-bench-'));
    return dir;
  };
}

let emo; // the package under test, loaded once on first use

/** What a suite's run(ctx) receives. */
function makeContext(suiteName, recorder, opts, tmpdir) {
  return {
    suite: suiteName,
    json: opts.json,
    /** Records one measurement: ctx.report('melChunks 1 thread', 2.61, 'ms/clip', { min: 2.5 }). */
    report: (name, value, unit, extra) => recorder.report(suiteName, name, value, unit, extra),
    /** Something a reader should know next to the numbers (shown under the table; stderr in JSON mode). */
    note: (text) => recorder.note(suiteName, text),
    /** Progress for the impatient; stderr only, never in the summary. */
    log: (text) => process.stderr.write(`[${suiteName}] ${text}\n`),
    timeIt: timing.timeIt,
    timeItAsync: timing.timeItAsync,
    summarize: timing.summarize,
    now: timing.nowNs,
    msSince: timing.msSince,
    /** Deterministic test audio: makeTestWav, speechLike, encodeWav, prng. */
    audio,
    environment: env.environment,
    python,
    /** The directory given with --previous (an earlier release to compare against), or null. */
    previous: opts.previous,
    /** A per-run scratch directory under os.tmpdir(), removed when the process exits. */
    tmpdir,
    /** The package under test, i.e. require('..') from bench/. */
    get emo() {
      if (!emo) emo = require('..');
      return emo;
    },
  };
}

async function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const suites = loadSuites();
  if (opts.list) {
    const width = Math.max(0, ...[...suites.keys()].map((k) => k.length));
    for (const [name, s] of suites) process.stdout.write(`${pad(name, width)}  ${s.description}\n`);
    return 0;
  }
  const unknown = opts.suites.filter((n) => !suites.has(n));
  if (unknown.length) {
    process.stderr.write(`bench: unknown suite ${unknown.join(', ')}; available: ${[...suites.keys()].join(', ') || '(none)'}\n`);
    return 2;
  }
  const selected = opts.suites.length ? [...new Set(opts.suites)] : [...suites.keys()];

  if (opts.json) {
    // stdout carries only measurement lines; anything a suite or a library
    // logs through console goes to stderr so the stream stays parseable.
    for (const m of ['log', 'info', 'debug']) console[m] = (...a) => console.error(...a);
  }

  const recorder = new Recorder(opts);
  const tmpdir = makeTmpdir();
  for (const line of env.environmentNotes()) recorder.note(null, line);

  for (const name of selected) {
    const suite = suites.get(name);
    const ctx = makeContext(name, recorder, opts, tmpdir);
    const start = timing.nowNs();
    process.stderr.write(`[${name}] running: ${suite.description}\n`);
    try {
      await suite.run(ctx);
      process.stderr.write(`[${name}] done in ${(timing.msSince(start) / 1000).toFixed(1)} s\n`);
    } catch (e) {
      // One broken suite must not hide the others' results.
      recorder.failures.push({ suite: name, message: e && e.message ? e.message : String(e) });
      process.stderr.write(`[${name}] FAILED: ${e && e.stack ? e.stack : e}\n`);
    }
  }

  if (!opts.json) process.stdout.write(renderTable(recorder, selected));
  return recorder.failures.length ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`bench: ${e && e.stack ? e.stack : e}\n`);
      process.exitCode = 1;
    },
  );
}

module.exports = { main, parseArgs, loadSuites, renderTable, Recorder };
