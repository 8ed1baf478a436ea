/**
 * What the synthetic corpus says and how: the actors' voices, the emotions'
 * prosody, and the per-clip plan derived from them with seeded jitter.
 *
 * Design goal: a classifier trained on some actors must recognise the emotion
 * of unseen voices, so each emotion has several cues that survive a change of
 * voice (relative pitch and pitch range, contour, rate, loudness, and a voice
 * quality made with sox: distortion, tremor, nasality, spectral tilt, breath),
 * while the actors differ in speech engine, timbre, accent, vocal-tract length,
 * base pitch and speed. Every cue is scaled by one strength factor, so the
 * strong intensity (02) is the same prosody pushed further, and actors differ a
 * little in how expressive they are.
 *
 * The recording chain (room reverberation, microphone bandwidth and colour, a
 * telephone channel, background noise, gain) is drawn per clip from one
 * distribution for every emotion: it carries no information about the class,
 * so a model cannot learn it as a shortcut.
 */
import { EMOTIONS, type Emotion } from '../ravdess';
import { Rng } from '../../random';

/** The two RAVDESS statements, split where the contour changes (subject | place). */
export const STATEMENTS = [
  ['Kids are talking', 'by the door'],
  ['Dogs are sitting', 'by the door'],
] as const;

/** Output format: RAVDESS's 48 kHz mono 16-bit PCM. */
export const SAMPLE_RATE = 48000;

/** RAVDESS has 24 actors, and the file names have room for no more. */
export const MAX_ACTORS = 24;

/** Strength factor of intensity 02 relative to intensity 01. */
export const STRONG = 1.7;

/** Speech level of a neutral clip, dBFS RMS over voiced frames (quiet, like studio recordings). */
const NEUTRAL_LEVEL_DB = -26;

/** The speech engines: espeak-ng (formant synthesis) and festival (diphone and HTS voices). */
export const ENGINES = ['espeak', 'festival'] as const;
export type SynthEngine = (typeof ENGINES)[number];

/** The recording-chain effects, each drawn per clip independently of the emotion. */
export const CHAIN_EFFECTS = ['reverb', 'phone', 'bandwidth', 'eq', 'noise', 'gain'] as const;
export type ChainEffect = (typeof CHAIN_EFFECTS)[number];

/** One actor's voice. */
export interface ActorVoice {
  actor: number;
  sex: 'male' | 'female';
  engine: SynthEngine;
  /** espeak-ng voice (language/accent + variant), or festival voice name. */
  voice: string;
  /** Base pitch: espeak-ng -p (0–99), or festival mean F0 in Hz. */
  pitch: number;
  /** Base speed: espeak-ng words per minute, or festival rate factor (1: the voice's own). */
  speed: number;
  /** Vocal-tract length factor: formants scaled by this, F0 kept (1: the engine's voice as is). */
  vocalTract: number;
  /** Speech level offset from the emotion's level, dB (distance to the microphone). */
  levelDb: number;
  /** How far this actor pushes every emotion: multiplies the emotion's strength. */
  expressiveness: number;
  /** Room-noise floor, dBFS RMS. */
  noiseDb: number;
  /** Share of white noise in the room noise (the rest is brown, low-frequency rumble). */
  noiseWhite: number;
}

// Variants chosen for clearly male / female voices with the standard synthesiser
// (no robots, whispers or klatt voices, which would be identity cues stronger than emotion).
const MALE_VARIANTS = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'Andy', 'Denis', 'Lee', 'travis'];
const FEMALE_VARIANTS = ['f1', 'f2', 'f3', 'f4', 'f5', 'Alicia', 'Andrea', 'Annie', 'anika', 'aunty', 'belinda', 'steph'];
// 'en' is British English; 'en-gb' would not take a variant.
const ACCENTS = ['en', 'en-us', 'en-gb-scotland', 'en-gb-x-rp', 'en-us-nyc', 'en-gb-x-gbclan', 'en-029', 'en-gb-x-gbcwmd'];

/**
 * festival's English voices in Debian (festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts):
 * two American male diphone voices and one American female HTS voice. Female actors on a male
 * diphone voice get a female pitch and a shorter vocal tract.
 */
