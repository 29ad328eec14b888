// Folds the WebSocket's messages (stored events, then live events and state changes) into what the
// progress page shows. Pure, so a replayed history and a live stream give the same picture.
import type { DeploymentState, ProgressMessage, Stage } from "../api/types";

export const STAGES = [
  "initializing",
  "validating",
  "downloading",
  "loading",
  "creating",
  "starting",
  "completed",
] as const satisfies readonly Stage[];
export type StageName = (typeof STAGES)[number];

export const STAGE_LABELS: Record<StageName, string> = {
  initializing: "Initializing",
  validating: "Validating",
  downloading: "Downloading",
  loading: "Loading",
  creating: "Creating pipeline",
  starting: "Starting server",
  completed: "Completed",
};

export type StageStatus = "pending" | "active" | "done" | "skipped" | "failed";

export interface StageView {
  status: StageStatus;
  startedAt: number | null; // epoch seconds, from the server's event timestamps
  endedAt: number | null;
  message: string | null;
}

export interface ProgressView {
  stages: Record<StageName, StageView>;
  current: number; // index into STAGES of the furthest stage reached; -1 before any event
  percent: number; // never decreases
  bytesDone: number | null;
  bytesTotal: number | null;
  bytesPerSecond: number | null;
  state: DeploymentState | null;
  outcome: "ready" | "failed" | null;
  error: string | null;
  errorCode: string | null;
  lastEventId: number;
  download: { firstTs: number; firstBytes: number } | null;
}

export function initialProgress(): ProgressView {
  const stages = Object.fromEntries(
    STAGES.map((stage) => [stage, { status: "pending", startedAt: null, endedAt: null, message: null }]),
  ) as Record<StageName, StageView>;
  return {
    stages,
    current: -1,
    percent: 0,
    bytesDone: null,
    bytesTotal: null,
    bytesPerSecond: null,
    state: null,
    outcome: null,
    error: null,
    errorCode: null,
    lastEventId: 0,
    download: null,
  };
}

/** Close every stage before `upTo`: reached ones are done, never-reached ones skipped (e.g. no download). */
function closeBefore(stages: Record<StageName, StageView>, upTo: number, ts: number): void {
  for (const stage of STAGES.slice(0, upTo)) {
    const view = stages[stage];
    if (view.status === "active") stages[stage] = { ...view, status: "done", endedAt: ts };
    else if (view.status === "pending") stages[stage] = { ...view, status: "skipped" };
  }
}

export function reduceProgress(view: ProgressView, message: ProgressMessage): ProgressView {
  if (message.type === "state") return reduceState(view, message.state, message.last_error, message.code, message.ts);
  // The socket replays history first; an event id seen before must not count twice.
  if (message.id <= view.lastEventId) return view;
  const next: ProgressView = { ...view, stages: { ...view.stages }, lastEventId: message.id };
  if (message.stage === "failed") {
    const active = next.current >= 0 ? STAGES[next.current] : undefined;
    if (active && next.stages[active].status === "active") {
      next.stages[active] = { ...next.stages[active], status: "failed", endedAt: message.ts };
    }
    return { ...next, outcome: "failed", error: message.message };
  }
  const index = STAGES.indexOf(message.stage);
  if (index < next.current) return next; // late or repeated: the page never goes backwards
  if (index > next.current) {
    closeBefore(next.stages, index, message.ts);
    const done = message.stage === "completed";
    next.stages[message.stage] = {
      status: done ? "done" : "active",
      startedAt: message.ts,
      endedAt: done ? message.ts : null,
      message: message.message,
    };
    next.current = index;
  } else {
    next.stages[message.stage] = { ...next.stages[message.stage], message: message.message };
  }
  if (message.progress != null) next.percent = Math.max(next.percent, Math.min(100, message.progress));
  if (message.stage === "completed") next.percent = 100;
  if (message.stage === "downloading" && message.bytes_done != null) {
    next.download = next.download ?? { firstTs: message.ts, firstBytes: message.bytes_done };
    next.bytesDone = Math.max(next.bytesDone ?? 0, message.bytes_done);
    next.bytesTotal = message.bytes_total ?? next.bytesTotal;
    const seconds = message.ts - next.download.firstTs;
    if (seconds > 0) next.bytesPerSecond = (next.bytesDone - next.download.firstBytes) / seconds;
  }
  return next;
}

function reduceState(
  view: ProgressView,
  state: DeploymentState,
  lastError: string | null,
  code: string | null,
  ts: number,
): ProgressView {
  const next: ProgressView = { ...view, state };
  if (state === "ready") {
    // ready means every stage is behind us, even if some events were never stored
    const stages = { ...view.stages };
    closeBefore(stages, STAGES.length - 1, ts);
    if (stages.completed.status !== "done") {
      stages.completed = { status: "done", startedAt: ts, endedAt: ts, message: stages.completed.message };
    }
    return { ...next, stages, current: STAGES.length - 1, percent: 100, outcome: "ready", error: null };
  }
  if (state === "failed" || state === "stopped") {
    if (view.outcome === "ready") return next; // a later stop does not undo a finished deploy
    const stages = { ...view.stages };
    const active = view.current >= 0 ? STAGES[view.current] : undefined;
    if (active && stages[active].status === "active") {
      stages[active] = { ...stages[active], status: "failed", endedAt: ts };
    }
    const error = lastError ?? view.error ?? (state === "stopped" ? "The deployment was stopped." : null);
    return { ...next, stages, outcome: "failed", error, errorCode: code ?? view.errorCode };
  }
  return next;
}

export function reduceAll(messages: readonly ProgressMessage[]): ProgressView {
  return messages.reduce(reduceProgress, initialProgress());
}

/** Seconds a stage took, or has taken so far when it is still running at `now`. */
export function stageElapsed(view: StageView, now: number): number | null {
  if (view.startedAt == null) return null;
  return Math.max(0, (view.endedAt ?? now) - view.startedAt);
}
