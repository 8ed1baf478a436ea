import { invalidRange, invalidType } from '../validate';

/** Classification metrics of one split. */
export interface ClassificationMetrics {
  /** Examples scored. */
  count: number;
  /** Fraction of examples whose predicted class is the true class. */
  accuracy: number;
  /** Unweighted average recall: the mean of per-class recalls over classes that occur. */
  uar: number;
  /** Mean of per-class F1 over classes that occur in the labels or the predictions. */
  macroF1: number;
  /** Per class: precision, recall, F1, support (true examples). NaN precision: never predicted. */
  perClass: Array<{ label: string; precision: number; recall: number; f1: number; support: number }>;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Labels with no example in this split (their recall is undefined and left out of UAR). */
  missingClasses: string[];
}

/**
 * Accuracy, unweighted average recall, macro-F1, per-class precision/recall and
 * the confusion matrix from true and predicted class indices.
 */
export function classificationMetrics(truth: ArrayLike<number>, predicted: ArrayLike<number>, labels: readonly string[]): ClassificationMetrics {
  if (truth.length !== predicted.length) throw invalidRange('predicted', `${truth.length} predictions like truth`, predicted.length);
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i] as number;
    const p = predicted[i] as number;
    if (!Number.isInteger(t) || t < 0 || t >= k) throw invalidType(`truth[${i}]`, `a class index in [0, ${k})`, t);
    if (!Number.isInteger(p) || p < 0 || p >= k) throw invalidType(`predicted[${i}]`, `a class index in [0, ${k})`, p);
    (confusion[t] as number[])[p]++;
    if (t === p) correct++;
  }
  const perClass = labels.map((label, c) => {
    const row = confusion[c] as number[];
    const support = row.reduce((a, b) => a + b, 0);
    const predictedCount = confusion.reduce((a, r) => a + (r[c] as number), 0);
    const tp = row[c] as number;
    const precision = predictedCount > 0 ? tp / predictedCount : NaN;
    const recall = support > 0 ? tp / support : NaN;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : support > 0 || predictedCount > 0 ? 0 : NaN;
    return { label, precision, recall, f1, support };
  });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return {
    count: truth.length,
    accuracy: truth.length ? correct / truth.length : NaN,
    uar: mean(perClass.filter((c) => c.support > 0).map((c) => c.recall)),
    macroF1: mean(perClass.filter((c) => !Number.isNaN(c.f1)).map((c) => (Number.isNaN(c.precision) ? 0 : c.f1))),
    perClass,
    confusion,
    missingClasses: perClass.filter((c) => c.support === 0).map((c) => c.label),
  };
}