export const FESTIVAL_VOICES = ['kal_diphone', 'ked_diphone', 'cmu_us_slt_arctic_hts'] as const;
const FESTIVAL_MALE = ['kal_diphone', 'ked_diphone'];
const FESTIVAL_FEMALE = ['cmu_us_slt_arctic_hts', 'kal_diphone', 'cmu_us_slt_arctic_hts', 'ked_diphone'];

/** Which engine speaks for `actor`: with both engines, pairs of actors (one male, one female) alternate. */
export function actorEngine(actor: number, engines: readonly SynthEngine[]): SynthEngine {
  return engines.length === 1 ? (engines[0] as SynthEngine) : (engines[((actor - 1) >> 1) % engines.length] as SynthEngine);
}

/** The voices of actors 1..count; odd actors are male, even actors female (RAVDESS convention). */
export function actorVoices(seed: number, count: number, engines: readonly SynthEngine[] = ENGINES): ActorVoice[] {
  const voices: ActorVoice[] = [];
  const used: Record<SynthEngine, number> = { espeak: 0, festival: 0 };
  for (let actor = 1; actor <= count; actor++) {
    const rng = new Rng(seed, `actor:${actor}`);
    const male = actor % 2 === 1;
    const engine = actorEngine(actor, engines);
    // The g-th male (female) actor of this engine.
    const g = used[engine]++ >> 1;
    let voice: string;
    let pitch: number;
    let speed: number;
    let vocalTract: number;
    if (engine === 'espeak') {
      const variant = (male ? MALE_VARIANTS : FEMALE_VARIANTS)[g % MALE_VARIANTS.length] as string;
      const accent = ACCENTS[(g + (male ? 0 : 3)) % ACCENTS.length] as string;
      voice = `${accent}+${variant}`;
      pitch = rng.int(38, 60);
      speed = rng.int(155, 190);
      vocalTract = round(rng.uniform(0.92, 1.08), 3);
    } else {
      voice = (male ? FESTIVAL_MALE : FESTIVAL_FEMALE)[g % (male ? FESTIVAL_MALE.length : FESTIVAL_FEMALE.length)] as string;
      const hts = voice.endsWith('_hts');
      pitch = male ? rng.int(92, 128) : rng.int(175, 225);
      speed = round(rng.uniform(0.9, 1.1), 3);
      vocalTract = round(male ? rng.uniform(0.92, 1.06) : hts ? rng.uniform(0.94, 1.08) : rng.uniform(1.12, 1.2), 3);
    }
    voices.push({
      actor,
      sex: male ? 'male' : 'female',
      engine,
      voice,
      pitch,
      speed,
      vocalTract,
      levelDb: round(rng.uniform(-1.5, 1.5), 2),
      expressiveness: round(rng.uniform(0.9, 1.15), 3),
      noiseDb: round(rng.uniform(-72, -64), 2),
      noiseWhite: round(rng.uniform(0.3, 0.8), 3),
    });
  }
  return voices;
}

/** An emotion's cues at strength 1 (intensity 01, an average actor); neutral is all zeros. */
interface EmotionProfile {
  /** Pitch change, espeak-ng -p units (about 1% of F0 each). */
  pitch: number;
  /** Pitch range change, percent points of the voice's range (SSML range; 100 = voice default). */
  range: number;
  /** Speaking rate factor. */
  rate: number;
  /** Loudness change, dB. */
  levelDb: number;
  /** Pitch of the subject and of the place phrase, percent (the contour). */
  head: number;
  tail: number;
  /** Rate factor of the subject phrase (a drawn-out first word). */
  headRate: number;
  /** Rate factor of the place phrase (a slowed, emphatic ending). */
  tailRate: number;
  /** Final punctuation: espeak-ng's statement, exclamation or question intonation. */
  punctuation: '.' | '!' | '?';
  /** Pause between words, espeak-ng -g units (10 ms). */
  wordGap: number;
  /** Breathiness: turbulence noise following the speech envelope, amplitude relative to the speech. */
  breath?: number;
  /** Voice quality: sox effects for strength k. */
  effects(k: number): string[][];
}

