// Every REST call goes through here: one error shape, the API key header, and 401 → key prompt.
import { authHeaders, getApiKey, requireKey } from "./auth";
import type {
  CachedModel,
  Deployment,
  DeploymentStats,
  EventRecord,
  Preflight,
  PredictAnswer,
  SourceDescription,
  SystemInfo,
} from "./types";

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

async function errorFrom(response: Response): Promise<ApiError> {
  let code = "http_error";
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body: unknown = await response.json();
    const error = (body as { error?: { code?: string; message?: string } }).error;
    if (error?.message) message = error.message;
    if (error?.code) code = error.code;
  } catch {
    // not JSON (a proxy's error page): the status line is the best we have
  }
  return new ApiError(response.status, code, message);
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) };
  // NOTE: only a JSON string is labelled here; a FormData body gets its multipart boundary from fetch.
  if (typeof init.body === "string") headers["Content-Type"] = "application/json";
  const response = await fetch(path.startsWith("/") ? path : `${API}/${path}`, { ...init, headers });
  if (response.ok) return response;
  const error = await errorFrom(response);
  if (response.status === 401) requireKey(getApiKey() ? "That API key was not accepted." : null);
  throw error;
}

async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await request(path, init);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

const post = (body?: unknown): RequestInit => ({
  method: "POST",
  body: body === undefined ? undefined : JSON.stringify(body),
});

export const api = {
  system: () => json<SystemInfo>("system"),
  models: () => json<CachedModel[]>("models"),
  preflight: (spec: unknown) => json<Preflight>("preflight", post(spec)),
  describeSource: (source: string) =>
    json<SourceDescription>(`sources/describe?source=${encodeURIComponent(source)}`),
  deploy: (spec: unknown) => json<Deployment>("deploy", post(spec)),
  deployments: () => json<Deployment[]>("deployments"),
  deployment: (name: string) => json<Deployment>(`deployments/${encodeURIComponent(name)}`),
  stats: (name: string) => json<DeploymentStats>(`deployments/${encodeURIComponent(name)}/stats`),
  events: (name: string) => json<EventRecord[]>(`deployments/${encodeURIComponent(name)}/events`),
  logs: async (name: string, tail = 200) =>
    (await request(`deployments/${encodeURIComponent(name)}/logs?tail=${tail}`)).text(),
  action: (name: string, verb: "start" | "stop" | "restart") =>
    json<Deployment>(`deployments/${encodeURIComponent(name)}/${verb}`, post()),
  remove: (name: string) => json<void>(`deployments/${encodeURIComponent(name)}`, { method: "DELETE" }),
  infer: (name: string, body: unknown, raw = false) => infer(name, body, raw),
};

/** An inference answer: the worker's JSON, or with `raw` a binary output's own bytes and media type. */
export type InferenceAnswer =
  | { kind: "json"; answer: PredictAnswer }
  | { kind: "raw"; blob: Blob; mediaType: string };

/** `body` is JSON, or a FormData sent as multipart/form-data; `raw` asks for `?format=raw`. */
async function infer(name: string, body: unknown, raw: boolean): Promise<InferenceAnswer> {
  const path = `deployments/${encodeURIComponent(name)}/inference${raw ? "?format=raw" : ""}`;
  const response = await request(path, body instanceof FormData ? { method: "POST", body } : post(body));
  const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType === "application/json") return { kind: "json", answer: (await response.json()) as PredictAnswer };
  return { kind: "raw", blob: await response.blob(), mediaType: mediaType || "application/octet-stream" };
}
