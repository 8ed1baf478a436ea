// One message style for every argument check, after sharp's lib/is:
// "Expected <what> for <name> but received <value> of type <type>".

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}' of type string`;
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return `${String(value)} of type ${typeof value}`;
}

/** The TypeError for a value of the wrong kind. */
export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

/** The RangeError for a value of the right kind outside its range. */
export function invalidRange(name: string, expected: string, value: unknown): RangeError {
  return new RangeError(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

export function checkNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidType(name, `a number between ${min} and ${max}`, value);
  if (!(value >= min && value <= max)) throw invalidRange(name, `a number between ${min} and ${max}`, value);
  return value;
}

export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidType(name, `an integer between ${min} and ${max}`, value);
  if (!Number.isInteger(value) || value < min || value > max) throw invalidRange(name, `an integer between ${min} and ${max}`, value);
  return value;
}

export function checkPlainObject(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidType(name, 'an options object', value);
  return value as Record<string, unknown>;
}

/** Rejects keys an options object does not know, so a typo is not silently ignored. */
export function checkKnownKeys(name: string, options: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const hint = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
    throw new TypeError(`Unknown option '${key}' in ${name}${hint ? ` (did you mean '${hint}'?)` : ''}; known options: ${known.join(', ')}`);
  }
}

/** Levenshtein distance, for "did you mean" hints on misspelt option names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * Checks for an integer in [1, max]; returns it so call sites stay one line.
 * The upper bound is only spelt out when it is the problem, to keep the
 * common message short.
 */
export function checkPositiveInteger(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw invalidType(name, 'a positive integer', value);
  if (!Number.isInteger(value) || value < 1) throw invalidRange(name, 'a positive integer', value);
  if (value > max) throw invalidRange(name, `a positive integer no greater than ${max}`, value);
  return value;
}

/** Checks for a finite number strictly greater than zero. */
export function checkPositiveNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a positive number', value);
  if (!(Number.isFinite(value) && value > 0)) throw invalidRange(name, 'a positive number', value);
  return value;
}

/** Checks for a finite number that is zero or more. */
export function checkNonNegativeNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a non-negative number', value);
  if (!(Number.isFinite(value) && value >= 0)) throw invalidRange(name, 'a non-negative number', value);
  return value;
}

/** Checks for a finite number. */
export function checkFinite(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a finite number', value);
  if (!Number.isFinite(value)) throw invalidRange(name, 'a finite number', value);
  return value;
}

/** Checks for an options object (undefined is not accepted: the options carry required fields). */
export function checkObject(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidType(name, 'an options object', value);
  return value as Record<string, unknown>;
}
