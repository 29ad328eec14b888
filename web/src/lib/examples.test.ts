import { describe, expect, it } from "vitest";
import { curlV2Example, tritonExample } from "./examples";

describe("tritonExample", () => {
  it("targets the V2 infer route of the endpoint", () => {
    const code = tritonExample("minilm", "http://127.0.0.1:8100", false);
    expect(code).toContain('InferenceServerClient(url="127.0.0.1:8100")');
    expect(code).toContain("/v2/models/minilm/infer");
    expect(code).toContain('client.infer("minilm", [text])');
    expect(code).not.toContain("BERTH_API_KEY");
  });

  it("takes the input's name from the model's metadata and prints every output as an array", () => {
    const code = tritonExample("minilm", "http://127.0.0.1:8100", false);
    expect(code).toContain('client.get_model_metadata("minilm")');
    expect(code).toContain('InferInput(metadata["inputs"][0]["name"], [1], "BYTES")');
    expect(code).toContain('result.as_numpy(output["name"])');
  });

  it("reads the key from the environment when the API is secured", () => {
    const code = tritonExample("minilm", "http://127.0.0.1:8100", true);
    expect(code.startsWith("import os\n")).toBe(true);
    expect(code).toContain("os.environ['BERTH_API_KEY']");
    expect(curlV2Example("m", "http://h:1", true)).toContain("Bearer $BERTH_API_KEY");
  });
});
