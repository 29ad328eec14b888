import { describe, expect, it } from "vitest";
import document from "../../openapi.json?raw";
import { TASKS, deploymentTask, describeTask } from "./tasks";

const spec = (task?: string) => ({ name: "m", model: { source: "./m" }, ...(task ? { task } : {}) });

describe("TASKS", () => {
  it("is the control plane's Task enum, in its order", () => {
    const enumerated = (JSON.parse(document) as { components: { schemas: { Task: { enum: string[] } } } })
      .components.schemas.Task.enum;
    expect(TASKS).toEqual(enumerated);
    expect(TASKS).toContain("object-detection");
    expect(TASKS[0]).toBe("auto");
  });

  it("describes each task", () => {
    expect(describeTask("time-series-forecasting")).toMatch(/forecast/);
    expect(new Set(TASKS.map(describeTask)).size).toBe(TASKS.length);
  });
});

describe("deploymentTask", () => {
  it("takes the task the worker reported over the spec's auto", () => {
    const signature = { inputs: [], outputs: [], task: "object-detection" as const };
    expect(deploymentTask({ signature, spec: spec() })).toBe("object-detection");
  });

  it("falls back on the spec's task, and knows none for auto or a name it lacks", () => {
    expect(deploymentTask({ signature: null, spec: spec("text-ranking") })).toBe("text-ranking");
    expect(deploymentTask({ signature: { inputs: [], outputs: [], task: null }, spec: spec() })).toBeNull();
    expect(deploymentTask({ signature: null, spec: spec("auto") })).toBeNull();
    expect(deploymentTask({ signature: null, spec: spec("painting") })).toBeNull();
  });
});
