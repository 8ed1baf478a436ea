/**
 * The synthetic corpus's recording chain (room reverberation, telephone band, band limit,
 * microphone colour, background noise, gain; lib/data/synth/plan.ts) applied to a real recording:
 * a training augmentation that lets a model trained on one studio's clips hear other rooms and
 * microphones. The chain is drawn per clip, from the same distribution for every emotion.
 * @packageDocumentation
 */
import { EmoError } from '../errors';
import { Rng } from '../random';
import { CHAIN_EFFECTS, chainEffects, drawChain, type RecordingChain } from './synth/plan';
import { colouredNoise, floats, RAW_FLOAT, runTool } from './synth/render';

export type { RecordingChain } from './synth/plan';

/** One clip's recording chain, drawn from `seed` and `key` (e.g. the clip's path) with every effect enabled. */
export function drawRecordingChain(seed: number, key: string): RecordingChain {
  return drawChain(new Rng(seed, `recording-chain:${key}`), CHAIN_EFFECTS);
}

// 10-ms frames within 20 dB of the loudest count as speech for the noise's level, as in the synthetic corpus.
function speechRms(x: Float32Array, sampleRate: number): number {
  const frame = Math.max(1, Math.round(sampleRate / 100));
  const energies: number[] = [];
  for (let start = 0; start + frame <= x.length; start += frame) {
    let e = 0;
    for (let i = start; i < start + frame; i++) e += (x[i] as number) ** 2;
    energies.push(e / frame);
  }
  const loudest = Math.max(0, ...energies);
  const voiced = energies.filter((e) => e >= loudest / 100);
  return voiced.length ? Math.sqrt(voiced.reduce((s, e) => s + e, 0) / voiced.length) : 0;
}

/**
 * `clip` as `chain` records it, the same length: sox applies the colour, reverberation and band
 * limits (with 12 dB of headroom, given back after), then the gain, then the background noise at
 * the chain's SNR against the speech level (10-ms frames within 20 dB of the loudest), seeded by
 * `noiseSeed`. Deterministic.
 *
 * @throws {@link EmoError} `ERR_MISSING_TOOL` when sox is not installed.
 */
export async function applyRecordingChain(clip: Float32Array, sampleRate: number, chain: RecordingChain, noiseSeed: number): Promise<Float32Array> {
  let out = new Float32Array(clip);
  const effects = chainEffects(chain);
  if (effects.length > 0) {
    const input = Buffer.from(clip.buffer, clip.byteOffset, clip.byteLength);
    let raw: Buffer;
    try {
      raw = await runTool('sox', ['-R', '-D', '-V1', ...RAW_FLOAT, '-r', String(sampleRate), '-', ...RAW_FLOAT, '-r', String(sampleRate), '-', 'gain', '-12', ...effects.flat()], input);
    } catch (error) {
      if (error instanceof EmoError && error.code === 'ERR_MISSING_TOOL') {
        throw new EmoError('the recording-chain augmentation needs sox, which is not installed (on Debian or Ubuntu: apt-get install -y sox)', 'ERR_MISSING_TOOL');
      }
      throw error;
    }
    const processed = floats(raw);
    out = new Float32Array(clip.length);
    out.set(processed.subarray(0, clip.length));
  }
  const gain = 10 ** (((effects.length > 0 ? 12 : 0) + chain.gainDb) / 20);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) * gain;
  if (chain.noise) {
    const rms = speechRms(out, sampleRate) * 10 ** (-chain.noise.snrDb / 20);
    const noise = colouredNoise(out.length, chain.noise.colour, rms, new Rng(noiseSeed, 'recording-chain-noise'));
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (noise[i] as number);
  }
  return out;
}
