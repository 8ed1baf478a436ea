import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command-line mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** util.parseArgs with positionals allowed, turning its errors into UsageErrors. */
type CommandLineConfig<T> = { args: string[]; options: T; allowPositionals: true; strict: true };

export function parseCommandLine<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<CommandLineConfig<T>>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

/**
 * A numeric command-line value, or a UsageError (exit 2) naming the flag: `--epochs must be an
 * integer from 1 to 10000, not 'abc'`. Undefined when the flag was not given.
 */
export function numberFlag(flag: string, text: string | undefined, usage: string, bounds: { min: number; max: number; integer?: boolean; exclusiveMin?: boolean }): number | undefined {
  if (text === undefined) return undefined;
  const { min, max, integer = false, exclusiveMin = false } = bounds;
  const value = text.trim() === '' ? NaN : Number(text);
  const inRange = Number.isFinite(value) && (exclusiveMin ? value > min : value >= min) && value <= max && (!integer || Number.isSafeInteger(value));
  if (!inRange) {
    const what = integer ? `an integer from ${min} to ${max}` : `a number ${exclusiveMin ? 'above' : 'from'} ${min}${exclusiveMin ? ' and at most' : ' to'} ${max}`;
    throw new UsageError(`--${flag} must be ${what}, not '${text}'`, usage);
  }
  return value;
}
