import { describe, expect, it } from "vitest";
import type { EventMessage, ProgressMessage, Stage, StateMessage } from "../api/types";
import { STAGES, initialProgress, reduceAll, reduceProgress, stageElapsed } from "./progress";

let nextId = 0;
function event(stage: Stage, ts: number, progress: number | null, extra: Partial<EventMessage> = {}): EventMessage {
  nextId += 1;
  return { type: "event", id: nextId, deployment: "m", stage, progress, message: `${stage}…`, ts, bytes_done: null, bytes_total: null, ...extra };
}
function state(value: StateMessage["state"], ts: number, lastError: string | null = null): StateMessage {
  return { type: "state", deployment: "m", state: value, last_error: lastError, code: lastError ? "download_failed" : null, ts };
}

describe("reduceProgress", () => {
  it("starts empty", () => {
    const view = initialProgress();
    expect(view.percent).toBe(0);
    expect(view.current).toBe(-1);
    expect(STAGES.every((s) => view.stages[s].status === "pending")).toBe(true);
  });

  it("walks the stages in order with elapsed times", () => {
    const view = reduceAll([
      event("initializing", 100, 0),
      event("validating", 100.5, 10),
      event("loading", 102, 60),
      event("creating", 103.5, 75),
    ]);
    expect(view.current).toBe(STAGES.indexOf("creating"));
    expect(view.percent).toBe(75);
    expect(view.stages.initializing).toMatchObject({ status: "done", startedAt: 100, endedAt: 100.5 });
    expect(view.stages.validating).toMatchObject({ status: "done", endedAt: 102 });
    expect(view.stages.downloading.status).toBe("skipped"); // a local folder downloads nothing
    expect(view.stages.loading.status).toBe("done");
    expect(stageElapsed(view.stages.loading, 200)).toBe(1.5);
    expect(view.stages.creating.status).toBe("active");
    expect(stageElapsed(view.stages.creating, 104)).toBe(0.5); // still running: measured to now
    expect(view.stages.starting.status).toBe("pending");
    expect(view.outcome).toBeNull();
  });

  it("finishes at 100 % on completed and on a ready state", () => {
    const done = reduceAll([event("initializing", 1, 0), event("starting", 2, 85), event("completed", 3, 100)]);
    expect(done.percent).toBe(100);
    expect(done.stages.completed.status).toBe("done");
    expect(done.stages.starting).toMatchObject({ status: "done", endedAt: 3 });
    const ready = reduceAll([event("initializing", 1, 0), event("loading", 2, 60), state("ready", 4)]);
    expect(ready).toMatchObject({ percent: 100, outcome: "ready", state: "ready" });
    expect(STAGES.every((s) => ["done", "skipped"].includes(ready.stages[s].status))).toBe(true);
  });

  it("never goes backwards", () => {
    const view = reduceAll([
      event("downloading", 1, 40, { bytes_done: 60, bytes_total: 100 }),
      event("validating", 2, 10), // late or out of order
      event("downloading", 3, 30, { bytes_done: 50, bytes_total: 100 }),
    ]);
    expect(view.current).toBe(STAGES.indexOf("downloading"));
    expect(view.percent).toBe(40);
    expect(view.bytesDone).toBe(60);
    expect(view.stages.validating.status).toBe("skipped");
  });

  it("ignores events replayed with an id already seen", () => {
    const first = event("loading", 1, 60);
    const once = reduceAll([event("initializing", 0, 0), first]);
    expect(reduceProgress(once, first)).toBe(once);
  });

  it("reports download bytes and speed", () => {
    const view = reduceAll([
      event("downloading", 10, 15, { bytes_done: 0, bytes_total: 1000 }),
      event("downloading", 12, 35, { bytes_done: 500, bytes_total: 1000 }),
      event("downloading", 14, 55, { bytes_done: 1000, bytes_total: 1000 }),
    ]);
    expect(view).toMatchObject({ bytesDone: 1000, bytesTotal: 1000, bytesPerSecond: 250, percent: 55 });
  });

  it("marks the running stage failed and keeps the reason", () => {
    const view = reduceAll([
      event("initializing", 1, 0),
      event("downloading", 2, 15),
      event("failed", 3, null, { message: "the hub refused the download" }),
      state("failed", 4, "the hub refused the download"),
    ]);
    expect(view.outcome).toBe("failed");
    expect(view.error).toBe("the hub refused the download");
    expect(view.errorCode).toBe("download_failed");
    expect(view.stages.downloading).toMatchObject({ status: "failed", endedAt: 3 });
    expect(view.percent).toBe(15);
  });

  it("treats a stop during the deploy as a failure with a reason, but not after ready", () => {
    const stopped = reduceAll([event("loading", 1, 60), state("stopped", 2)]);
    expect(stopped).toMatchObject({ outcome: "failed", error: "The deployment was stopped." });
    const later = reduceAll([event("completed", 1, 100), state("ready", 2), state("stopped", 3)]);
    expect(later).toMatchObject({ outcome: "ready", state: "stopped", percent: 100 });
  });

  it("percent never decreases over any prefix of a stream", () => {
    const stream: ProgressMessage[] = [
      event("initializing", 1, 0),
      event("validating", 2, 10),
      event("downloading", 3, 20, { bytes_done: 1, bytes_total: 4 }),
      event("validating", 3.5, 10),
      event("downloading", 4, 55, { bytes_done: 4, bytes_total: 4 }),
      event("loading", 5, 60),
      state("deploying", 5.5),
      event("creating", 6, 75),
      event("starting", 7, 85),
      event("completed", 8, 100),
      state("ready", 9),
    ];
    let view = initialProgress();
    let previous = { percent: 0, current: -1 };
    for (const message of stream) {
      view = reduceProgress(view, message);
      expect(view.percent).toBeGreaterThanOrEqual(previous.percent);
      expect(view.current).toBeGreaterThanOrEqual(previous.current);
      previous = { percent: view.percent, current: view.current };
    }
    expect(view.percent).toBe(100);
  });
});
