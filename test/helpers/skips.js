'use strict';
// Tests that cannot run here say why: skipBecause(this, reason) skips the test (or the describe,
// from a before hook) and the reason comes back in one summary line at the end of the run, never
// silently. Loaded by .mocharc.json for every run.
const reasons = [];

function skipBecause(context, reason) {
  // In a before hook: the describe it skips; in a test: the test.
  const runnable = context.test;
  const title = runnable.type === 'hook' ? runnable.parent.fullTitle() : runnable.fullTitle();
  reasons.push(`${title}: ${reason}`);
  context.skip();
}

const mochaHooks = {
  afterAll() {
    if (reasons.length > 0) console.log(`\n  not run here (${reasons.length}): ${reasons.join('; ')}`);
  },
};

module.exports = { skipBecause, mochaHooks };
