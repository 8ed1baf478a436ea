import * as tf from '@tensorflow/tfjs-core';
import { EMO_NATIVE_BACKEND, registerEmoNativeBackend } from './backend';

/**
 * Selects the fastest tfjs backend available and returns its name:
 * `'tensorflow'` when the optional peer `@tensorflow/tfjs-node` is installed and
 * loads, else this package's native `'emo-native'`, else tfjs's pure-JS `'cpu'`.
 * The model and training code work the same on each.
 */
export async function useBestBackend(): Promise<string> {
  try {
    require('@tensorflow/tfjs-node');
  } catch {
    // optional: not installed (its install step downloads libtensorflow) or failed to load
  }
  registerEmoNativeBackend();
  require('@tensorflow/tfjs-backend-cpu');
  for (const name of ['tensorflow', EMO_NATIVE_BACKEND, 'cpu']) {
    if (tf.findBackendFactory(name) && (await tf.setBackend(name))) return name;
  }
  throw new Error('no tfjs backend could be initialised');
}
