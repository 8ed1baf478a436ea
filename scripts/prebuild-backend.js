#!/usr/bin/env node
// prebuildify drives node-gyp; this stands in for it so prebuilds come from the
// same cmake-js build as `npm run build:native`. It is called as
// `<this> rebuild --target=X --devdir=D --arch=A --release` and must leave the
// addon in build/Release. Shared libraries it leaves there (the .so files) are
// copied into prebuilds/ by prebuildify, so we put libkissfft beside the addon:
// the addon's RUNPATH is $ORIGIN, so the prebuild loads on machines without it.
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

if (process.platform === 'linux') {
  // "libkissfft-float.so.131 => /usr/lib/x86_64-linux-gnu/libkissfft-float.so.131 (0x...)"
  const ldd = execFileSync('ldd', [path.join(outDir, addon)], { encoding: 'utf8' });
  const bundled = [];
  for (const line of ldd.split('\n')) {
    const match = /^\s*(libkissfft[^\s]*)\s+=>\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, soname, resolved] = match;
    if (path.dirname(resolved) === outDir) continue;
    fs.copyFileSync(fs.realpathSync(resolved), path.join(outDir, soname));
    bundled.push(soname);
  }
  if (bundled.length === 0) throw new Error('libkissfft was not found in the addon\'s dependencies; is libkissfft-dev installed?');
  // kissfft is BSD-licensed: its notice travels with the binary we ship.
  const notice = ['/usr/share/doc/libkissfft-dev/copyright', '/usr/share/doc/libkissfft-float131/copyright'].find((f) => fs.existsSync(f));
  if (notice) {
    const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${arch || process.arch}`);
    fs.mkdirSync(prebuildDir, { recursive: true });
    fs.copyFileSync(notice, path.join(prebuildDir, 'kissfft.COPYRIGHT'));
  }
  console.error(`bundled beside the addon: ${bundled.join(', ')}`);
}
