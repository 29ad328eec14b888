import { describe, expect, it } from "vitest";
import { NAME_PATTERN, nameProblem } from "./name";

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
