// Binary outputs in an answer (an image, a mesh, any file): found, measured, named and shown.
// In JSON the worker writes each one as `{"data": base64, "media_type": "image/png"}`, either as an
// input's whole result or as a value of a result object keyed by output name; with `?format=raw` the
// answer is the bytes themselves, with the media type as Content-Type. See docs/protocols.md.

export interface BinaryOutput {
  /** Where in the answer it is, e.g. `result[0]` or `result[0].mesh`. */
  path: string;
  mediaType: string;
  base64: string;
  bytes: number;
}

interface EncodedBlob {
  data: string;
  media_type: string;
}

/** `{"data": base64, "media_type": "type/subtype"}` and nothing else: how a binary output is written. */
export function isEncodedBlob(value: unknown): value is EncodedBlob {
  if (value == null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  const { data, media_type } = value as Record<string, unknown>;
  return (
    keys.length === 2 &&
    typeof data === "string" &&
    typeof media_type === "string" &&
    /^[\w.+-]+\/[\w.+-]+$/.test(media_type)
  );
}

/** How many bytes a base64 string decodes to (padding and whitespace allowed). */
export function base64Bytes(text: string): number {
  const compact = text.replace(/\s/g, "");
  const padding = compact.endsWith("==") ? 2 : compact.endsWith("=") ? 1 : 0;
  return Math.floor((compact.length * 3) / 4) - padding;
}

/** Every binary output in a `/predict` answer's `result`, in order. */
export function binaryOutputs(result: unknown): BinaryOutput[] {
  const found: BinaryOutput[] = [];
  const visit = (value: unknown, path: string, depth: number) => {
    if (isEncodedBlob(value)) {
      found.push({ path, mediaType: value.media_type, base64: value.data, bytes: base64Bytes(value.data) });
    } else if (depth < 3 && Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${path}[${index}]`, depth + 1));
    } else if (depth < 3 && value != null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) visit(item, `${path}.${key}`, depth + 1);
    }
  };
  visit(result, "result", 0);
  return found;
}

// NOTE: the types every current browser draws in an <img>; TIFF and the like are offered as a download.
const SHOWN_IMAGES = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/bmp",
  "image/svg+xml",
  "image/x-icon",
]);

/** Whether the playground can show a result of this media type inline as an image. */
export function isShownImage(mediaType: string): boolean {
  return SHOWN_IMAGES.has(mediaType.split(";")[0]!.trim().toLowerCase());
}

/** The bytes a base64 string holds, for a Blob (and so a blob: URL the browser keeps out of the DOM). */
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/\s/g, ""));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const EXTENSIONS: Record<string, string> = {
  "model/gltf-binary": "glb",
  "model/gltf+json": "gltf",
  "model/obj": "obj",
  "model/stl": "stl",
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/svg+xml": "svg",
  "audio/wav": "wav",
  "audio/x-wav": "wav",
  "audio/flac": "flac",
  "audio/ogg": "ogg",
  "audio/mpeg": "mp3",
  "application/json": "json",
  "application/pdf": "pdf",
  "application/zip": "zip",
  "text/plain": "txt",
};

/** A file name for a download link: `glbmaker-result-0.glb` for a mesh at `result[0]`. */
export function downloadName(deployment: string, path: string, mediaType: string): string {
  const stem = path.replace(/\[(\d+)\]/g, "-$1").replace(/\./g, "-");
  const extension = EXTENSIONS[mediaType.split(";")[0]!.trim().toLowerCase()] ?? "bin";
  return `${deployment}-${stem}.${extension}`;
}

const SHOWN_BASE64 = 48;

/** The answer as the playground prints it: each binary output's base64 cut to its start and its size. */
export function withoutBase64(answer: unknown): unknown {
  // NOTE: an image or mesh is kilobytes to megabytes of base64; printed whole it buries the answer and
  // slows the page. The image or download link beside it carries the bytes.
  if (isEncodedBlob(answer)) {
    if (answer.data.length <= SHOWN_BASE64) return answer;
    const size = base64Bytes(answer.data);
    return { ...answer, data: `${answer.data.slice(0, SHOWN_BASE64)}… (${size} bytes in all)` };
  }
  if (Array.isArray(answer)) return answer.map(withoutBase64);
  if (answer != null && typeof answer === "object") {
    return Object.fromEntries(Object.entries(answer).map(([key, value]) => [key, withoutBase64(value)]));
  }
  return answer;
}
