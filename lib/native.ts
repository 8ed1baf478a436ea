// The one place that loads the addon and declares its shape. Everything else
// imports `native` from here; nothing else calls require() on a .node file.
import * as path from 'node:path';
import { EmoError } from './errors';

/** The fully resolved pipeline configuration the addon reads (all fields set, validated). */
export interface NativeConfig {
  sampleRate: number;
  offset: number;
  length: number;
  lowpassFilterWidth: number;
  rolloff: number;
  nFft: number;
  winLength: number;
  hopLength: number;
  nMels: number;
  fMin: number;
  fMax: number;
  amin: number;
  /** NaN: no top-dB floor. */
  topDb: number;
  chunkFrames: number;
  chunkStride: number;
}

export interface NativeDecodedWav {
  sampleRate: number;
  formatTag: number;
  bitsPerSample: number;
  channels: Float32Array[];
}

export interface NativeBinding {
  setErrorClass(errorClass: typeof EmoError): void;
  decodeWav(bytes: Uint8Array): NativeDecodedWav;
  prepareClip(input: Uint8Array | Float32Array[], sampleRate: number, config: NativeConfig): Float32Array;
  melSpectrogram(samples: Float32Array, config: NativeConfig): Float32Array;
  melChunks(input: Uint8Array | Float32Array, config: NativeConfig): Float32Array;
  melChunksBatch(
    inputs: ReadonlyArray<Uint8Array | Float32Array>,
    config: NativeConfig,
    threads: number,
    collectErrors: boolean,
  ): Promise<Array<Float32Array | EmoError>>;
  floatToHalf(values: Float32Array): Uint16Array;
  halfToFloat(bits: Uint16Array, out: Float32Array): Float32Array;
  addNoise(samples: Float32Array, snrDb: number, seed: number): Float32Array;
  timeStretch(samples: Float32Array, rate: number, sampleRate: number): Float32Array;
  preemphasis(samples: Float32Array, coef: number): Float32Array;
  expand(
    samples: Float32Array,
    seed: number,
    snrLo: number,
    snrHi: number,
    rateLo: number,
    rateHi: number,
    coef: number,
    sampleRate: number,
  ): { variants: [Float32Array, Float32Array, Float32Array, Float32Array]; snrDb: number; rate: number };
}

function load(): NativeBinding {
  const root = path.join(__dirname, '..');
  try {
    // node-gyp-build picks build/Release when present, else prebuilds/<platform>-<arch>.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as NativeBinding;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new EmoError(
      [
        `Could not load the emo-native addon for ${process.platform}-${process.arch} (Node ${process.version}).`,
        `Reason: ${detail}`,
        'Possible remedies:',
        '- Reinstall so the prebuilt binary for this platform is fetched from the package: npm install emo-native',
        '- Build from source: apt-get install -y cmake g++ pkg-config libkissfft-dev && npm rebuild emo-native',
        '- A source build needs libkissfft (pkg-config kissfft-float); prebuilds carry their own copy.',
      ].join('\n'),
      'ERR_NATIVE_LOAD',
    );
  }
}

/** The loaded addon, with EmoError registered so native errors carry their `.code`. */
export const native: NativeBinding = load();
native.setErrorClass(EmoError);