const PROFILES: Record<Emotion, EmotionProfile> = {
  neutral: { pitch: 0, range: 0, rate: 1, levelDb: 0, head: 0, tail: 0, headRate: 1, tailRate: 1, punctuation: '.', wordGap: 0, effects: () => [] },
  // Soft and relaxed: a bit lower and flatter, slower, quieter, a soft (less bright) voice.
  // (No reverberation or band limit: those belong to the recording chain, which is the same for every emotion.)
  calm: {
    pitch: -4, range: -30, rate: 0.93, levelDb: -3, head: 0, tail: -4, headRate: 1, tailRate: 0.95, punctuation: '.', wordGap: 1,
    effects: (k) => [['treble', num(-4 * k), '2500']],
  },
  // High, lilting, a little fast and loud, bright; starts high and comes down.
  happy: {
    pitch: 14, range: 70, rate: 1.1, levelDb: 4, head: 10, tail: -2, headRate: 1, tailRate: 1, punctuation: '!', wordGap: 0,
    effects: (k) => [['treble', num(5 * k), '3000']],
  },
  // Low, monotone, slow with pauses, quiet, dull (a steep spectral tilt), falling.
  sad: {
    pitch: -8, range: -60, rate: 0.8, levelDb: -8, head: 4, tail: -12, headRate: 1, tailRate: 0.95, punctuation: '.', wordGap: 1,
    effects: (k) => [['treble', num(-7 * k), '1800']],
  },
  // Raised, wide, fast, loudest, harsh (distortion adds energy above the synthesiser's band).
  angry: {
    pitch: 6, range: 50, rate: 1.1, levelDb: 8, head: 6, tail: -6, headRate: 1, tailRate: 0.9, punctuation: '!', wordGap: 0,
    effects: (k) => [['overdrive', num(8 + 8 * k), '20'], ['treble', num(2 * k), '3000']],
  },
  // Highest and fastest, trembling (amplitude tremor), breathy, thin, rising uncertainly.
  fearful: {
    pitch: 18, range: 10, rate: 1.16, levelDb: -2, head: 0, tail: 10, headRate: 1.05, tailRate: 1, punctuation: '?', wordGap: 0, breath: 0.12,
    effects: (k) => [['tremolo', num(6 + 1.5 * k), num(45 + 20 * k)], ['highpass', hz(200 + 150 * k)]],
  },
  // Low, slow, drawn-out first word, falling, nasal.
  disgust: {
    pitch: -8, range: 40, rate: 0.86, levelDb: -1, head: 8, tail: -14, headRate: 0.8, tailRate: 1, punctuation: '.', wordGap: 2,
    effects: (k) => [['equalizer', '1200', '1.5q', num(6 + 4 * k)], ['bass', num(-4 * k)]],
  },
  // High, widest range, a big rise on the slowed last phrase (where happy comes down).
  surprised: {
    pitch: 12, range: 90, rate: 0.98, levelDb: 4, head: -10, tail: 50, headRate: 1, tailRate: 0.75, punctuation: '?', wordGap: 0,
    effects: (k) => [['treble', num(2 * k), '4000']],
  },
};

/** Resolved prosody of one clip (or of an emotion at an intensity, for the manifest). */
export interface Prosody {
  /** espeak-ng -p, 20–99; festival: mean F0, Hz. */
  pitch: number;
  /** Pitch range, percent of the voice's default, 15–200 (espeak-ng's maximum). */
  range: number;
  /** espeak-ng -s, words per minute; festival: rate factor. */
  speed: number;
  /** Pause between words, 10 ms units (espeak-ng -g; festival: the pause between the two phrases). */
  wordGap: number;
  /** Subject / place phrase pitch (percent) and rate (percent). */
  head: { pitch: number; rate: number };
  tail: { pitch: number; rate: number };
  punctuation: string;
  /** Speech level, dBFS RMS over voiced frames. */
  levelDb: number;
  /** sox effects after resampling to 48 kHz. */
  effects: string[][];
  /** Breath-noise amplitude relative to the speech (0: none). */
  breath: number;
}

/**
 * Prosody of `emotion` at strength `k` for a voice with the given base pitch and speed (in the
 * engine's units; one espeak-ng pitch unit is about 1 % of F0, which is the festival scale).
 */
