import { describe, expect, it } from "vitest";
import { describeResult, numericShape, playgroundBody } from "./result";

describe("numericShape", () => {
  it("measures rectangular number arrays", () => {
    expect(numericShape([[0.1, 0.2, 0.3]])).toEqual([1, 3]);
    expect(numericShape([1, 2])).toEqual([2]);
    expect(numericShape([[1], [2, 3]])).toBeNull();
    expect(numericShape([{ label: "POSITIVE" }])).toBeNull();
    expect(numericShape([])).toBeNull();
  });

  it("describes an embedding", () => {
    expect(describeResult([Array.from({ length: 384 }, () => 0.5)])).toBe("An embedding of 384 numbers");
    expect(describeResult([[1, 2], [3, 4], [5, 6]])).toBe("3 vectors of 2 numbers");
    expect(describeResult([{ label: "x", score: 1 }])).toBeNull();
  });
});

describe("playgroundBody", () => {
  it("wraps text and passes JSON objects through", () => {
    expect(playgroundBody("I love this")).toEqual({ text: "I love this" });
    expect(playgroundBody('{"inputs": ["a", "b"]}')).toEqual({ inputs: ["a", "b"] });
    expect(playgroundBody("{not json")).toEqual({ text: "{not json" });
    expect(playgroundBody("[1, 2]")).toEqual({ text: "[1, 2]" });
  });
});
