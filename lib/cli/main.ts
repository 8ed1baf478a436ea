#!/usr/bin/env node
import { EmoError } from '../errors';
import { PACKAGE_VERSION } from '../version';
import { FEATURES_USAGE, runFeatures } from './features';
import { UsageError } from './usage';

const USAGE = `emo — speech emotion recognition for Node.js

Usage: emo <command> [options]

Commands:
  features <wav or dir...>   compute the model's input features; --png draws them
  synth <outDir>             write a synthetic RAVDESS-style corpus (espeak-ng + sox)
  check-corpus <dir>         compare a copy of RAVDESS (or another corpus) with its manifest
  train <dataset dir>        train the network (split by actor, augmented training set)
  crossval <dataset dir>     speaker-independent K-fold cross-validation of a training recipe
  evaluate <model> <dataset> metrics and confusion matrix of a trained model (run, folder or .onnx)
  export <run dir>           write the trained network as one ONNX file, parity-checked
  classify <file or dir...>  label the emotion of recordings (table, csv or jsonl)
  serve                      web page, HTTP API and live microphone stream on a model
  worker --redis URL         classify the jobs of 'emo classify --redis' (scale-out)

Run 'emo <command> --help' for a command's options.

${FEATURES_USAGE}`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  features: runFeatures,
  synth: async (argv) => (await import('./synth')).runSynth(argv),
  'check-corpus': async (argv) => (await import('./check-corpus')).runCheckCorpus(argv),
  train: async (argv) => (await import('./train')).runTrain(argv),
  crossval: async (argv) => (await import('./crossval')).runCrossval(argv),
  evaluate: async (argv) => (await import('./train')).runEvaluate(argv),
  export: async (argv) => (await import('./export')).runExport(argv),
  classify: async (argv) => (await import('./classify')).runClassify(argv),
  serve: async (argv) => (await import('./serve')).runServe(argv),
  worker: async (argv) => (await import('./worker')).runWorker(argv),
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    // Nothing asked: the usage is an error message (stderr, exit 2), as for any Unix tool.
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command '${command}'`, USAGE);
  return run(rest);
}

// A reader that stops early (\`emo classify dir | head\`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`emo: ${error.message}\n\n${error.usage}\n`);
      process.exitCode = 2;
    } else if (error instanceof EmoError && error.code === 'ERR_RESUME_MISMATCH') {
      // --resume that cannot be honoured is a command-line problem: say what differs, start nothing.
      process.stderr.write(`emo: ${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof EmoError || error instanceof TypeError || error instanceof RangeError) {
      process.stderr.write(`emo: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`emo: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
