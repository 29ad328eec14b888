import { describe, expect, it } from "vitest";
import { base64Bytes, base64ToBytes, binaryOutputs, downloadName, isEncodedBlob, isShownImage, withoutBase64 } from "./binary";

// base64 by the platform's own encoder, independent of the code under test
const base64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));
// a PNG's signature and the start of its header chunk; a GLB header (magic, version 2, length 20)
const PNG = [137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82];
const GLB = [...ascii("glTF"), 2, 0, 0, 0, 20, 0, 0, 0];
const blob = (bytes: number[], media_type: string) => ({ data: base64(bytes), media_type });

describe("base64", () => {
  it("measures and decodes what the platform's encoder wrote", () => {
    for (const length of [0, 1, 2, 3, 4, 5, 16, 100]) {
      const bytes = Array.from({ length }, (_, i) => (i * 37) % 256);
      expect(base64Bytes(base64(bytes))).toBe(length);
      expect([...base64ToBytes(base64(bytes))]).toEqual(bytes);
    }
    expect(base64Bytes("iVBO\nRw0K")).toBe(6); // whitespace, as some encoders wrap lines
  });
});

describe("binaryOutputs", () => {
  it("finds an input's whole result, and outputs keyed by name", () => {
    const found = binaryOutputs([blob(PNG, "image/png"), { label: "chair", mesh: blob(GLB, "model/gltf-binary") }]);
    expect(found.map(({ path, mediaType, bytes }) => ({ path, mediaType, bytes }))).toEqual([
      { path: "result[0]", mediaType: "image/png", bytes: PNG.length },
      { path: "result[1].mesh", mediaType: "model/gltf-binary", bytes: GLB.length },
    ]);
    expect(found[0]?.base64).toBe(base64(PNG));
  });

  it("sees none in text, numbers and look-alikes", () => {
    expect(binaryOutputs([[0.1, 0.2]])).toEqual([]);
    expect(binaryOutputs([{ label: "POSITIVE", score: 0.99 }])).toEqual([]);
    expect(binaryOutputs(["aGVsbG8="])).toEqual([]);
    expect(isEncodedBlob({ data: "aGVsbG8=", media_type: "not a type" })).toBe(false);
    expect(isEncodedBlob({ data: "aGVsbG8=", media_type: "image/png", extra: 1 })).toBe(false);
    expect(isEncodedBlob({ data: 1, media_type: "image/png" })).toBe(false);
    expect(binaryOutputs(undefined)).toEqual([]);
  });
});

describe("showing and naming", () => {
  it("shows only the images a browser draws", () => {
    expect(isShownImage("image/png")).toBe(true);
    expect(isShownImage("IMAGE/JPEG; q=1")).toBe(true);
    expect(isShownImage("image/tiff")).toBe(false);
    expect(isShownImage("model/gltf-binary")).toBe(false);
  });

  it("names a download by deployment, place and type", () => {
    expect(downloadName("glbmaker", "result[0]", "model/gltf-binary")).toBe("glbmaker-result-0.glb");
    expect(downloadName("swatch", "result[1].image", "image/png")).toBe("swatch-result-1-image.png");
    expect(downloadName("echo", "result", "application/x-unknown")).toBe("echo-result.bin");
  });

  it("prints base64 cut short with its size, and leaves the rest as it was", () => {
    const big = Array.from({ length: 300 }, () => 7);
    const answer = { status: "success", result: [blob(big, "model/gltf-binary"), blob(ascii("hi"), "text/plain")] };
    const shown = withoutBase64(answer) as { status: string; result: { data: string; media_type: string }[] };
    expect(shown.status).toBe("success");
    expect(shown.result[0]?.data).toBe(`${base64(big).slice(0, 48)}… (300 bytes in all)`);
    expect(shown.result[0]?.media_type).toBe("model/gltf-binary");
    expect(shown.result[1]).toEqual(blob(ascii("hi"), "text/plain"));
    expect(answer.result[0]?.data).toBe(base64(big)); // the answer itself is untouched
  });
});
