#!/usr/bin/env node
// prebuildify drives node-gyp; this stands in for it so prebuilds come from the
// same cmake-js build as `npm run build:native`. It is called as
// `<this> rebuild --target=X --devdir=D --arch=A --release` and must leave the
// addon in build/Release. Shared libraries it leaves there (the .so files) are
// copied into prebuilds/ by prebuildify, so we put libkissfft, libdnnl and their
// runtime beside the addon: the addon's RUNPATH is $ORIGIN, so the prebuild
// loads on machines without them.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const arch = (args.find((a) => a.startsWith('--arch=')) || '').slice('--arch='.length);
const debug = args.includes('--debug');

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const buildArgs = [cmakeJs, 'rebuild', '--out', 'build'];
if (arch) buildArgs.push('--arch', arch);
if (debug) buildArgs.push('--debug');
execFileSync(process.execPath, buildArgs, { cwd: root, stdio: 'inherit' });

const outDir = path.join(root, 'build', debug ? 'Debug' : 'Release');
const addon = fs.readdirSync(outDir).find((f) => f.endsWith('.node'));
if (!addon) throw new Error(`no .node file in ${outDir}`);

// Libraries the addon needs that a user's machine may lack, with the license
// notice that travels with each copy. oneDNN needs its OpenMP runtime and (as
// Debian builds it) the OpenCL loader; CMakeLists.txt makes both direct
// dependencies of the addon, so the loader finds them through $ORIGIN too.
const BUNDLED = [
  { pattern: /^libkissfft/, required: 'libkissfft-dev', notice: 'kissfft.COPYRIGHT',
    docs: ['/usr/share/doc/libkissfft-dev/copyright', '/usr/share/doc/libkissfft-float131/copyright'] },
  { pattern: /^libdnnl/, required: 'libdnnl-dev', notice: 'oneDNN.COPYRIGHT',
    docs: ['/usr/share/doc/libdnnl2/copyright', '/usr/share/doc/libdnnl-dev/copyright'] },
  { pattern: /^libgomp/, notice: 'libgomp.COPYRIGHT', docs: ['/usr/share/doc/libgomp1/copyright'] },
  { pattern: /^libOpenCL/, notice: 'ocl-icd.COPYRIGHT', docs: ['/usr/share/doc/ocl-icd-libopencl1/copyright'] },
];

if (process.platform === 'linux') {
  // "libkissfft-float.so.131 => /usr/lib/x86_64-linux-gnu/libkissfft-float.so.131 (0x...)"
  const ldd = execFileSync('ldd', [path.join(outDir, addon)], { encoding: 'utf8' });
  const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${arch || process.arch}`);
  const bundled = [];
  for (const line of ldd.split('\n')) {
    const match = /^\s*(\S+)\s+=>\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, soname, resolved] = match;
    const entry = BUNDLED.find((b) => b.pattern.test(soname));
    if (!entry || path.dirname(resolved) === outDir) continue;
    fs.copyFileSync(fs.realpathSync(resolved), path.join(outDir, soname));
    bundled.push(soname);
    const notice = entry.docs.find((f) => fs.existsSync(f));
    if (notice) {
      fs.mkdirSync(prebuildDir, { recursive: true });
      fs.copyFileSync(notice, path.join(prebuildDir, entry.notice));
    }
    entry.found = true;
  }
  for (const entry of BUNDLED) {
    if (entry.required && !entry.found && !fs.readdirSync(outDir).some((f) => entry.pattern.test(f))) {
      throw new Error(`${entry.pattern} was not found in the addon's dependencies; is ${entry.required} installed?`);
    }
  }
  console.error(`bundled beside the addon: ${bundled.join(', ')}`);
}
