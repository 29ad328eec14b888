// The playground's form per task, and the `/predict` body it sends. A task that takes more than one
// text (question + context, query + documents), a series or candidate labels gets fields of its own;
// parameters go in `"parameters"` (JSON) or, beside an uploaded file, in a multipart field `parameters`.
// A problem with what was typed is one sentence naming the field, and nothing is sent.
import type { Task } from "../api/types";

export type FormKind = "text" | "question-answering" | "text-ranking" | "series";

export interface TaskForm {
  text: string;
  question: string;
  context: string;
  query: string;
  documents: string;
  series: string;
  labels: string;
  topK: string;
  threshold: string;
  predictionLength: string;
  timestamps: boolean;
}

export const EMPTY_FORM: TaskForm = {
  text: "I love this product!",
  question: "Where does berth serve models?",
  context: "berth serves models over HTTP on the machine it runs on.",
  query: "How do I serve a model?",
  documents: "berth serves models over HTTP.\nThe weather is mild today.\nA model server answers requests.",
  series: "1, 3, 2, 4, 3, 5, 4, 6",
  labels: "",
  topK: "5",
  threshold: "0.5",
  predictionLength: "4",
  timestamps: false,
};

/** The fields a task's form shows beside its main input. */
export type ParamField = "labels" | "topK" | "threshold" | "predictionLength" | "timestamps";

export function formKind(task: Task | null): FormKind {
  switch (task) {
    case "question-answering":
    case "text-ranking":
      return task;
    case "time-series-forecasting":
      return "series";
    default:
      return "text";
  }
}

export function paramFields(task: Task | null): ParamField[] {
  switch (task) {
    case "zero-shot-classification":
    case "zero-shot-image-classification":
      return ["labels"];
    case "image-classification":
      return ["topK"];
    case "object-detection":
      return ["threshold"];
    case "automatic-speech-recognition":
      return ["timestamps"];
    case "time-series-forecasting":
      return ["predictionLength"];
    default:
      return [];
  }
}

export type Built<T> = { ok: true; value: T } | { ok: false; problem: string };

const fail = (problem: string): Built<never> => ({ ok: false, problem });

/** Numbers separated by commas, spaces or new lines: `1, 2.5\n3` → [1, 2.5, 3]. */
export function parseSeries(text: string): Built<number[]> {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (parts.length === 0) return fail("Type the series: numbers separated by commas or new lines.");
  const values = parts.map(Number);
  const bad = parts.find((_, i) => !Number.isFinite(values[i]));
  if (bad !== undefined) return fail(`The series has "${bad}", which is not a number.`);
  return { ok: true, value: values };
}

/** One document per non-empty line. */
export function parseDocuments(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}

/** Candidate labels, comma separated, without blanks or repeats. */
export function parseLabels(text: string): string[] {
  return [...new Set(text.split(",").map((label) => label.trim()).filter(Boolean))];
}

/** The request's parameters from the task's fields. */
export function buildParameters(task: Task | null, form: TaskForm): Built<Record<string, unknown>> {
  const parameters: Record<string, unknown> = {};
  for (const field of paramFields(task)) {
    if (field === "labels") {
      const labels = parseLabels(form.labels);
      if (labels.length === 0) return fail("Type at least one candidate label (comma separated), then press Send.");
      parameters.candidate_labels = labels;
    } else if (field === "topK") {
      const topK = Number(form.topK);
      if (!Number.isInteger(topK) || topK < 1) return fail("Top k must be a whole number of at least 1.");
      parameters.top_k = topK;
    } else if (field === "threshold") {
      const threshold = Number(form.threshold);
      if (form.threshold.trim() === "" || !(threshold >= 0 && threshold <= 1)) {
        return fail("The threshold must be a number from 0 to 1.");
      }
      parameters.threshold = threshold;
    } else if (field === "predictionLength") {
      const length = Number(form.predictionLength);
      if (!Number.isInteger(length) || length < 1) return fail("The prediction length must be a whole number of at least 1.");
      parameters.prediction_length = length;
    } else if (form.timestamps) {
      parameters.return_timestamps = true;
    }
  }
  return { ok: true, value: parameters };
}

/** What was sent, kept to draw the answer against: the context, the documents or the series. */
export interface Sent {
  context?: string;
  documents?: string[];
  series?: number[];
}

/** The JSON body for a task whose input is typed (not a file), and what the answer is drawn against. */
export function buildJsonBody(
  kind: FormKind,
  form: TaskForm,
  parameters: Record<string, unknown>,
  textBody: (text: string) => unknown,
): Built<{ body: unknown; sent: Sent }> {
  const withParameters = (body: Record<string, unknown>) =>
    Object.keys(parameters).length ? { ...body, parameters } : body;
  switch (kind) {
    case "question-answering": {
      const question = form.question.trim();
      const context = form.context;
      if (!question) return fail("Type a question, then press Send.");
      if (!context.trim()) return fail("Question answering needs a context: paste the text the answer is in.");
      return { ok: true, value: { body: withParameters({ inputs: [{ question, context }] }), sent: { context } } };
    }
    case "text-ranking": {
      const query = form.query.trim();
      const documents = parseDocuments(form.documents);
      if (!query) return fail("Type a query, then press Send.");
      if (documents.length === 0) return fail("Type at least one document to rank, one per line.");
      return { ok: true, value: { body: withParameters({ inputs: [{ query, documents }] }), sent: { documents } } };
    }
    case "series": {
      const series = parseSeries(form.series);
      if (!series.ok) return series;
      return { ok: true, value: { body: withParameters({ inputs: [series.value] }), sent: { series: series.value } } };
    }
    case "text": {
      const body = textBody(form.text);
      const plain = body != null && typeof body === "object" && !Array.isArray(body) && !("parameters" in body);
      // NOTE: a JSON body typed in carries its own parameters; the fields' ones join it only if it has none.
      return { ok: true, value: { body: plain ? withParameters(body as Record<string, unknown>) : body, sent: {} } };
    }
  }
}
