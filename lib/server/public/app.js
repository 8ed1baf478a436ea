// The emo serve page: live emotion from the microphone over a WebSocket, a 3-s recording, and
// uploads with their timeline. Plain DOM, no framework; the charts are the server's Vega-Lite specs
// (GET /api/charts, compiled to Vega) drawn as SVG by Vega with its CSP-safe expression interpreter.
/* global vega */
'use strict';

const TIMELINE_SECONDS = 30;
const RECORD_SECONDS = 3;

const $ = (id) => document.getElementById(id);
const state = {
  labels: [],
  limits: null,
  mic: null, // { context, stream, node, listeners: Set }
  socket: null,
  live: [], // { time, probabilities } of the live stream
  liveStart: 0,
  minSpeechSeconds: 0,
  colours: {}, // label → colour, from the server's charts
  charts: {}, // Vega views: probabilities, attention, timeline, file (the recording's timeline)
};

const colorOf = (label) => state.colours[label] || '#5b5b60';
const pct = (p) => `${(100 * p).toFixed(1)} %`;

function setStatus(text) {
  $('status').textContent = text;
}

/** Shows a result as the page's current prediction. */
function showPrediction(result, source) {
  const el = $('prediction');
  el.textContent = result.label;
  el.dataset.label = result.label;
  el.dataset.source = source;
  el.style.color = colorOf(result.label);
  const rows = state.labels.map((label) => ({ label, probability: result.probabilities[label] || 0 }));
  setChartData('probabilities', 'probabilities', rows, `probabilities: ${rows.map((r) => `${r.label} ${pct(r.probability)}`).join(', ')}`);
  if (result.attention) {
    const weights = result.attention.map((weight, i) => ({ chunk: i + 1, weight }));
    setChartData('attention', 'attention', weights, `attention weights over ${weights.length} chunks: ${result.attention.map((a) => a.toFixed(2)).join(', ')}`);
  }
}

// ---------- charts ----------

/** Draws one of the server's compiled Vega specs into the element `id`, without eval (CSP). */
async function createChart(id, spec) {
  const view = new vega.View(vega.parse(spec, null, { ast: true }), { expr: vega.expressionInterpreter, renderer: 'svg', container: `#${id}`, hover: false });
  await view.runAsync();
  state.charts[id] = view;
}

/** Replaces a chart's data set and says in words what it now shows. */
function setChartData(id, dataset, rows, description, signals = {}) {
  const view = state.charts[id];
  if (!view) return;
  $(id).setAttribute('aria-label', description);
  view.data(dataset, rows);
  for (const [name, value] of Object.entries(signals)) view.signal(name, value);
  view.runAsync();
}

/** Timeline rows: each column's probabilities, one row per label in model order (Vega stacks them). */
function timelineRows(columns) {
  return columns.flatMap(({ start, end, probabilities }) => state.labels.map((label, order) => ({ start, end, label, order, probability: probabilities[label] || 0 })));
}

function drawLiveTimeline() {
  const last = state.live.length ? state.live[state.live.length - 1].time : 0;
  const to = Math.max(last, TIMELINE_SECONDS);
  const from = to - TIMELINE_SECONDS;
  state.live = state.live.filter((p) => p.time > from - 1);
  const columns = state.live.map((p) => ({ start: p.time - 0.5, end: p.time, probabilities: p.probabilities }));
  const latest = state.live[state.live.length - 1];
  setChartData('timeline', 'timeline', timelineRows(columns), latest ? `live timeline: ${state.live.length} readings, latest ${latest.label} at ${latest.time.toFixed(1)} s` : 'live timeline: empty', { from, to });
}

// ---------- microphone ----------

async function openMic() {
  if (state.mic) return state.mic;
  if (!navigator.mediaDevices || !window.AudioWorkletNode) throw new Error('this browser cannot capture audio here (it needs a secure context: http://localhost or https)');
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  const context = new AudioContext();
  await context.audioWorklet.addModule('capture-worklet.js');
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, 'capture', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
  // Through a muted gain to the output, so the graph is pulled on every browser; nothing is heard.
  const mute = context.createGain();
  mute.gain.value = 0;
  source.connect(node).connect(mute).connect(context.destination);
  const listeners = new Set();
  node.port.onmessage = (event) => {
    for (const listener of listeners) listener(event.data);
  };
  if (context.state === 'suspended') await context.resume();
  state.mic = { context, stream, node, listeners };
  return state.mic;
}

