'use strict';
// What a maintainer expects of the repository itself: a licence that matches package.json, a
// changelog, one seeded generator and one validation module, and sources that point nowhere
// outside the package.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const pkg = require('../package.json');

function sources(dir) {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js|cpp|hpp|py)$/.test(e.name))
    .map((e) => path.relative(root, path.join(e.parentPath ?? e.path, e.name)));
}

describe('the repository', () => {
  const lib = sources('lib');

  it('has a LICENSE matching package.json, a CHANGELOG with the current version, and both in the package', () => {
    // The code is MIT; the RAVDESS-trained model (and the repository's RAVDESS samples) CC BY-NC-SA 4.0.
    assert.equal(pkg.license, 'MIT AND CC-BY-NC-SA-4.0');
    const licence = fs.readFileSync(path.join(root, 'LICENSE'), 'utf8');
    assert.match(licence, /^MIT License\n\nCopyright \(c\) \d{4} /);
    assert.match(licence, /CC BY-NC-SA 4\.0[\s\S]*models\/emo-ravdess\.onnx[\s\S]*samples\/\*\.wav/);
    assert.ok(!pkg.files.some((f) => f.startsWith('samples')), 'RAVDESS clips stay out of the npm package');
    const changelog = fs.readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8');
    assert.match(changelog, new RegExp(`## \\[${pkg.version.replace(/\./g, '\\.')}\\]`));
    assert.match(changelog, /## \[Unreleased\]/);
    for (const f of ['LICENSE', 'CHANGELOG.md', 'docs/*.md']) assert.ok(pkg.files.includes(f), f);
  });

  it('has one seeded JavaScript generator and one validation module', () => {
    // mulberry32's increment appears in exactly one source file.
    assert.deepEqual(lib.filter((f) => /0x6d2b79f5/i.test(fs.readFileSync(path.join(root, f), 'utf8'))), ['lib/random.ts']);
    assert.deepEqual(lib.filter((f) => path.basename(f) === 'validate.ts'), ['lib/validate.ts']);
  });

  it('writes files atomically in one place', () => {
    assert.deepEqual(lib.filter((f) => /renameSync|\.rename\(/.test(fs.readFileSync(path.join(root, f), 'utf8'))), ['lib/atomic.ts']);
  });

  it('carries no lint suppressions without a linter, and no pointers to documents outside the repository', () => {
    const all = [...lib, ...sources('binding'), ...sources('src'), ...sources('bench')];
    assert.deepEqual(all.filter((f) => /eslint-disable/.test(fs.readFileSync(path.join(root, f), 'utf8'))), []);
    assert.deepEqual(all.filter((f) => /ARCHITECTURE\.md/.test(fs.readFileSync(path.join(root, f), 'utf8'))), []);
    assert.ok(fs.existsSync(path.join(root, 'docs', 'architecture.md')));
  });
});
