import { describe, expect, it } from "vitest";
import type { Signature, Tensor } from "../api/types";
import { acceptFor, binaryOutput, describeFileInput, fileBody, fileInput, takesFile } from "./inputs";

const tensor = (name: string, content: string | null = null, media_type: string | null = null): Tensor => ({
  name,
  datatype: "BYTES",
  shape: [-1],
  content,
  media_type,
});

const signature = (inputs: Tensor[], outputs: Tensor[] = [tensor("output")]): Signature => ({
  inputs,
  outputs,
  task: null,
});

describe("fileInput", () => {
  it("is the only input when it takes an image, audio or a file", () => {
    for (const content of ["image", "audio", "file"]) {
      expect(fileInput(signature([tensor("x", content)]))?.name).toBe("x");
    }
  });

  it("is null for text, numbers, several inputs and no signature", () => {
    expect(fileInput(signature([tensor("text")]))).toBeNull();
    expect(fileInput(signature([{ ...tensor("features"), datatype: "FP32", shape: [-1, 4] }]))).toBeNull();
    expect(fileInput(signature([tensor("text", "text")]))).toBeNull();
    expect(fileInput(signature([tensor("image", "image"), tensor("prompt")]))).toBeNull();
    expect(fileInput(signature([]))).toBeNull();
    expect(fileInput(null)).toBeNull();
    expect(fileInput(undefined)).toBeNull();
  });

  it("tells file tensors from text ones", () => {
    expect(takesFile(tensor("image", "image"))).toBe(true);
    expect(takesFile(tensor("text", "text"))).toBe(false);
    expect(takesFile(tensor("text"))).toBe(false);
  });
});

describe("the picker", () => {
  it("accepts images, the audio the worker decodes, or a file input's own type", () => {
    expect(acceptFor(tensor("image", "image"))).toBe("image/*");
    expect(acceptFor(tensor("audio", "audio"))).toBe("audio/*,.wav,.flac,.ogg,.mp3");
    expect(acceptFor(tensor("mesh", "file", "model/gltf-binary"))).toBe("model/gltf-binary");
    expect(acceptFor(tensor("file", "file"))).toBeUndefined();
  });

  it("says what it takes", () => {
    expect(describeFileInput(tensor("image", "image"))).toMatch(/^an image/);
    expect(describeFileInput(tensor("audio", "audio"))).toMatch(/^an audio file/);
    expect(describeFileInput(tensor("file", "file"))).toBe("a file");
    expect(describeFileInput(tensor("mesh", "file", "model/gltf-binary"))).toBe("a file (model/gltf-binary)");
  });
});

describe("binaryOutput", () => {
  it("is the first output that is a file", () => {
    const glb = tensor("mesh", "file", "model/gltf-binary");
    expect(binaryOutput(signature([tensor("image", "image")], [tensor("label"), glb]))).toEqual(glb);
    expect(binaryOutput(signature([tensor("image", "image")], [tensor("label")]))).toBeNull();
    expect(binaryOutput(null)).toBeNull();
  });
});

describe("fileBody", () => {
  it("puts the file in the multipart field curl -F file=@PATH uses", async () => {
    const form = fileBody(new Blob([new Uint8Array([137, 80, 78, 71])], { type: "image/png" }), "cat.png");
    expect([...form.keys()]).toEqual(["file"]);
    const sent = form.get("file") as File;
    expect(sent.name).toBe("cat.png");
    expect(sent.type).toBe("image/png");
    expect([...new Uint8Array(await sent.arrayBuffer())]).toEqual([137, 80, 78, 71]);
  });

  it("adds the parameters as one JSON field, and only when there are some", () => {
    const form = fileBody(new Blob(["x"]), "a.png", { threshold: 0.3, candidate_labels: ["cat", "dog"] });
    expect([...form.keys()]).toEqual(["file", "parameters"]);
    expect(JSON.parse(form.get("parameters") as string)).toEqual({ threshold: 0.3, candidate_labels: ["cat", "dog"] });
    expect([...fileBody(new Blob(["x"]), "a.png", {}).keys()]).toEqual(["file"]);
  });
});
