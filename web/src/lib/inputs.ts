// Which input of a deployment the playground sends a file to, what its picker accepts and how it is sent.
// The deployment's signature (filled from the worker once it is ready) names each input's content:
// text (null), "image", "audio" or "file". A model whose one input takes a file gets a file picker;
// a model with several inputs keeps the JSON textarea, where a file is a base64 string or data: URI.
import type { Signature, Tensor } from "../api/types";

const FILE_CONTENT: readonly string[] = ["image", "audio", "file"];

/** Whether a tensor carries a file (an image, audio or any bytes) rather than text or numbers. */
export function takesFile(tensor: Tensor): boolean {
  return tensor.content != null && FILE_CONTENT.includes(tensor.content);
}

/** The input a chosen file goes to: the model's only input, when it takes a file; else null. */
export function fileInput(signature: Signature | null | undefined): Tensor | null {
  const inputs = signature?.inputs ?? [];
  const [only] = inputs;
  return inputs.length === 1 && only && takesFile(only) ? only : null;
}

/** The file picker's `accept`: images, the audio the worker decodes, or a file input's own type. */
export function acceptFor(tensor: Tensor): string | undefined {
  switch (tensor.content) {
    case "image":
      return "image/*";
    case "audio":
      return "audio/*,.wav,.flac,.ogg,.mp3";
    default:
      return tensor.media_type ?? undefined; // any file, unless the input names its type
  }
}

/** What the drop zone's label says it takes, e.g. "an image (PNG, JPEG, …)". */
export function describeFileInput(tensor: Tensor): string {
  switch (tensor.content) {
    case "image":
      return "an image (PNG, JPEG, WebP, …)";
    case "audio":
      return "an audio file (WAV, FLAC, OGG, MP3)";
    default:
      return tensor.media_type ? `a file (${tensor.media_type})` : "a file";
  }
}

/** The first output that is a file (an image, a mesh…): the playground then offers its raw bytes. */
export function binaryOutput(signature: Signature | null | undefined): Tensor | null {
  return signature?.outputs.find(takesFile) ?? null;
}

/** A multipart body with the file in field `file`, as `curl -F file=@PATH` sends it, and any parameters
 * as one JSON field `parameters`. */
export function fileBody(file: Blob, filename: string, parameters: Record<string, unknown> = {}): FormData {
  const form = new FormData();
  form.append("file", file, filename);
  if (Object.keys(parameters).length) form.append("parameters", JSON.stringify(parameters));
  return form;
}
