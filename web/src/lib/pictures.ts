// What the playground draws for an answer, told from the answer's own shape (one input's result), so a
// Python predictor that answers in a task's shape gets the task's picture too. Each reader returns null
// for anything else; the geometry here is plain numbers, so the tests check it without a browser.

export interface LabelScore {
  label: string;
  score: number;
}

export interface Box {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

export interface Detection extends LabelScore {
  box: Box;
}

export interface Transcript {
  text: string;
  chunks: { text: string; timestamp: [number, number | null] }[];
}

export interface Ranked {
  index: number;
  score: number;
  document?: string;
}

export interface Forecast {
  mean: number[];
  /** Quantile level → one value per step, lowest level first. */
  quantiles: [number, number[]][];
}

export interface ExtractedAnswer {
  answer: string;
  score: number;
  start: number;
  end: number;
}

type Row = Record<string, unknown>;

const isRow = (value: unknown): value is Row => value != null && typeof value === "object" && !Array.isArray(value);
const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const isNumbers = (value: unknown): value is number[] => Array.isArray(value) && value.every(isNumber);

function isLabelScore(value: unknown): value is LabelScore {
  return isRow(value) && typeof value.label === "string" && isNumber(value.score);
}

function isBox(value: unknown): value is Box {
  return isRow(value) && [value.xmin, value.ymin, value.xmax, value.ymax].every(isNumber);
}

/** `[{label, score}, …]` (classification, zero-shot): the labels best first. */
export function labelScores(value: unknown): LabelScore[] | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  if (!value.every((item) => isLabelScore(item) && !("box" in item))) return null;
  return [...(value as LabelScore[])].sort((a, b) => b.score - a.score);
}

/** `[{label, score, box}, …]` (object detection); `[]` counts only when the task says it is detection. */
export function detections(value: unknown, detecting: boolean): Detection[] | null {
  if (!Array.isArray(value) || (value.length === 0 && !detecting)) return null;
  return value.every((item) => isLabelScore(item) && isBox((item as unknown as Row).box)) ? (value as Detection[]) : null;
}

/** `{text, chunks?}` (speech recognition). */
export function transcript(value: unknown): Transcript | null {
  if (!isRow(value) || typeof value.text !== "string") return null;
  const keys = Object.keys(value).filter((key) => key !== "text" && key !== "chunks");
  if (keys.length) return null;
  const chunks = Array.isArray(value.chunks) ? value.chunks : [];
  const readable = chunks.flatMap((chunk: unknown) => {
    if (!isRow(chunk) || typeof chunk.text !== "string" || !Array.isArray(chunk.timestamp)) return [];
    const [start, end] = chunk.timestamp as unknown[];
    return isNumber(start) ? [{ text: chunk.text, timestamp: [start, isNumber(end) ? end : null] as [number, number | null] }] : [];
  });
  return { text: value.text, chunks: readable };
}

const GENERATED = ["generated_text", "summary_text", "translation_text"] as const;

/** `{generated_text}`, `{summary_text}` or `{translation_text}` (sequence to sequence). */
export function generatedText(value: unknown): string | null {
  if (!isRow(value) || Object.keys(value).length !== 1) return null;
  const key = GENERATED.find((name) => typeof value[name] === "string");
  return key ? (value[key] as string) : null;
}

/** `{answer, score, start, end}` (extractive question answering). */
export function extractedAnswer(value: unknown): ExtractedAnswer | null {
  if (!isRow(value) || typeof value.answer !== "string") return null;
  return isNumber(value.score) && isNumber(value.start) && isNumber(value.end) ? (value as unknown as ExtractedAnswer) : null;
}

/** `[{index, score, document?}, …]` (reranking), best first. */
export function ranking(value: unknown): Ranked[] | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const ok = value.every((item) => isRow(item) && Number.isInteger(item.index) && isNumber(item.score) && !("label" in item));
  return ok ? [...(value as Ranked[])].sort((a, b) => b.score - a.score) : null;
}

/**
 * `{mean: [H], quantiles: {"0.1": [H], …}}`, or `{mean, quantiles: [[Q] × H], quantile_levels: [Q]}`
 * (forecasting): the mean and each quantile's values per step, lowest level first.
 */
export function forecast(value: unknown): Forecast | null {
  if (!isRow(value) || !isNumbers(value.mean) || value.mean.length === 0) return null;
  const steps = value.mean.length;
  const { quantiles, quantile_levels: levels } = value;
  let found: [number, number[]][] = [];
  if (isRow(quantiles)) {
    found = Object.entries(quantiles).flatMap(([level, values]) =>
      isNumbers(values) && values.length === steps && Number.isFinite(Number(level)) ? [[Number(level), values]] : [],
    );
  } else if (Array.isArray(quantiles) && isNumbers(levels) && quantiles.length === steps) {
    if (!quantiles.every((row) => isNumbers(row) && row.length === levels.length)) return null;
    found = levels.map((level, q) => [level, (quantiles as number[][]).map((row) => row[q]!)]);
  } else if (quantiles !== undefined) {
    return null;
  }
  return { mean: value.mean, quantiles: found.sort((a, b) => a[0] - b[0]) };
}

/** A score as the bars print it: `87.5 %`. */
export function percent(score: number): string {
  return `${(score * 100).toFixed(1)} %`;
}

/** A bar's width in percent of the track: the score, held to 0–100. */
export function barWidth(score: number): number {
  return Math.min(100, Math.max(0, score * 100));
}

export interface Placement {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A box in percent of the image (so it scales with the image as shown), cut to the image's edges. */
export function placeBox(box: Box, imageWidth: number, imageHeight: number): Placement {
  const clamp = (value: number, limit: number) => Math.min(limit, Math.max(0, value));
  const x0 = clamp(Math.min(box.xmin, box.xmax), imageWidth);
  const x1 = clamp(Math.max(box.xmin, box.xmax), imageWidth);
  const y0 = clamp(Math.min(box.ymin, box.ymax), imageHeight);
  const y1 = clamp(Math.max(box.ymin, box.ymax), imageHeight);
  return {
    left: (x0 / imageWidth) * 100,
    top: (y0 / imageHeight) * 100,
    width: ((x1 - x0) / imageWidth) * 100,
    height: ((y1 - y0) / imageHeight) * 100,
  };
}

/** The context cut around the answer: before, answer, after (by its offsets, else where the text is). */
export function highlight(context: string, answer: ExtractedAnswer): [string, string, string] | null {
  let { start, end } = answer;
  if (context.slice(start, end) !== answer.answer) {
    start = answer.answer ? context.indexOf(answer.answer) : -1;
    if (start < 0) return null;
    end = start + answer.answer.length;
  }
  return [context.slice(0, start), context.slice(start, end), context.slice(end)];
}

/** A time in seconds as `1.50 s`. */
export function seconds(value: number | null): string {
  return value == null ? "…" : `${value.toFixed(2)} s`;
}
