'use strict';
// Runs Python reference baselines (torchaudio today; PyTorch training or
// inference baselines later) and reads their JSON-lines output.
//
// The interpreter is the system one by default because that is where the
// reference pipeline's torch/torchaudio live; EMO_BENCH_PYTHON overrides it
// for machines that keep them in a virtual environment.
const { spawnSync } = require('node:child_process');

const DEFAULT_PYTHON = '/usr/bin/python3';

function pythonPath() {
  return process.env.EMO_BENCH_PYTHON || DEFAULT_PYTHON;
}

// Baselines are timed on one thread to compare like for like with one native
// thread; these variables stop OpenMP/MKL/OpenBLAS pools from starting at all
// (torch.set_num_threads(1) in the script covers torch's own pool).
const SINGLE_THREAD_ENV = {
  OMP_NUM_THREADS: '1',
  MKL_NUM_THREADS: '1',
  OPENBLAS_NUM_THREADS: '1',
  PYTHONUNBUFFERED: '1',
  PYTHONDONTWRITEBYTECODE: '1',
};

const availability = new Map();

/**
 * Whether the interpreter can import every module listed, e.g. ['torch', 'torchaudio'].
 * @returns {{ok: boolean, reason?: string, versions?: object}}
 */
function checkModules(modules) {
  const key = modules.join(',');
  if (availability.has(key)) return availability.get(key);
  const code = [
    'import importlib, json',
    `mods = ${JSON.stringify(modules)}`,
    'print(json.dumps({m: getattr(importlib.import_module(m), "__version__", "?") for m in mods}))',
  ].join('\n');
  const r = spawnSync(pythonPath(), ['-c', code], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...SINGLE_THREAD_ENV } });
  let result;
  if (r.error) result = { ok: false, reason: r.error.code === 'ENOENT' ? `${pythonPath()} not found` : r.error.message };
  else if (r.status !== 0) {
    const lastLine = (r.stderr || '').trim().split('\n').pop() || `exit status ${r.status}`;
    result = { ok: false, reason: lastLine };
  } else {
    try {
      result = { ok: true, versions: JSON.parse(r.stdout.trim().split('\n').pop()) };
    } catch {
      result = { ok: true, versions: {} };
    }
  }
  availability.set(key, result);
  return result;
}

/**
 * Runs a Python script that prints one JSON object per stdout line; other
 * stdout lines are ignored. Its stderr passes through to ours (warnings and
 * progress stay visible but never touch our stdout).
 *
 * @returns {{ok: boolean, records: object[], reason?: string}}
 */
function runJsonLines(script, args = [], { timeoutMs = 300_000, env = {} } = {}) {
  const r = spawnSync(pythonPath(), [script, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 2 ** 20,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...SINGLE_THREAD_ENV, ...env },
  });
  const records = [];
  for (const line of (r.stdout || '').split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      records.push(JSON.parse(t));
    } catch {
      // a stray print from a library; not ours to parse
    }
  }
  if (r.error) return { ok: false, records, reason: r.error.code === 'ETIMEDOUT' ? `timed out after ${timeoutMs / 1000} s` : r.error.message };
  if (r.status !== 0) return { ok: false, records, reason: `exit status ${r.status}${r.signal ? ` (${r.signal})` : ''}` };
  return { ok: true, records };
}

module.exports = { pythonPath, checkModules, runJsonLines, DEFAULT_PYTHON };
