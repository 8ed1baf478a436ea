'use strict';
// Describes the machine a run happened on, so numbers from different runs can
// be told apart. Kept free of paths and host names: results get pasted into
// issues and pull requests.
const fs = require('node:fs');
const os = require('node:os');

function cpuModel() {
  // /proc/cpuinfo names the CPU even where os.cpus() reports a generic string;
  // other platforms fall back to os.cpus().
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim().replace(/\s+/g, ' ');
  } catch {
    // not Linux, or /proc not mounted
  }
  const cpus = os.cpus();
  return cpus.length ? cpus[0].model.trim() : 'unknown';
}

let cached;
function environment() {
  if (cached) return cached;
  const parallelism = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  cached = {
    cpu: cpuModel(),
    logicalCpus: os.cpus().length,
    availableParallelism: parallelism,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
  };
  return cached;
}

/** The environment as short human-readable lines. */
function environmentNotes() {
  const e = environment();
  return [
    `CPU: ${e.cpu}`,
    `CPUs: ${e.logicalCpus} logical, ${e.availableParallelism} available to this process; memory ${e.memoryGiB} GiB`,
    `Node ${e.node} (V8 ${e.v8}) on ${e.platform}`,
  ];
}

module.exports = { environment, environmentNotes, cpuModel };
