// Deployment names are DNS-1123 labels (DESIGN.md): the same rule the API enforces with a 422.

export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const NAME_RULE =
  "1–63 characters: lowercase letters, digits and '-', starting and ending with a letter or digit.";

/** Why `name` is not a valid deployment name, in plain words, or null when it is. */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return "Enter a name.";
  if (name.length > 63) return `Too long: ${name.length} characters, at most 63.`;
  if (/[A-Z]/.test(name)) return "Use lowercase letters only.";
  const bad = [...new Set(name.replace(/[-a-z0-9]/g, ""))];
  if (bad.length > 0) return `Not allowed: ${bad.map((c) => (c === " " ? "space" : `'${c}'`)).join(", ")}.`;
  if (name.startsWith("-") || name.endsWith("-")) return "Start and end with a letter or digit, not '-'.";
  return NAME_PATTERN.test(name) ? null : "Not a valid name.";
}

/** A valid name suggested from a model source: `sentence-transformers/all-MiniLM-L6-v2` → `all-minilm-l6-v2`. */
export function suggestName(source: string): string {
  const parts = source
    .trim()
    .replace(/[\\/]+$/, "")
    .split(/[\\/]/)
    .filter((part) => part && part !== "." && part !== "..");
  // a package's model folder is often just "model": the folder above names it better
  let last = parts.at(-1) ?? "";
  if (/^(model|models|onnx)$/i.test(last) && parts.length > 1) last = parts.at(-2) ?? last;
  last = last.replace(/\.(onnx|safetensors)$/i, "").replace(/:.*/, "");
  const name = last
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return name || "model";
}
