// The control plane's API shapes under the names the UI uses. They are aliases of ./schema.d.ts, which
// openapi-typescript generates from web/openapi.json (the control plane's OpenAPI document, written by
// `python -m berth.control.openapi`); `make ui` regenerates both, and a test fails when either drifts.
// Never edit a shape here: change the pydantic model, then run `make ui`.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type DeploymentState = Schemas["DeploymentState"];
export type Stage = Schemas["Stage"];
export type SourceKind = Schemas["SourceKind"];

export type Replica = Schemas["ReplicaPublic"];
export type Deployment = Schemas["DeploymentPublic"];
export type EventRecord = Schemas["EventRecord"];
export type EventMessage = Schemas["EventMessage"];
export type StateMessage = Schemas["StateMessage"];
export type ProgressMessage = EventMessage | StateMessage;
export type Preflight = Schemas["PreflightPublic"];
export type SourceDescription = Schemas["SourceDescription"];
export type CachedModel = Schemas["CachedModel"];
export type StatsPoint = Schemas["StatsPoint"];
export type DeploymentStats = Schemas["DeploymentStats"];
export type SystemInfo = Schemas["SystemInfo"];
export type Signature = Schemas["SignaturePublic"];
export type Tensor = Schemas["TensorPublic"];
export type Task = Schemas["Task"];

// NOTE: not in the OpenAPI document: `POST /api/v1/deployments/{name}/inference` passes the worker's
// own answer through untouched, and its shape depends on the deployment's protocol (docs/protocols.md).
export interface PredictAnswer {
  status?: string;
  result?: unknown;
  deployment_id?: string;
  inference_time_ms?: number;
  [key: string]: unknown;
}
