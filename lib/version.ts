import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package's version (package.json), recorded in models and run records. */
export const PACKAGE_VERSION: string = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
