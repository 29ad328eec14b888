// The control plane's shapes (src/berth/control/schemas.py and berth.system.SystemInfo), as JSON.

export type DeploymentState = "deploying" | "ready" | "unhealthy" | "restarting" | "stopped" | "failed";

export type Stage =
  | "initializing"
  | "validating"
  | "downloading"
  | "loading"
  | "creating"
  | "starting"
  | "completed"
  | "failed";

export interface Replica {
  index: number;
  pid: number | null;
  port: number | null;
  state: DeploymentState;
  restarts: number;
  started_at: string | null;
}

export interface Deployment {
  name: string;
  state: DeploymentState;
  desired_state: "running" | "stopped";
  spec: Record<string, unknown>;
  endpoint: string | null;
  model_revision: string | null;
  replicas: Replica[];
  restarts: number;
  last_error: string | null;
  last_error_code: string | null;
  created_at: string;
  updated_at: string;
  usage: Record<string, string> | null;
}

export interface EventRecord {
  id: number;
  deployment: string;
  stage: Stage;
  progress: number | null;
  message: string;
  ts: number;
  bytes_done: number | null;
  bytes_total: number | null;
}

export interface EventMessage extends EventRecord {
  type: "event";
}

export interface StateMessage {
  type: "state";
  deployment: string;
  state: DeploymentState;
  last_error: string | null;
  code: string | null;
  ts: number;
}

export type ProgressMessage = EventMessage | StateMessage;

export interface Preflight {
  source_kind: string;
  parameters: number | null;
  download_bytes: number | null;
  memory_bytes: Record<string, number>;
  dtype: string;
  device: string;
  fits: boolean;
  reasons: string[];
  basis: string;
  cached: boolean;
  // Not in the API yet: shown when a later control plane reports what it detected.
  task?: string;
  runtime?: string;
}

export interface CachedModel {
  id: string;
  revisions: string[];
  size_bytes: number;
  last_modified: string | null;
  path: string;
  used_by: string[];
}

export interface StatsPoint {
  ts: number;
  requests_per_s: number;
  errors_per_s: number;
  p50_ms: number | null;
  p95_ms: number | null;
  batch_size: number | null;
}

export interface DeploymentStats {
  name: string;
  interval_s: number;
  requests_total: number;
  uptime_s: number | null;
  points: StatsPoint[];
}

export interface SystemInfo {
  hostname: string;
  platform: string;
  python_version: string;
  berth_version: string;
  cpu: {
    logical_cores: number;
    physical_cores: number | null;
    percent: number | null;
    load_average: [number, number, number];
  };
  memory: { total: number; available: number; used: number; percent: number };
  disks: { name: string; path: string; total: number; free: number }[];
  gpus: {
    index: number;
    name: string;
    memory_total: number;
    memory_used: number;
    utilization: number | null;
    driver_version: string;
    cuda_version: string | null;
  }[];
  runtimes: { runtime: string; available: boolean; missing: string[]; hint: string | null }[];
  packages: { name: string; version: string | null }[];
  processes: {
    deployment: string;
    index: number;
    port: number | null;
    pid: number;
    alive: boolean;
    cpu_percent: number | null;
    rss_bytes: number | null;
  }[];
}

export interface PredictAnswer {
  status?: string;
  result?: unknown;
  deployment_id?: string;
  inference_time_ms?: number;
  [key: string]: unknown;
}
