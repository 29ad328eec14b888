// The wizard's answers as a DeploymentSpec, and that spec as YAML for the summary.
import { parse, stringify } from "yaml";

export type Device = "auto" | "cpu" | "cuda" | `cuda:${number}`;
export type DType = "auto" | "float32" | "float16" | "bfloat16";

export interface WizardForm {
  source: string;
  revision: string;
  file: string; // empty: no model.file (a glob choosing one file of a repo or folder of many)
  task: string;
  runtime: string;
  device: string;
  dtype: DType;
  name: string;
  replicas: number;
  maxBatchSize: number;
  maxLatencyMs: number;
  port: string; // empty: the first free worker port
  maxMemoryGb: number;
  maxModelSizeGb: number;
  requestTimeoutS: number;
  trustRemoteCode: boolean;
  allowPickle: boolean;
}

export const DEFAULT_FORM: WizardForm = {
  source: "",
  revision: "main",
  file: "",
  task: "auto",
  runtime: "auto",
  device: "auto",
  dtype: "auto",
  name: "",
  replicas: 1,
  maxBatchSize: 32,
  maxLatencyMs: 5,
  port: "",
  maxMemoryGb: 16,
  maxModelSizeGb: 20,
  requestTimeoutS: 30,
  trustRemoteCode: false,
  allowPickle: false,
};

export interface DeploymentSpec {
  name: string;
  model: { source: string; revision?: string; file?: string };
  task: string;
  runtime: string;
  device: string;
  dtype: string;
  replicas: number;
  batching: { max_batch_size: number; max_latency_ms: number };
  limits: { max_model_size_gb: number; max_memory_gb: number; request_timeout_s: number };
  port: number | null;
  trust_remote_code: boolean;
  allow_pickle: boolean;
}

/** The kind of a source as the API describes it (`GET /api/v1/sources/describe`); null when not known. */
export type SourceKind = "hub" | "local" | "onnx" | "gguf" | "python" | null;

/**
 * The spec the form describes. The revision is kept unless the API said the source is not a hub id:
 * it only means something for hub models (the control plane ignores it for others), and "main" is the
 * default and needs no mention. The file glob is kept for a hub repo or a folder (or a source not yet
 * described): it chooses one of their files, and a single-file source has nothing to choose from.
 */
export function buildSpec(form: WizardForm, name: string = form.name, kind: SourceKind = null): DeploymentSpec {
  const source = form.source.trim();
  const revision = form.revision.trim();
  const port = form.port.trim() === "" ? null : Number(form.port);
  const file = form.file.trim();
  const keepRevision = (kind === null || kind === "hub") && revision && revision !== "main";
  const keepFile = (kind === null || kind === "hub" || kind === "local") && file !== "";
  return {
    name,
    model: { source, ...(keepRevision ? { revision } : {}), ...(keepFile ? { file } : {}) },
    task: form.task,
    runtime: form.runtime,
    device: form.device,
    dtype: form.dtype,
    replicas: form.replicas,
    batching: { max_batch_size: form.maxBatchSize, max_latency_ms: form.maxLatencyMs },
    limits: {
      max_model_size_gb: form.maxModelSizeGb,
      max_memory_gb: form.maxMemoryGb,
      request_timeout_s: form.requestTimeoutS,
    },
    port: port != null && Number.isInteger(port) ? port : null,
    trust_remote_code: form.trustRemoteCode,
    allow_pickle: form.allowPickle,
  };
}

/** The spec as YAML that `berth deploy spec.yaml` accepts; strings are quoted wherever YAML needs it. */
export function specToYaml(spec: DeploymentSpec): string {
  return stringify(spec, { indent: 2, lineWidth: 0, nullStr: "null" });
}

export function yamlToSpec(text: string): unknown {
  return parse(text);
}

/** Problems with the numeric answers, keyed by form field, in plain words. */
export function formProblems(form: WizardForm): Partial<Record<keyof WizardForm, string>> {
  const problems: Partial<Record<keyof WizardForm, string>> = {};
  const intIn = (value: number, low: number, high: number) => Number.isInteger(value) && value >= low && value <= high;
  if (!intIn(form.replicas, 1, 64)) problems.replicas = "Replicas must be a whole number from 1 to 64.";
  if (!intIn(form.maxBatchSize, 1, 4096)) problems.maxBatchSize = "Batch size must be a whole number from 1 to 4096.";
  if (!(form.maxLatencyMs >= 0 && form.maxLatencyMs <= 10_000)) {
    problems.maxLatencyMs = "Batch wait must be 0 to 10000 ms.";
  }
  if (form.port.trim() !== "" && !intIn(Number(form.port), 1, 65535)) {
    problems.port = "Port must be a whole number from 1 to 65535, or empty for automatic.";
  }
  if (!(form.maxMemoryGb > 0)) problems.maxMemoryGb = "Memory limit must be more than 0 GB.";
  if (!(form.maxModelSizeGb > 0)) problems.maxModelSizeGb = "Model size limit must be more than 0 GB.";
  if (!(form.requestTimeoutS > 0 && form.requestTimeoutS <= 3600)) {
    problems.requestTimeoutS = "Request timeout must be more than 0 and at most 3600 s.";
  }
  return problems;
}