export function prosody(emotion: Emotion, k: number, base: { engine: SynthEngine; pitch: number; speed: number; levelDb: number }): Prosody {
  const p = PROFILES[emotion];
  const espeak = base.engine === 'espeak';
  return {
    // espeak-ng's low voices bottom out near 60 Hz below -p 20, and a range under 15% is a drone.
    pitch: espeak ? clamp(Math.round(base.pitch + p.pitch * k), 20, 99) : clamp(Math.round(base.pitch * (1 + 0.01 * p.pitch * k)), 60, 400),
    range: clamp(Math.round(100 + p.range * k), 15, 200),
    speed: espeak ? clamp(Math.round(base.speed * p.rate ** k), 80, 450) : round(base.speed * p.rate ** k, 3),
    wordGap: Math.round(p.wordGap * k),
    head: { pitch: Math.round(p.head * k), rate: Math.round(100 * p.headRate ** k) },
    tail: { pitch: Math.round(p.tail * k), rate: Math.round(100 * p.tailRate ** k) },
    punctuation: p.punctuation,
    levelDb: round(NEUTRAL_LEVEL_DB + base.levelDb + p.levelDb * k, 2),
    effects: p.effects(k),
    breath: round((p.breath ?? 0) * k, 4),
  };
}

/** The emotion table for the manifest: each emotion at each intensity, for a neutral reference voice. */
export function prosodyTable(): Record<string, Record<string, Prosody>> {
  const table: Record<string, Record<string, Prosody>> = {};
  for (const [i, emotion] of EMOTIONS.entries()) {
    const row: Record<string, Prosody> = {};
    for (const intensity of i === 0 ? [1] : [1, 2]) row[`0${intensity}`] = prosody(emotion, intensity === 2 ? STRONG : 1, { engine: 'espeak', pitch: 50, speed: 175, levelDb: 0 });
    table[emotion] = row;
  }
  return table;
}

/** Everything needed to render one clip. */
export interface ClipPlan {
  /** Path relative to the corpus root, e.g. `Actor_01/03-01-05-02-01-02-01.wav`. */
  file: string;
  actor: ActorVoice;
  emotion: Emotion;
  intensity: number;
  statement: number;
  repetition: number;
  prosody: Prosody;
  /** Leading and minimum trailing silence, seconds. */
  leadSeconds: number;
  trailSeconds: number;
  /** Shortest clip, seconds (short utterances get longer trailing silence, like the real recordings). */
  minSeconds: number;
  /** Seed of the clip's own noise. */
  noiseSeed: number;
  /** The recording chain, drawn independently of the emotion. */
  chain: RecordingChain;
}

/** How one clip was recorded: drawn from the same distribution for every emotion. */
export interface RecordingChain {
  /** Room reverberation (sox reverb): reverberance and room scale in percent, pre-delay in ms; absent: a dry booth. */
  reverb?: { reverberance: number; roomScale: number; preDelayMs: number };
  /** Telephone channel: 300–3400 Hz band-pass. */
  phone: boolean;
  /** Microphone or codec bandwidth: low-pass cutoff, Hz; absent: full band. */
  lowpassHz?: number;
  /** Microphone colour: bass (100 Hz) and treble (3 kHz) shelves, dB. */
  bassDb: number;
  trebleDb: number;
  /**
   * Background noise at this signal-to-noise ratio (dB against the speech level, as set before the
   * soft limiter that keeps the loudest clips below full scale); absent: room tone only.
   */
  noise?: { snrDb: number; colour: 'white' | 'pink' | 'brown' };
  /** Recording gain, dB (distance to the microphone, preamp). */
  gainDb: number;
}

/** Draws one clip's recording chain from the effects enabled. The emotion is not an input. */
export function drawChain(rng: Rng, effects: readonly ChainEffect[]): RecordingChain {
  const on = (effect: ChainEffect): boolean => effects.includes(effect);
  // Every draw happens whether or not its effect is enabled, so enabling one effect does not change the others.
  const reverb = rng.next() < 0.45;
  const reverbParams = { reverberance: Math.round(rng.uniform(15, 80)), roomScale: Math.round(rng.uniform(20, 100)), preDelayMs: Math.round(rng.uniform(0, 30)) };
  const phone = rng.next() < 0.15;
  const bandLimited = rng.next() < 0.35;
  const lowpassHz = Math.round(rng.uniform(3500, 12000));
  const bassDb = round(rng.uniform(-6, 6), 1);
  const trebleDb = round(rng.uniform(-6, 6), 1);
  const noisy = rng.next() < 0.6;
  const noiseParams = { snrDb: round(rng.uniform(8, 32), 1), colour: (['white', 'pink', 'brown'] as const)[rng.int(0, 2)] as 'white' | 'pink' | 'brown' };
  const gainDb = round(rng.uniform(-5, 5), 1);
  const chain: RecordingChain = { phone: on('phone') && phone, bassDb: on('eq') ? bassDb : 0, trebleDb: on('eq') ? trebleDb : 0, gainDb: on('gain') ? gainDb : 0 };
  if (on('reverb') && reverb) chain.reverb = reverbParams;
  if (on('bandwidth') && bandLimited && !chain.phone) chain.lowpassHz = lowpassHz;
  if (on('noise') && noisy) chain.noise = noiseParams;
  return chain;
}

