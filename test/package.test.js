'use strict';
// The package boundary: `npm pack` the package, install it into a fresh project, and use it the
// ways users do — require, import from an .mjs file, and TypeScript under node16 and bundler
// module resolution — while its internals stay out of reach.
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

describe('the package boundary (packed and installed in another project)', function () {
  this.timeout(180_000);
  let project;

  before(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-package-'));
    const tgz = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', project], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop();
    const installed = path.join(project, 'node_modules', 'emo-native');
    fs.mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['xzf', path.join(project, tgz), '-C', installed, '--strip-components', '1']);
    // The addon as `npm install` would have built it (prebuilds are made by CI, not by every build).
    if (!fs.existsSync(path.join(installed, 'prebuilds'))) fs.cpSync(path.join(root, 'build', 'Release'), path.join(installed, 'build', 'Release'), { recursive: true });
    // Its dependencies, as installed for this repository.
    for (const name of fs.readdirSync(path.join(root, 'node_modules'))) {
      if (name === '.bin' || name === 'emo-native' || name.startsWith('.')) continue;
      fs.symlinkSync(path.join(root, 'node_modules', name), path.join(project, 'node_modules', name));
    }
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  });
  after(() => fs.rmSync(project, { recursive: true, force: true }));

  const node = (args) => spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8' });

  it('works with require: emo-native, emo-native/nn and emo-native/train; the RAVDESS manifest ships', () => {
    const r = node([
      '-e',
      `const emo = require('emo-native'); const nn = require('emo-native/nn'); const train = require('emo-native/train');
       const x = new Float32Array(48000 * 4).map((_, i) => Math.sin(i / 10));
       process.stdout.write(JSON.stringify([emo.melChunks(x).shape, typeof emo.loadClassifier, typeof emo.EmoError, typeof nn.createModel, typeof nn.exportOnnx,
         require('emo-native/package.json').name, typeof train.trainModel, typeof train.crossValidate, train.planFolds([1, 2, 3, 4], 2, 1)[0].test,
         emo.dataset.readManifest().entries.length]));`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [[7, 128, 128], 'function', 'function', 'function', 'function', 'emo-native', 'function', 'function', [1, 2], 1440]);
  });

  it('ships the bundled model and the serve page: a fresh install classifies with no model given', () => {
    const r = node([
      '-e',
      `const emo = require('emo-native');
       const fs = require('node:fs');
       const wav = fs.readFileSync(${JSON.stringify(path.join(root, 'samples', '03-01-08-02-02-01-23.wav'))});
       emo.loadClassifier().then(async (c) => {
         const r = await c.classify(wav);
         await c.close();
         const page = require.resolve('emo-native/package.json').replace('package.json', 'lib/server/public/index.html');
         process.stdout.write(JSON.stringify([emo.BUNDLED_MODEL.includes('node_modules'), typeof r.label, fs.existsSync(page)]));
       });`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [true, 'string', true]);
  });

  it('states its licences: the code MIT, the RAVDESS-trained model CC BY-NC-SA 4.0; no RAVDESS clip ships', () => {
    const installed = path.join(project, 'node_modules', 'emo-native');
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    assert.equal(pkg.license, 'MIT AND CC-BY-NC-SA-4.0');
    assert.ok(fs.existsSync(path.join(installed, 'models', 'emo-ravdess.onnx')));
    const licence = fs.readFileSync(path.join(installed, 'LICENSE'), 'utf8');
    assert.match(licence, /^MIT License/);
    assert.match(licence, /CC BY-NC-SA 4\.0[\s\S]*models\/emo-ravdess\.onnx[\s\S]*Livingstone SR, Russo FA \(2018\)/);
    assert.match(fs.readFileSync(path.join(installed, 'models', 'README.md'), 'utf8'), /CC BY-NC-SA 4\.0/);
    const wavs = [];
    const walk = (dir) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(path.join(dir, entry.name));
        else if (/\.wav$/i.test(entry.name)) wavs.push(path.relative(installed, path.join(dir, entry.name)));
      }
    };
    walk(installed);
    assert.deepEqual(wavs, []);
  });

  it('has the queue at emo-native/queue; emo-native alone does not load BullMQ, nor the queue TensorFlow.js', () => {
    const r = node([
      '-e',
      `const emo = require('emo-native');
       const before = Object.keys(require.cache).some((k) => k.includes('bullmq'));
       const queue = require('emo-native/queue');
       const tfjs = Object.keys(require.cache).filter((k) => k.includes('@tensorflow'));
       process.stdout.write(JSON.stringify([before, tfjs, typeof queue.ClassifyProducer.connect, typeof queue.startClassifyWorker, queue.DEFAULT_QUEUE, typeof emo.melChunks]));`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [false, [], 'function', 'function', 'emo-classify', 'function']);
  });

  it('works with import from an .mjs file, named exports included', () => {
    fs.writeFileSync(
      path.join(project, 'use.mjs'),
      `import { melChunks, melChunksBatch, EmoError } from 'emo-native';
       import emo from 'emo-native';
       import { createModel, exportOnnx } from 'emo-native/nn';
       const x = new Float32Array(48000 * 4).map((_, i) => Math.sin(i / 10));
       const [batch] = await melChunksBatch([x]);
       console.log(JSON.stringify([melChunks(x).shape, batch.shape, typeof EmoError, typeof emo.loadClassifier, typeof createModel, typeof exportOnnx]));`,
    );
    const r = node(['use.mjs']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [[7, 128, 128], [7, 128, 128], 'function', 'function', 'function', 'function']);
  });

  it('keeps the internals out of reach', () => {
    for (const internal of ['emo-native/dist/native', 'emo-native/dist/nn/index.js', 'emo-native/build/Release/emo_native.node', 'emo-native/dist/plot']) {
      const r = node(['-e', `require(${JSON.stringify(internal)})`]);
      assert.notEqual(r.status, 0, internal);
      assert.match(r.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/, internal);
    }
  });

  for (const resolution of ['node16', 'bundler']) {
    it(`type-checks under "moduleResolution": "${resolution}", with both melChunksBatch overloads`, () => {
      const dir = path.join(project, `ts-${resolution}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(
        path.join(dir, 'use.ts'),
        `import { melChunksBatch, loadClassifier, EmoError, type MelChunks, type EmotionResult } from 'emo-native';
         import { createModel, exportOnnx } from 'emo-native/nn';
         export async function check(inputs: Float32Array[]): Promise<void> {
           const strict: MelChunks[] = await melChunksBatch(inputs);
           const lenient: Array<MelChunks | EmoError> = await melChunksBatch(inputs, { errors: 'return' });
           // @ts-expect-error with errors: 'return' an entry may be an EmoError, not only MelChunks
           const wrong: MelChunks[] = await melChunksBatch(inputs, { errors: 'return' });
           const clf = await loadClassifier('model.onnx', { provider: 'auto' });
           const r: EmotionResult = await clf.classify(inputs[0] as Float32Array);
           void [strict, lenient, wrong, r, createModel, exportOnnx];
         }
         // @ts-expect-error internals are not part of the package's types
         import type * as internal from 'emo-native/dist/native';
         export type Internal = typeof internal;
        `,
      );
      const config = {
        compilerOptions: {
          target: 'ES2022',
          module: resolution === 'node16' ? 'node16' : 'esnext',
          moduleResolution: resolution,
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(project, 'node_modules', '@types')],
        },
        files: ['use.ts'],
      };
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
      const r = spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });
  }
});
