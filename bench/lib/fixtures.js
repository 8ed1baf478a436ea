'use strict';
// What several suites need besides audio: the reference network with random weights as an .onnx
// file (speed does not depend on the weights), and long-running child processes (a server, Redis,
// workers) started, awaited and stopped.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

/** Exports the reference network (seed 1, random weights) to `file`; returns `file`. */
async function writeRandomModel(file) {
  const tf = require('@tensorflow/tfjs-core');
  const nn = require(path.join(__dirname, '..', '..', 'dist', 'nn'));
  await tf.setBackend('emo-native');
  const model = nn.createModel({ seed: 1 });
  fs.writeFileSync(file, await nn.exportOnnx(model, { mean: Array(128).fill(-50), std: Array(128).fill(10) }, { verify: false }));
  model.dispose();
  return file;
}

/** A free TCP port on loopback. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a long-running process; `log()` is its stdout and stderr so far, `stop()` sends SIGTERM and waits. */
function start(command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  return { child, log: () => log, stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM')))) };
}

/** Waits until the process's log matches `pattern`; resolves with the match, rejects if it exits or after `seconds`. */
function waitFor(started, pattern, seconds) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + seconds * 1000;
    const poll = setInterval(() => {
      const m = pattern.exec(started.log());
      if (m) {
        clearInterval(poll);
        resolve(m);
      } else if (started.child.exitCode !== null || Date.now() > deadline) {
        clearInterval(poll);
        reject(new Error(`${pattern} not seen: ${started.log().trim().slice(-300)}`));
      }
    }, 20);
  });
}

module.exports = { freePort, start, waitFor, writeRandomModel };
