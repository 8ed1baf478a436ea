/**
 * Mono WAV files from samples: 16-bit PCM from an Int16Array (what the synthetic corpus stores),
 * 32-bit IEEE float from a Float32Array (no rounding between the recording conditions' arithmetic
 * and the features). A plain 44-byte RIFF header and the samples, little-endian.
 * @packageDocumentation
 */

const PCM = 1;
const IEEE_FLOAT = 3;

/** One mono WAV file of `samples` at `sampleRate`. */
export function encodeMonoWav(samples: Int16Array | Float32Array, sampleRate: number): Buffer {
  const bytesPerSample = samples.BYTES_PER_ELEMENT;
  const data = samples.length * bytesPerSample;
  const buf = Buffer.alloc(44 + data);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(36 + data, 4);
  buf.write('WAVE', 8, 'latin1');
  buf.write('fmt ', 12, 'latin1');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(samples instanceof Float32Array ? IEEE_FLOAT : PCM, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * bytesPerSample, 28);
  buf.writeUInt16LE(bytesPerSample, 32);
  buf.writeUInt16LE(8 * bytesPerSample, 34);
  buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(data, 40);
  // Sample by sample: little-endian whatever the host.
  if (samples instanceof Float32Array) for (let i = 0; i < samples.length; i++) buf.writeFloatLE(samples[i] as number, 44 + 4 * i);
  else for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i] as number, 44 + 2 * i);
  return buf;
}
