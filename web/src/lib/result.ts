// What the playground says about an answer: an embedding's size, and the body it should send.

/** The shape of a rectangular array of numbers (`[[0.1, …384]]` → [1, 384]), or null if it is not one. */
export function numericShape(value: unknown): number[] | null {
  if (typeof value === "number") return [];
  if (!Array.isArray(value) || value.length === 0) return null;
  const inner = numericShape(value[0]);
  if (inner == null) return null;
  for (const item of value) {
    const shape = numericShape(item);
    if (shape == null || shape.join() !== inner.join()) return null;
  }
  return [value.length, ...inner];
}

export function describeResult(result: unknown): string | null {
  const shape = numericShape(result);
  if (shape == null || shape.length === 0) return null;
  const width = shape.at(-1);
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return rows === 1 ? `An embedding of ${width} numbers` : `${rows} vectors of ${width} numbers`;
}

/** Plain text is sent as `{"text": …}`; a JSON object typed in is sent as it is (e.g. `{"inputs": […]}`). */
export function playgroundBody(input: string): unknown {
  const trimmed = input.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
    } catch {
      // not JSON after all: it is text that happens to start with a brace
    }
  }
  return { text: input };
}
