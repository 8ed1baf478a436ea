/**
 * A TensorFlow.js IOHandler for a model directory on the local file system, in the format
 * tfjs-node's `file://` handler writes: `model.json` (the topology and a weights manifest
 * pointing at `weights.bin`) next to `weights.bin` (all weights, concatenated, little-endian).
 *
 * tfjs-node ships such a handler, but it cannot be installed everywhere (it downloads
 * libtensorflow at install time); this one depends on nothing but Node and tfjs-core.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../atomic';

/** Name of the topology + manifest file inside a model directory. */
export const MODEL_JSON = 'model.json';
/** Name of the weights file inside a model directory. */
export const WEIGHTS_BIN = 'weights.bin';

const FILE_SCHEME = 'file://';

/** A `file://` URL or a plain path → an absolute path. */
function toPath(dirOrUrl: string): string {
  if (typeof dirOrUrl !== 'string' || dirOrUrl.length === 0) {
    throw new TypeError(`Expected a non-empty string for the model directory but received ${String(dirOrUrl)}`);
  }
  if (dirOrUrl.startsWith(FILE_SCHEME)) {
    // file:///abs/dir is a proper URL; tfjs-node also accepts file://relative/dir, so do we.
    return dirOrUrl.startsWith('file:///') ? fileURLToPath(dirOrUrl) : path.resolve(dirOrUrl.slice(FILE_SCHEME.length));
  }
  return path.resolve(dirOrUrl);
}

/** `WeightData` is one ArrayBuffer or, for large models, a list of them: one contiguous view. */
function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data == null) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/**
 * An IOHandler reading and writing the model directory `dir` (a path or a `file://` URL;
 * a trailing `/model.json` names the same directory).
 *
 * Saving writes `weights.bin` first and `model.json` last, each atomically (temporary file,
 * fsync, rename), so a reader that finds a `model.json` finds complete weights for it; only
 * a reader racing a concurrent save of the same directory can pair a new `weights.bin` with
 * the previous `model.json`. Loading follows the manifest's paths, so directories whose
 * weights are sharded over several files (as tfjs converters write them) load too.
 */
export function directoryIO(dir: string): tf.io.IOHandler {
  let root = toPath(dir);
  // 'dir/model.json' names the same model as 'dir' (tfjs-node loads from the json's URL).
  if (path.basename(root) === MODEL_JSON) root = path.dirname(root);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new TypeError('directoryIO: saving a binary (GraphDef) topology is not supported; expected a layers model');
      }
      await fs.promises.mkdir(root, { recursive: true });
      const weights = weightBytes(artifacts.weightData);
      const manifest: tf.io.WeightsManifestConfig = [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }];
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: manifest,
      };
      if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.modelInitializer != null) modelJSON.modelInitializer = artifacts.modelInitializer;
      if (artifacts.initializerSignature != null) modelJSON.initializerSignature = artifacts.initializerSignature;

      await writeFileAtomic(path.join(root, WEIGHTS_BIN), weights);
      await writeFileAtomic(path.join(root, MODEL_JSON), JSON.stringify(modelJSON));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: Buffer.byteLength(JSON.stringify(modelJSON.modelTopology), 'utf8'),
          weightSpecsBytes: Buffer.byteLength(JSON.stringify(manifest[0].weights), 'utf8'),
          weightDataBytes: weights.byteLength,
        },
      };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = path.join(root, MODEL_JSON);
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(await fs.promises.readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'ENOENT') throw new Error(`No model at ${root}: ${MODEL_JSON} not found`);
        throw new Error(`Cannot read ${jsonPath}: ${err.message}`);
      }
      if (modelJSON == null || typeof modelJSON !== 'object' || modelJSON.modelTopology == null) {
        throw new Error(`${jsonPath} is not a TensorFlow.js model (no modelTopology)`);
      }
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const file = path.resolve(root, p);
            // Manifests come from files on disk; refuse paths that climb out of the model directory.
            if (path.relative(root, file).startsWith('..')) throw new Error(`${jsonPath}: weights path ${p} is outside the model directory`);
            const bytes = await fs.promises.readFile(file);
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/**
 * Lets `model.save('file://dir')` and `tf.loadLayersModel('file://dir/model.json')` (or
 * `'file://dir'`) use {@link directoryIO}, like tfjs-node's handler does. A no-op when a
 * `file://` handler is already registered (tfjs-node loaded first). Not called on import:
 * tfjs-node registers its own router when it loads, and if it loaded after ours tfjs would
 * find two handlers for one URL and refuse to save. `saveModel` / `loadModel` (model.ts)
 * need no router. Returns whether this call registered the router.
 */
export function registerFileRouter(): boolean {
  if (tf.io.getSaveHandlers(`${FILE_SCHEME}probe`).length > 0 || tf.io.getLoadHandlers(`${FILE_SCHEME}probe`).length > 0) return false;
  // tfjs asks every router about every URL; null means "not mine" (its IORouter type omits it).
  const route = ((url: string | string[]) =>
    typeof url === 'string' && url.startsWith(FILE_SCHEME) ? directoryIO(url) : null) as unknown as Parameters<typeof tf.io.registerSaveRouter>[0];
  tf.io.registerSaveRouter(route);
  tf.io.registerLoadRouter(route);
  return true;
}
