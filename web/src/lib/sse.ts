// Server-sent events from a fetch body: `EventSource` cannot POST or send an API key header, so the
// chat reads the stream itself. Only `data` matters here (OpenAI's streams send nothing else).

/** Splits text, arriving in arbitrary pieces, into the `data` of each complete event. */
export class SseParser {
  private buffer = "";
  private data: string[] = [];

  /** The events that `text` completes, in order; an incomplete line waits for the next piece. */
  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    let end: number;
    while ((end = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, end);
      // NOTE: a "\r" at the very end may be the first half of "\r\n": wait for the next piece.
      if (this.buffer[end] === "\r" && end + 1 === this.buffer.length) break;
      const width = this.buffer.startsWith("\r\n", end) ? 2 : 1;
      this.buffer = this.buffer.slice(end + width);
      this.line(line, events);
    }
    return events;
  }

  /** The last event of a stream that ended without its blank line, if any. */
  end(): string[] {
    const events: string[] = [];
    if (this.buffer) this.line(this.buffer, events);
    this.buffer = "";
    this.line("", events);
    return events;
  }

  private line(line: string, events: string[]): void {
    if (line === "") {
      if (this.data.length) events.push(this.data.join("\n"));
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return; // a comment (a keep-alive)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== "data") return;
    const value = colon < 0 ? "" : line.slice(colon + 1);
    this.data.push(value.startsWith(" ") ? value.slice(1) : value);
  }
}

/** The `data` of each event of `body` as it arrives; cancelling the fetch ends it with an AbortError. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder(); // `stream: true` keeps a character split between chunks whole
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    yield* parser.end();
  } finally {
    // NOTE: a consumer that stops early (at `[DONE]`) cancels the rest, which closes the connection.
    await reader.cancel().catch(() => undefined);
  }
}
