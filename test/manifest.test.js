'use strict';
// Corpus manifests: the committed RAVDESS one, and checking a copy against a manifest.
// The expected hashes come from coreutils' sha256sum and stat, not from the code under test.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { dataset, EmoError } = require('..');

const CLI = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
const tmpDirs = [];
function tmpdir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-manifest-'));
  tmpDirs.push(dir);
  return dir;
}
after(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A manifest written by coreutils: path, bytes (stat), SHA-256 (sha256sum). */
function coreutilsManifest(dir, files) {
  const lines = ['# written by the test with stat and sha256sum'];
  for (const file of files) {
    const full = path.join(dir, file);
    const sum = spawnSync('sha256sum', [full], { encoding: 'utf8' });
    assert.equal(sum.status, 0, sum.stderr);
    const size = spawnSync('stat', ['-c', '%s', full], { encoding: 'utf8' });
    lines.push(`${file}\t${size.stdout.trim()}\t${sum.stdout.split(' ')[0]}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('the RAVDESS speech manifest', () => {
  it('lists the 1 440 speech clips: 24 actors x 60, each a valid RAVDESS speech name in its Actor_XX folder', () => {
    const manifest = dataset.readManifest();
    assert.equal(manifest.entries.length, 1440);
    const perActor = new Map();
    for (const entry of manifest.entries) {
      const parsed = dataset.parseRavdessName(entry.path);
      assert.ok(!('reason' in parsed), `${entry.path}: ${parsed.reason}`);
      assert.equal(path.posix.dirname(entry.path), `Actor_${String(parsed.actor).padStart(2, '0')}`);
      perActor.set(parsed.actor, (perActor.get(parsed.actor) ?? 0) + 1);
      assert.match(entry.sha256, /^[0-9a-f]{64}$/);
      // 48 kHz 16-bit mono, 2.9-5.3 s: about 280-510 kB plus the header.
      assert.ok(entry.bytes > 250_000 && entry.bytes < 1_000_000, `${entry.path}: ${entry.bytes} bytes`);
    }
    assert.deepEqual([...perActor.keys()].sort((a, b) => a - b), Array.from({ length: 24 }, (_, i) => i + 1));
    assert.ok([...perActor.values()].every((n) => n === 60));
    // One pair of files is byte-identical in the published corpus: actor 7's happy "Dogs are
    // sitting by the door", normal intensity, repetitions 1 and 2. The manifest records it as it is.
    const byHash = new Map();
    for (const e of manifest.entries) byHash.set(e.sha256, [...(byHash.get(e.sha256) ?? []), e.path]);
    const duplicates = [...byHash.values()].filter((paths) => paths.length > 1);
    assert.deepEqual(duplicates, [['Actor_07/03-01-03-01-02-01-07.wav', 'Actor_07/03-01-03-01-02-02-07.wav']]);
  });

  it('ships in the package', () => {
    const pkg = require('../package.json');
    assert.ok(pkg.files.includes('manifests/'));
  });
});

describe('dataset.checkCorpus and emo check-corpus', () => {
  let dir, manifestFile;
  const files = ['Actor_01/03-01-01-01-01-01-01.wav', 'Actor_01/03-01-05-02-01-01-01.wav', 'Actor_02/03-01-03-01-02-02-02.wav'];
  beforeEach(() => {
    dir = tmpdir();
    files.forEach((file, i) => {
      fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), Buffer.alloc(1000 + i * 10, i + 1));
    });
    fs.writeFileSync(path.join(dir, 'README.txt'), 'not a clip, ignored');
    manifestFile = path.join(tmpdir(), 'corpus.tsv');
    fs.writeFileSync(manifestFile, coreutilsManifest(dir, files));
  });

  it('accepts an identical copy', async () => {
    const result = await dataset.checkCorpus(dir, dataset.readManifest(manifestFile));
    assert.deepEqual(result, { ok: true, checked: 3, differences: [] });
    const cli = spawnSync(process.execPath, [CLI, 'check-corpus', dir, '--manifest', manifestFile], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /all 3 files match/);
  });

  it('names every difference: a changed byte, a truncated file, a missing one and an extra one', async () => {
    const [a, b, c] = files.map((f) => path.join(dir, f));
    const bytes = fs.readFileSync(a);
    bytes[500] ^= 1;
    fs.writeFileSync(a, bytes);
    fs.truncateSync(b, 999);
    fs.rmSync(c);
    fs.writeFileSync(path.join(dir, 'Actor_02', 'stray.WAV'), 'x');
    const progress = [];
    const result = await dataset.checkCorpus(dir, dataset.readManifest(manifestFile), (done, total) => progress.push([done, total]));
    assert.equal(result.ok, false);
    assert.equal(result.checked, 2);
    assert.deepEqual(progress, [[1, 3], [2, 3], [3, 3]]);
    const byPath = Object.fromEntries(result.differences.map((d) => [d.path, d]));
    assert.equal(result.differences.length, 4);
    assert.equal(byPath[files[0]].problem, 'content');
    assert.equal(byPath[files[1]].problem, 'size');
    assert.deepEqual([byPath[files[1]].expected, byPath[files[1]].actual], ['1010 bytes', '999 bytes']);
    assert.equal(byPath[files[2]].problem, 'missing');
    assert.equal(byPath['Actor_02/stray.WAV'].problem, 'extra');
    const cli = spawnSync(process.execPath, [CLI, 'check-corpus', dir, '--manifest', manifestFile], { encoding: 'utf8' });
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stdout, /1 missing, 1 extra, 2 changed \(3 listed\)/);
    for (const d of result.differences) assert.ok(cli.stdout.includes(d.path), d.path);
  });

  it('says when it finds none of the files (the wrong folder), and refuses a folder that is not there', async () => {
    const cli = spawnSync(process.execPath, [CLI, 'check-corpus', path.join(dir, 'Actor_01'), '--manifest', manifestFile], { encoding: 'utf8' });
    assert.equal(cli.status, 1);
    assert.match(cli.stdout, /No listed file was found/);
    await assert.rejects(dataset.checkCorpus(path.join(dir, 'nope'), dataset.readManifest(manifestFile)), (e) => e instanceof EmoError && e.code === 'ERR_DATASET_NOT_FOUND');
  });

  it('refuses a malformed manifest, naming the line', () => {
    const bad = (text) => {
      fs.writeFileSync(manifestFile, text);
      return () => dataset.readManifest(manifestFile);
    };
    const isInvalid = (line) => (e) => e instanceof EmoError && e.code === 'ERR_MANIFEST_INVALID' && e.message.includes(`line ${line}`);
    assert.throws(bad('# comment\na.wav\t12\n'), isInvalid(2));
    assert.throws(bad(`a.wav\tmany\t${'0'.repeat(64)}\n`), isInvalid(1));
    assert.throws(bad(`a.wav\t12\t${'G'.repeat(64)}\n`), isInvalid(1));
    assert.throws(bad(`../a.wav\t12\t${'0'.repeat(64)}\n`), isInvalid(1));
    assert.throws(bad(`a.wav\t12\t${'0'.repeat(64)}\na.wav\t12\t${'0'.repeat(64)}\n`), isInvalid(2));
    assert.throws(bad('# nothing\n'), (e) => e.code === 'ERR_MANIFEST_INVALID');
    assert.throws(() => dataset.readManifest(path.join(dir, 'none.tsv')), (e) => e.code === 'ERR_FILE_READ');
    assert.throws(() => dataset.readManifest(''), TypeError);
    const usage = spawnSync(process.execPath, [CLI, 'check-corpus'], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
  });
});
