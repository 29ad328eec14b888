import { describe, expect, it } from "vitest";
import { DEFAULT_FORM, buildSpec, formProblems, specToYaml, yamlToSpec } from "./spec";

const form = { ...DEFAULT_FORM, source: "sentence-transformers/all-MiniLM-L6-v2", name: "minilm" };

describe("buildSpec", () => {
  it("maps the wizard's answers onto the deployment spec", () => {
    expect(buildSpec(form)).toEqual({
      name: "minilm",
      model: { source: "sentence-transformers/all-MiniLM-L6-v2" },
      task: "auto",
      runtime: "auto",
      device: "auto",
      dtype: "auto",
      replicas: 1,
      batching: { max_batch_size: 32, max_latency_ms: 5 },
      limits: { max_model_size_gb: 20, max_memory_gb: 16, request_timeout_s: 30 },
      port: null,
      trust_remote_code: false,
      allow_pickle: false,
    });
  });

  it("keeps a revision unless the API says the source is not a hub id, and parses the port", () => {
    const pinned = { ...form, revision: "v1.0" };
    expect(buildSpec(pinned, "minilm", "hub").model).toEqual({ source: form.source, revision: "v1.0" });
    expect(buildSpec(pinned).model).toEqual({ source: form.source, revision: "v1.0" }); // kind not known yet
    for (const kind of ["local", "onnx", "gguf", "python"] as const) {
      expect(buildSpec({ ...pinned, source: " ./models/x " }, "x", kind).model).toEqual({ source: "./models/x" });
    }
    expect(buildSpec({ ...form, revision: "main" }, "minilm", "hub").model).toEqual({ source: form.source });
    expect(buildSpec({ ...form, port: "8150" }).port).toBe(8150);
    expect(buildSpec({ ...form, port: "" }).port).toBeNull();
  });

  it("writes a file glob to model.file for a hub repo or a folder, never for a single-file source", () => {
    const chosen = { ...form, source: "Qwen/Qwen3-0.6B-GGUF", file: " *Q4_K_M.gguf " };
    expect(buildSpec(chosen, "qwen", "hub").model).toEqual({ source: "Qwen/Qwen3-0.6B-GGUF", file: "*Q4_K_M.gguf" });
    expect(buildSpec({ ...chosen, revision: "v2" }).model).toEqual({
      source: "Qwen/Qwen3-0.6B-GGUF",
      revision: "v2",
      file: "*Q4_K_M.gguf",
    });
    expect(buildSpec({ ...chosen, source: "./ggufs" }, "g", "local").model).toEqual({ source: "./ggufs", file: "*Q4_K_M.gguf" });
    for (const kind of ["onnx", "gguf", "python"] as const) {
      expect(buildSpec({ ...chosen, source: "./x.gguf" }, "x", kind).model).toEqual({ source: "./x.gguf" });
    }
    expect(buildSpec({ ...chosen, file: "  " }, "qwen", "hub").model).toEqual({ source: "Qwen/Qwen3-0.6B-GGUF" });
    expect(specToYaml(buildSpec(chosen, "qwen", "hub"))).toContain(
      'model:\n  source: Qwen/Qwen3-0.6B-GGUF\n  file: "*Q4_K_M.gguf"\n',
    );
  });
});

describe("specToYaml", () => {
  it("writes readable YAML", () => {
    const text = specToYaml(buildSpec(form));
    expect(text).toContain("name: minilm\n");
    expect(text).toContain("model:\n  source: sentence-transformers/all-MiniLM-L6-v2\n");
    expect(text).toContain("batching:\n  max_batch_size: 32\n  max_latency_ms: 5\n");
    expect(text).toContain("port: null\n");
  });

  it.each([
    "sentence-transformers/all-MiniLM-L6-v2",
    "/path with spaces/model: v2",
    "./yes",
    "123",
    "null",
    "# not a comment",
    "C:\\models\\x",
    "pkg.mod:Predictor",
    "'quoted' \"double\"",
  ])("round-trips the source %j", (source) => {
    const spec = buildSpec({ ...form, source, port: "9000", device: "cuda:1", dtype: "float16" });
    expect(yamlToSpec(specToYaml(spec))).toEqual(spec);
  });
});

describe("formProblems", () => {
  it("accepts the defaults", () => {
    expect(formProblems(form)).toEqual({});
  });

  it("names each bad number", () => {
    const problems = formProblems({ ...form, replicas: 0, maxBatchSize: 1.5, port: "70000", maxMemoryGb: 0 });
    expect(Object.keys(problems).sort()).toEqual(["maxBatchSize", "maxMemoryGb", "port", "replicas"]);
  });
});
