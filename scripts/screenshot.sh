#!/usr/bin/env bash
# Makes docs/serve.png, the README's picture of the emo serve page: the browser test in headless
# Chromium (Debian's chromium) with its screenshot written there instead of a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
EMO_SCREENSHOT=docs/serve.png npx mocha test/browser.test.js
