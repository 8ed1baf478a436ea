'use strict';
// The emo serve page in a real browser: Debian's headless Chromium driven by playwright-core,
// with a fake microphone that plays a WAV file. Live mode and an upload must each end with the
// page's prediction element carrying one of the model's labels. The page's screenshot goes to a
// temporary folder, or where EMO_SCREENSHOT says (scripts/screenshot.sh makes docs/serve.png so).
const assert = require('node:assert/strict');
const { skipBecause } = require('./helpers/skips');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
require('../dist/nn'); // registers the emo-native tfjs backend
const emo = require('../dist');
const { makeWav } = require('./helpers/wav');
const { sharpenedOnnxModel, voice } = require('./helpers/model');

const CHROMIUM = process.env.EMO_CHROMIUM || '/usr/bin/chromium';
const EMOTIONS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'];
const SCREENSHOT_TO = process.env.EMO_SCREENSHOT;

/** A voice-like clip as 16-bit PCM (what Chromium's fake capture device reads). */
function voiceWav(seconds, seed) {
  return makeWav([voice(seconds, 48000, seed)], { sampleRate: 48000, bits: 16 });
}

describe('emo serve in a browser (headless Chromium)', function () {
  // A slow, shared machine: the browser's start, the model's export and live mode take their time.
  this.timeout(240_000);
  let tmp;
  let server;
  let browser;
  let page;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      // CI installs it (scripts/setup.sh); elsewhere say why nothing ran.
      return skipBecause(this, `no Chromium at ${CHROMIUM} (apt-get install chromium)`);
    }
    const { chromium } = require('playwright-core');
    assert.ok(await tf.setBackend('emo-native'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emo-browser-'));
    const modelFile = path.join(tmp, 'model.onnx');
    // A model trained for speaker adaptation: the live page learns the voice as it listens.
    const reference = { mean: Array(128).fill(-50), std: Array(128).fill(12), adapt: 'speaker' };
    fs.writeFileSync(modelFile, await sharpenedOnnxModel(11, reference));
    const fakeMic = path.join(tmp, 'mic.wav');
    fs.writeFileSync(fakeMic, voiceWav(6, 5));
    server = await emo.createServer({ model: modelFile, port: 0, minSpeechSeconds: 4 });
    await server.listen();
    // A fresh profile per run (playwright's own way of passing --user-data-dir).
    browser = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 960, height: 1180 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${fakeMic}`,
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(120_000);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  // Page errors and console errors (a refused script or style under the CSP among them) of every test.
  const errors = [];

  it('serves the page with its security headers, and the page loads the model without errors', async () => {
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const response = await page.goto(server.url);
    assert.equal(response.status(), 200);
    const headers = response.headers();
    assert.match(headers['content-security-policy'], /default-src 'self'/);
    assert.match(headers['content-security-policy'], /script-src 'self'/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['access-control-allow-origin'], undefined);
    await page.waitForSelector('body[data-ready="true"]');
    // The charts are Vega views drawn as SVG (no canvas, no eval under the page's CSP): one bar per emotion.
    assert.equal(await page.locator('#probabilities svg .mark-rect path').count(), 8);
    assert.deepEqual((await page.locator('#probabilities svg .role-axis-label text').allTextContents()).filter((t) => !t.endsWith('%')), EMOTIONS);
    assert.equal(await page.locator('#timeline svg').count(), 1);
    assert.deepEqual(errors, []);
  });

  it('live mode: microphone audio streams over the WebSocket and the page shows a predicted label', async () => {
    await page.click('#live-button');
    const prediction = page.locator('[data-testid="prediction"][data-label]');
    await prediction.waitFor();
    assert.ok(EMOTIONS.includes(await prediction.getAttribute('data-label')));
    assert.equal(await prediction.getAttribute('data-source'), 'live');
    // Several readings, 0.5 s apart, land on the timeline.
    await page.waitForFunction(() => /(\d+) readings/.test(document.getElementById('timeline').getAttribute('aria-label')) && Number(/(\d+) readings/.exec(document.getElementById('timeline').getAttribute('aria-label'))[1]) >= 3);
    // The latest reading's probabilities, as bars and in words; the timeline's stacked columns, a rect per emotion each.
    assert.match(await page.locator('#probabilities').getAttribute('aria-label'), new RegExp(`^probabilities: ${EMOTIONS.map((e) => `${e} \\d+\\.\\d %`).join(', ')}$`));
    await page.waitForFunction((n) => document.querySelectorAll('#timeline svg .mark-rect path').length >= n, 3 * EMOTIONS.length);
    assert.match(await page.locator('#attention').getAttribute('aria-label'), /^attention weights over \d+ chunks: /);
    const live = await fetch(new URL('healthz', server.url)).then((r) => r.json());
    assert.equal(live.liveConnections, 1);
    assert.ok(live.queue.clips >= 3);
    await page.screenshot({ path: path.join(tmp, 'live.png') });
    await page.click('#live-button');
    await page.waitForFunction(() => document.getElementById('live-button').getAttribute('aria-pressed') === 'false');
  });

  it('live mode adapts to the voice: "listening to your voice", then adapted; "New speaker" starts again', async () => {
    await page.click('#live-button');
    const adaptation = page.locator('#adaptation');
    await page.waitForFunction(() => !document.getElementById('reset-button').hidden);
    await page.waitForFunction(() => /Listening to your voice: \d+ s of speech/.test(document.getElementById('adaptation').textContent));
    await page.waitForSelector('#adaptation[data-applied="true"]');
    assert.match(await adaptation.textContent(), /Adapted to your voice \(\d+ s of speech\)/);
    assert.ok(Number(await adaptation.getAttribute('data-speech-seconds')) >= 4);
    await page.click('#reset-button');
    await page.waitForSelector('#adaptation[data-applied="false"][data-speech-seconds="0.0"]');
    await page.click('#live-button');
    await page.waitForFunction(() => document.getElementById('live-button').getAttribute('aria-pressed') === 'false');
  });

  it('upload: a recording chosen or dropped on the page is classified, with its timeline', async () => {
    await page.evaluate(() => delete document.querySelector('[data-testid="prediction"]').dataset.label);
    const file = path.join(tmp, 'call.wav');
    fs.writeFileSync(file, voiceWav(8, 3));
    await page.setInputFiles('#file-input', file);
    const prediction = page.locator('[data-testid="prediction"][data-label]');
    await prediction.waitFor();
    assert.ok(EMOTIONS.includes(await prediction.getAttribute('data-label')));
    assert.equal(await prediction.getAttribute('data-source'), 'upload');
    // 8 s: windows every 1.5 s from 0.5 s on, the last reaching the end.
    assert.equal(await page.locator('#segments tbody tr').count(), Math.ceil((8 - 0.5 - 3) / 1.5) + 1);
    assert.match(await page.locator('#upload-status').textContent(), /call\.wav: \w+ \(/);
    // The recording's timeline: a stacked column per window, one rect per emotion each.
    const windows = Math.ceil((8 - 0.5 - 3) / 1.5) + 1;
    assert.match(await page.locator('#file-timeline').getAttribute('aria-label'), new RegExp(`^the recording's timeline: ${windows} windows, overall \\w+$`));
    await page.waitForFunction((n) => document.querySelectorAll('#file-timeline svg .mark-rect path').length === n, windows * EMOTIONS.length);

    // The same through a drop on the drop zone.
    await page.evaluate(() => delete document.querySelector('[data-testid="prediction"]').dataset.label);
    const bytes = Array.from(voiceWav(3.5, 8));
    await page.evaluate((data) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(data)], 'dropped.wav', { type: 'audio/wav' }));
      document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, bytes);
    await prediction.waitFor();
    assert.ok(EMOTIONS.includes(await prediction.getAttribute('data-label')));
    assert.equal(await page.locator('#segments tbody tr').count(), 1);
  });

  it('"record 3 s": records the microphone for 3 s and shows the clip\'s prediction', async () => {
    await page.evaluate(() => delete document.querySelector('[data-testid="prediction"]').dataset.label);
    await page.click('#record-button');
    const prediction = page.locator('[data-testid="prediction"][data-label]');
    await prediction.waitFor();
    assert.ok(EMOTIONS.includes(await prediction.getAttribute('data-label')));
    assert.equal(await prediction.getAttribute('data-source'), 'recording');
  });

  it('takes a screenshot of the page: live readings and an uploaded recording', async () => {
    const screenshot = SCREENSHOT_TO ? path.resolve(SCREENSHOT_TO) : path.join(tmp, 'serve.png');
    await page.setInputFiles('#file-input', path.join(tmp, 'call.wav'));
    await page.waitForFunction(() => document.querySelectorAll('#segments tbody tr').length > 1);
    await page.click('#live-button');
    await page.waitForFunction(() => Number((/(\d+) readings/.exec(document.getElementById('timeline').getAttribute('aria-label')) || [0, 0])[1]) >= 8);
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    await page.click('#live-button');
    // A real picture of the page: a PNG of the viewport's width, taller than the viewport (the whole page).
    const png = fs.readFileSync(screenshot);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.equal(png.readUInt32BE(16), 960);
    assert.ok(png.readUInt32BE(20) > 1180, `height ${png.readUInt32BE(20)}`);
    assert.deepEqual(errors, [], 'no page or console errors in any test');
  });
});
