/**
 * Where a WAV file's samples are, read from its chunk headers alone.
 *
 * The native decoder stays the authority on what a WAV holds (it reports every error); this
 * reader only answers what inference needs without decoding the whole file: the byte range of the
 * samples, so that a long recording can be cut into windows that are decoded one batch at a time,
 * and whether the data chunk is shorter than its header declares.
 *
 * @packageDocumentation
 */

/** The layout of a WAV file's sample data. */
export interface WavLayout {
  sampleRate: number;
  /** Bytes per frame (all channels). */
  blockAlign: number;
  /** The whole `fmt ` chunk, header included, to copy into a window's WAV. */
  fmtChunk: Uint8Array;
  /** Byte offset of the first sample. */
  dataStart: number;
  /** Whole frames present. */
  frames: number;
  /** The data chunk ends before the size its header declares (the frames present are used). */
  truncated: boolean;
}

const ascii = (bytes: Uint8Array, at: number) => String.fromCharCode(bytes[at] as number, bytes[at + 1] as number, bytes[at + 2] as number, bytes[at + 3] as number);

/** The layout of `bytes`, or null when its headers cannot be read (the native decoder then says why). */
export function scanWav(bytes: Uint8Array): WavLayout | null {
  if (bytes.length < 12 || ascii(bytes, 0) !== 'RIFF' || ascii(bytes, 8) !== 'WAVE') return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Uint8Array | null = null;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = ascii(bytes, at);
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ') {
      if (size < 16 || at + 8 + size > bytes.length) return null;
      fmt = bytes.subarray(at, at + 8 + size);
    } else if (id === 'data') {
      if (fmt === null) return null;
      const fmtView = new DataView(fmt.buffer, fmt.byteOffset, fmt.byteLength);
      const sampleRate = fmtView.getUint32(12, true);
      const blockAlign = fmtView.getUint16(20, true);
      if (blockAlign === 0 || sampleRate === 0) return null;
      const present = bytes.length - (at + 8);
      // 0xFFFFFFFF: written by streaming recorders that never came back to fill in the size.
      const declared = size === 0xffffffff ? present : size;
      return { sampleRate, blockAlign, fmtChunk: fmt, dataStart: at + 8, frames: Math.floor(Math.min(declared, present) / blockAlign), truncated: declared > present };
    }
    at += 8 + size + (size & 1);
  }
  return null;
}

/** A WAV file holding frames [from, to) of `layout`'s data (clamped to the frames present). */
export function sliceWav(bytes: Uint8Array, layout: WavLayout, from: number, to: number): Uint8Array {
  const first = Math.max(0, Math.min(from, layout.frames));
  const last = Math.max(first, Math.min(to, layout.frames));
  const data = bytes.subarray(layout.dataStart + first * layout.blockAlign, layout.dataStart + last * layout.blockAlign);
  const out = new Uint8Array(12 + layout.fmtChunk.length + 8 + data.length);
  const view = new DataView(out.buffer);
  out.set([0x52, 0x49, 0x46, 0x46], 0); // RIFF
  view.setUint32(4, out.length - 8, true);
  out.set([0x57, 0x41, 0x56, 0x45], 8); // WAVE
  out.set(layout.fmtChunk, 12);
  const dataHeader = 12 + layout.fmtChunk.length;
  out.set([0x64, 0x61, 0x74, 0x61], dataHeader); // data
  view.setUint32(dataHeader + 4, data.length, true);
  out.set(data, dataHeader + 8);
  return out;
}

/** A mono IEEE-float WAV of `samples` (copied), so that sample arrays take the same path as files. */
export function floatWav(samples: Float32Array, sampleRate: number): Uint8Array {
  const fmt = new Uint8Array(8 + 16);
  const f = new DataView(fmt.buffer);
  fmt.set([0x66, 0x6d, 0x74, 0x20], 0); // 'fmt '
  f.setUint32(4, 16, true);
  f.setUint16(8, 3, true); // WAVE_FORMAT_IEEE_FLOAT
  f.setUint16(10, 1, true);
  f.setUint32(12, sampleRate, true);
  f.setUint32(16, sampleRate * 4, true);
  f.setUint16(20, 4, true);
  f.setUint16(22, 32, true);
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  return sliceWav(bytes, { sampleRate, blockAlign: 4, fmtChunk: fmt, dataStart: 0, frames: samples.length, truncated: false }, 0, samples.length);
}
