'use strict';
const assert = require('node:assert/strict');
const { skipBecause } = require('./helpers/skips');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);

// `npm run prebuilds` (run by CI before the tests) makes prebuilds/<platform>-<arch>/.
describe('prebuilds', function () {
  before(function () {
    if (!fs.existsSync(prebuildDir)) {
      return skipBecause(this, `no ${path.relative(root, prebuildDir)} (run 'npm run prebuilds' first)`);
    }
  });

  it('load from a package copy that has no build/ folder, with their own libkissfft', function () {
    const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-prebuild-'));
    try {
      for (const item of ['package.json', 'dist', 'prebuilds']) fs.cpSync(path.join(root, item), path.join(pkg, item), { recursive: true });
      fs.cpSync(path.join(root, 'node_modules', 'node-gyp-build'), path.join(pkg, 'node_modules', 'node-gyp-build'), { recursive: true });
      const addon = fs.readdirSync(path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`)).find((f) => f.endsWith('.node'));
      assert.ok(addon, 'a .node file in the prebuild folder');
      const addonPath = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, addon);

      if (process.platform === 'linux') {
        // Resolved through RUNPATH=$ORIGIN to the copy shipped beside the addon, not /usr/lib.
        const ldd = execFileSync('ldd', [addonPath], { encoding: 'utf8' });
        const line = ldd.split('\n').find((l) => l.includes('libkissfft'));
        assert.ok(line, ldd);
        assert.ok(line.includes(path.dirname(addonPath)), `kissfft must resolve into the prebuild folder: ${line.trim()}`);
      }

      const script = `
        const emo = require(${JSON.stringify(pkg)});
        const x = new Float32Array(48000 * 4).map((_, i) => Math.sin(i / 10));
        const { shape } = emo.melChunks(x);
        const loaded = Object.keys(require.cache).find((f) => f.endsWith('.node'));
        process.stdout.write(JSON.stringify({ shape, loaded }));`;
      const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
      assert.deepEqual(out.shape, [7, 128, 128]);
      assert.equal(out.loaded, addonPath);
    } finally {
      fs.rmSync(pkg, { recursive: true, force: true });
    }
  });
});