function closeMicIfIdle() {
  const mic = state.mic;
  if (!mic || mic.listeners.size > 0) return;
  mic.stream.getTracks().forEach((t) => t.stop());
  mic.context.close();
  state.mic = null;
}

// ---------- live mode ----------

async function startLive() {
  const button = $('live-button');
  button.disabled = true;
  try {
    const mic = await openMic();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/api/live`);
    socket.binaryType = 'arraybuffer';
    state.socket = socket;
    state.live = [];
    const send = (block) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(block);
    };
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'start', sampleRate: mic.context.sampleRate }));
      mic.listeners.add(send);
      setStatus(`Live: listening at ${mic.context.sampleRate} Hz…`);
    };
    socket.onmessage = (event) => onLiveMessage(JSON.parse(event.data));
    socket.onclose = (event) => {
      mic.listeners.delete(send);
      closeMicIfIdle();
      if (state.socket === socket) {
        state.socket = null;
        setLiveButton(false);
        setStatus(event.code === 1000 || event.code === 1005 ? 'Live mode stopped.' : `Live mode ended: ${event.reason || `connection closed (${event.code})`}`);
      }
    };
    setLiveButton(true);
  } catch (error) {
    setStatus(`Cannot start live mode: ${error.message}`);
    setLiveButton(false);
  } finally {
    button.disabled = false;
  }
}

/** Shows what the live session's adapter knows of the voice (models trained with adaptation). */
function showAdaptation(adaptation) {
  const el = $('adaptation');
  el.hidden = false;
  el.dataset.applied = String(adaptation.applied);
  el.dataset.speechSeconds = adaptation.speechSeconds.toFixed(1);
  const seconds = adaptation.speechSeconds.toFixed(0);
  el.textContent = adaptation.applied
    ? `Adapted to your voice (${seconds} s of speech).`
    : `Listening to your voice: ${seconds} s of speech${state.minSpeechSeconds ? ` (adapts from ${state.minSpeechSeconds} s)` : ''}.`;
}

function resetSpeaker() {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify({ type: 'reset' }));
}

function stopLive() {
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close(1000, 'stopped');
  setLiveButton(false);
  setStatus('Live mode stopped.');
}

function setLiveButton(on) {
  const button = $('live-button');
  button.setAttribute('aria-pressed', String(on));
  button.textContent = on ? 'Stop live' : 'Start live';
}

function onLiveMessage(message) {
  switch (message.type) {
    case 'ready':
      $('reset-button').hidden = !message.adapts;
      state.minSpeechSeconds = message.minSpeechSeconds || 0;
      if (message.adapts) showAdaptation({ applied: false, speechSeconds: 0 });
      break;
    case 'adaptation':
      state.minSpeechSeconds = message.minSpeechSeconds;
      showAdaptation(message);
      break;
    case 'prediction':
      if (message.adaptation) showAdaptation(message.adaptation);
      showPrediction(message, 'live');
      state.live.push(message);
      drawLiveTimeline();
      setStatus(`Live: ${message.label} (${pct(message.confidence)}) at ${message.time.toFixed(1)} s`);
      break;
    case 'listening':
      setStatus(`Live: listening… (${message.seconds.toFixed(1)} s so far)`);
      break;
    case 'silent':
      setStatus('Live: silence');
      break;
    case 'busy':
      setStatus('Live: the server is busy, skipping a reading');
      break;
    case 'error':
      setStatus(`Live: ${message.error.message}`);
      break;
    default:
      break;
  }
}

// ---------- record 3 s ----------

function encodeWav(samples, sampleRate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (at, s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((v, i) => view.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, Math.round(v * 32768))), true));
  return new Blob([buffer], { type: 'audio/wav' });
}

async function record() {
  const button = $('record-button');
  button.disabled = true;
  try {
    const mic = await openMic();
    const rate = mic.context.sampleRate;
    const clip = new Float32Array(Math.round(RECORD_SECONDS * rate));
    let filled = 0;
    setStatus('Recording 3 s…');
    await new Promise((resolve) => {
      const take = (block) => {
        const n = Math.min(block.length, clip.length - filled);
        clip.set(block.subarray(0, n), filled);
        filled += n;
        if (filled === clip.length) {
          mic.listeners.delete(take);
          resolve();
        }
      };
      mic.listeners.add(take);
    });
    closeMicIfIdle();
    setStatus('Classifying the recording…');
    const result = await postAudio(encodeWav(clip, rate));
    showPrediction(result, 'recording');
    setStatus(`Recording: ${result.label} (${pct(result.confidence)})`);
  } catch (error) {
    setStatus(`Recording failed: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

async function postAudio(body) {
  const response = await fetch('api/classify', { method: 'POST', body, headers: body instanceof FormData ? {} : { 'content-type': body.type || 'application/octet-stream' } });
  const json = await response.json();
  if (!response.ok) throw new Error(json.error ? `${json.error.message} (${json.error.code})` : `HTTP ${response.status}`);
  return json;
}

// ---------- upload ----------

async function upload(file) {
  const status = $('upload-status');
  status.textContent = `Classifying ${file.name}…`;
  try {
    const form = new FormData();
    form.append('audio', file, file.name);
    const result = await postAudio(form);
    showPrediction(result, 'upload');
    showFileTimeline(result);
    status.textContent = `${file.name}: ${result.label} (${pct(result.confidence)}) over ${result.duration.toFixed(1)} s${result.segments ? `, ${result.segments.length} windows` : ''}`;
  } catch (error) {
    status.textContent = `${file.name}: ${error.message}`;
  }
}

function showFileTimeline(result) {
  const segments = result.segments || [{ start: state.limits ? state.limits.offsetSeconds : 0.5, end: result.duration, ...result }];
  const end = Math.max(result.duration, ...segments.map((s) => s.end));
  // Windows overlap (hop < window): each column is drawn from its start to the next window's start.
  const columns = segments.map((s, i) => ({ start: s.start, end: i + 1 < segments.length ? segments[i + 1].start : s.end, probabilities: s.probabilities }));
  $('file-timeline').hidden = false;
  setChartData('file-timeline', 'timeline', timelineRows(columns), `the recording's timeline: ${segments.length} windows, overall ${result.label}`, { from: 0, to: end });
  const table = $('segments');
  const body = table.querySelector('tbody');
  body.replaceChildren();
  for (const s of segments) {
    const tr = document.createElement('tr');
    for (const text of [s.start.toFixed(2), s.end.toFixed(2), s.label, pct(s.confidence)]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
  table.hidden = false;
}

function setUpDropZone() {
  const zone = $('drop-zone');
  const input = $('file-input');
  input.addEventListener('change', () => {
    if (input.files.length) upload(input.files[0]);
    input.value = '';
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const file = event.dataTransfer.files[0];
    if (file) upload(file);
  });
}

// ---------- start ----------

async function main() {
  setUpDropZone();
  $('live-button').addEventListener('click', () => (state.socket ? stopLive() : startLive()));
  $('record-button').addEventListener('click', record);
  $('reset-button').addEventListener('click', resetSpeaker);
  try {
    const response = await fetch('api/model');
    const model = await response.json();
    if (!response.ok) throw new Error(model.error.message);
    state.labels = model.labels;
    state.limits = model.limits;
    $('model-info').textContent = `Model: ${model.labels.length} emotions, ${model.features.durationSeconds}-s windows, emo-native ${model.metadata.version}, ${model.provider.toUpperCase()}. Uploads up to ${Math.round(model.limits.maxUploadBytes / 1e6)} MB / ${model.limits.maxDurationSeconds} s.`;
  } catch (error) {
    $('model-info').textContent = `Cannot reach the model: ${error.message}`;
    return;
  }
  try {
    const response = await fetch('api/charts');
    const charts = await response.json();
    if (!response.ok) throw new Error(charts.error.message);
    state.colours = charts.colours;
    await Promise.all([createChart('probabilities', charts.probabilities), createChart('attention', charts.attention), createChart('timeline', charts.timeline), createChart('file-timeline', charts.timeline)]);
  } catch (error) {
    setStatus(`Cannot draw the charts: ${error.message}`);
  }
  drawLiveTimeline();
  document.body.dataset.ready = 'true';
}

main();
