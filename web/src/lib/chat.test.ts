import { describe, expect, it } from "vitest";
import { answerStats, chatBody, chatPath, chatSettings, chunkEvents } from "./chat";
import { SseParser, sseData } from "./sse";

describe("SseParser", () => {
  const stream = 'data: {"a":1}\n\n: keep-alive\n\ndata: {"b":\ndata: 2}\r\n\r\nevent: x\ndata: [DONE]\n\n';

  it("finds the same events however the text is cut", () => {
    const whole = new SseParser().push(stream);
    expect(whole).toEqual(['{"a":1}', '{"b":\n2}', "[DONE]"]);
    for (let size = 1; size <= 7; size += 1) {
      const parser = new SseParser();
      const events: string[] = [];
      for (let at = 0; at < stream.length; at += size) events.push(...parser.push(stream.slice(at, at + size)));
      events.push(...parser.end());
      expect(events).toEqual(whole);
    }
  });

  it("keeps a last event that lacks its blank line", () => {
    const parser = new SseParser();
    expect(parser.push("data: one\n\ndata: two")).toEqual(["one"]);
    expect(parser.end()).toEqual(["two"]);
  });

  it("reads a body stream of bytes, a character split between chunks", async () => {
    const bytes = new TextEncoder().encode('data: "é"\n\ndata: [DONE]\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 8)); // the middle of the two bytes of é
        controller.enqueue(bytes.slice(8));
        controller.close();
      },
    });
    const events: string[] = [];
    for await (const data of sseData(body)) events.push(data);
    expect(events).toEqual(['"é"', "[DONE]"]);
  });
});

describe("chat", () => {
  it("checks the settings as typed", () => {
    expect(chatSettings("64", "0.7")).toEqual({ ok: true, value: { maxTokens: 64, temperature: 0.7 } });
    expect(chatSettings("0", "1").ok).toBe(false);
    expect(chatSettings("2.5", "1").ok).toBe(false);
    expect(chatSettings("8", "3")).toEqual({ ok: false, problem: "Temperature must be a number from 0 (greedy) to 2." });
    expect(chatSettings("8", "").ok).toBe(false);
  });

  it("asks the gateway for a stream with usage", () => {
    expect(chatPath("tiny llm")).toBe("/models/tiny%20llm/v1/chat/completions");
    const body = chatBody("llm", [{ role: "user", content: "hi" }], { maxTokens: 8, temperature: 0 });
    expect(body).toMatchObject({ model: "llm", max_tokens: 8, temperature: 0, stream: true });
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it("reads text, finish and usage chunks, and throws an in-stream error", () => {
    expect(chunkEvents('{"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}')).toEqual([
      { kind: "text", text: "Hel" },
    ]);
    expect(chunkEvents('{"choices":[{"delta":{},"finish_reason":"length"}]}')).toEqual([
      { kind: "finish", reason: "length" },
    ]);
    expect(chunkEvents('{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":8,"total_tokens":13}}')).toEqual([
      { kind: "usage", promptTokens: 5, completionTokens: 8 },
    ]);
    expect(() => chunkEvents('{"error":{"code":"timeout","message":"too slow"}}')).toThrow(/too slow/);
  });

  it("measures TTFT and the decoding rate after the first token", () => {
    // 9 tokens: the first at 150 ms, the last 400 ms later: 8 tokens in 0.4 s
    expect(answerStats({ sentAt: 1000, firstTokenAt: 1150, lastTokenAt: 1550 }, 9)).toEqual({
      ttftMs: 150,
      tokensPerS: 20,
      tokens: 9,
    });
    expect(answerStats({ sentAt: 0, firstTokenAt: 40, lastTokenAt: 40 }, 1).tokensPerS).toBeNull();
    expect(answerStats({ sentAt: 0, firstTokenAt: null, lastTokenAt: null }, 0)).toEqual({
      ttftMs: null,
      tokensPerS: null,
      tokens: 0,
    });
  });
});
