// The tasks berth serves, for the wizard's list and the playground's choice of form. The names come
// from the control plane's `Task` enum (berth.spec.Task, through web/openapi.json and schema.d.ts):
// `Record<Task, …>` makes the compiler refuse a list that misses a task or names one the API lacks.
import type { Deployment, Task } from "../api/types";

const DESCRIPTIONS: Record<Task, string> = {
  auto: "detected from the model's configuration",
  "feature-extraction": "text → an embedding vector",
  "text-classification": "text → labels with scores",
  "token-classification": "text → labelled spans (entities)",
  "fill-mask": "text with a mask → the likeliest fillers",
  "text-generation": "a prompt → a continuation",
  "text2text-generation": "text → text (T5, BART)",
  summarization: "text → its summary",
  translation: "text → its translation",
  "question-answering": "a question and a context → the answer span",
  "zero-shot-classification": "text and candidate labels → a score per label",
  "text-ranking": "a query and documents → the documents ranked (cross-encoder)",
  "image-classification": "an image → labels with scores",
  "object-detection": "an image → boxes with labels and scores",
  "image-feature-extraction": "an image → an embedding vector",
  "zero-shot-image-classification": "an image and candidate labels → a score per label",
  "automatic-speech-recognition": "audio → its transcript",
  "time-series-forecasting": "a numeric series → a forecast with quantiles (Chronos)",
};

/** Every task, `auto` first, in the order the API lists them. */
export const TASKS = Object.keys(DESCRIPTIONS) as Task[];

/** What a task takes and gives, for the wizard's list. */
export function describeTask(task: Task): string {
  return DESCRIPTIONS[task];
}

function isTask(value: unknown): value is Task {
  return typeof value === "string" && Object.hasOwn(DESCRIPTIONS, value);
}

/** The task a deployment serves: what the worker reported once ready, else the spec's own choice. */
export function deploymentTask(deployment: Pick<Deployment, "signature" | "spec">): Task | null {
  const reported = deployment.signature?.task;
  if (reported && reported !== "auto") return reported;
  const chosen = deployment.spec.task;
  return isTask(chosen) && chosen !== "auto" ? chosen : null;
}
