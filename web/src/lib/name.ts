// Deployment names are DNS-1123 labels: the same rule the API enforces with a 422. The name a source
// gets by default comes from the API (preflight's `default_name`), never from a copy of the rule here.

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