/** The sox effects of a recording chain (noise is mixed in afterwards, at the clip's speech level). */
export function chainEffects(chain: RecordingChain): string[][] {
  const effects: string[][] = [];
  if (chain.bassDb !== 0) effects.push(['bass', num(chain.bassDb), '100']);
  if (chain.trebleDb !== 0) effects.push(['treble', num(chain.trebleDb), '3000']);
  if (chain.reverb) effects.push(['reverb', String(chain.reverb.reverberance), '50', String(chain.reverb.roomScale), '100', String(chain.reverb.preDelayMs)]);
  if (chain.phone) effects.push(['sinc', '300-3400']);
  if (chain.lowpassHz !== undefined) effects.push(['sinc', `-${chain.lowpassHz}`]);
  return effects;
}

/** RAVDESS file name of a speech, audio-only clip. */
export function ravdessName(emotion: number, intensity: number, statement: number, repetition: number, actor: number): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `03-01-${two(emotion)}-${two(intensity)}-${two(statement)}-${two(repetition)}-${two(actor)}.wav`;
}

/** The 60 clips of each actor, in RAVDESS order. */
export function planClips(seed: number, voices: readonly ActorVoice[], chain: readonly ChainEffect[] = CHAIN_EFFECTS): ClipPlan[] {
  const clips: ClipPlan[] = [];
  for (const actor of voices) {
    for (const [e, emotion] of EMOTIONS.entries()) {
      for (const intensity of e === 0 ? [1] : [1, 2]) {
        for (const statement of [1, 2]) {
          for (const repetition of [1, 2]) {
            const name = ravdessName(e + 1, intensity, statement, repetition, actor.actor);
            const rng = new Rng(seed, `clip:${name}`);
            // Repetitions differ slightly: strength, pitch, speed and level jitter.
            const k = (intensity === 2 ? STRONG : 1) * actor.expressiveness * rng.uniform(0.96, 1.04);
            const base = {
              engine: actor.engine,
              pitch: actor.engine === 'espeak' ? actor.pitch + rng.uniform(-2, 2) : actor.pitch * rng.uniform(0.98, 1.02),
              speed: actor.speed * rng.uniform(0.97, 1.03),
              levelDb: actor.levelDb + rng.uniform(-0.5, 0.5),
            };
            clips.push({
              file: `Actor_${String(actor.actor).padStart(2, '0')}/${name}`,
              actor,
              emotion,
              intensity,
              statement,
              repetition,
              prosody: prosody(emotion, emotion === 'neutral' ? 0 : k, base),
              leadSeconds: round(rng.uniform(0.46, 0.58), 4),
              trailSeconds: round(rng.uniform(0.4, 1.0), 4),
              minSeconds: round(rng.uniform(3.3, 3.9), 4),
              noiseSeed: rng.int(0, 0x7fffffff),
              // Its own stream: the chain's draws are the same whatever the prosody draws.
              chain: drawChain(new Rng(seed, `chain:${name}`), chain),
            });
          }
        }
      }
    }
  }
  return clips;
}

/** The SSML espeak-ng speaks: two phrases with their own pitch and rate, inside the clip's range. */
export function ssml(plan: ClipPlan): string {
  const [subject, place] = STATEMENTS[plan.statement - 1] as readonly [string, string];
  const { head, tail, range, punctuation } = plan.prosody;
  const pct = (n: number): string => `${n >= 0 ? '+' : ''}${n}%`;
  return (
    `<speak><prosody range="${range}%">` +
    `<prosody pitch="${pct(head.pitch)}" rate="${head.rate}%">${subject}</prosody> ` +
    `<prosody pitch="${pct(tail.pitch)}" rate="${tail.rate}%">${place}${punctuation}</prosody>` +
    `</prosody></speak>`
  );
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function num(x: number): string {
  return String(round(x, 2));
}

function hz(x: number): string {
  return String(Math.round(x));
}
