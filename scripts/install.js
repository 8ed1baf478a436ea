'use strict';
// npm's install hook for users of the package: the prebuilt addon when one matches this platform
// and Node's N-API, else a build from source, announced in one line and quiet unless it fails.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
try {
  require('node-gyp-build')(root);
  process.exit(0);
} catch {
  // No prebuild for this platform: build it.
}
console.log(`emo-native: no prebuilt addon for ${process.platform}-${process.arch}; building it from source with cmake-js (needs cmake, a C++17 compiler, libkissfft-dev and libdnnl-dev)`);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
if (result.status !== 0) {
  const log = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
  console.error(`emo-native: the source build failed (${result.error ? result.error.message : `exit code ${result.status}`}); its last lines:\n${log}`);
  process.exit(1);
}
