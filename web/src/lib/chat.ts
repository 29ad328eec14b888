// The chat playground's talk with a text-generation deployment: its OpenAI-compatible
// `/v1/chat/completions`, streamed, through the control plane's gateway `/models/{name}/...`.
import { request } from "../api/client";
import { sseData } from "./sse";
import type { Built } from "./taskInputs";

export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}

export interface ChatSettings {
  maxTokens: number;
  temperature: number;
}

/** What one streamed chunk says: new text, the finish reason, or the token counts (the last chunk). */
export type ChatEvent =
  | { kind: "text"; text: string }
  | { kind: "finish"; reason: string }
  | { kind: "usage"; promptTokens: number; completionTokens: number };

/** The two fields as typed, checked against what the route accepts (max_tokens ≥ 1, temperature 0–2). */
export function chatSettings(maxTokens: string, temperature: string): Built<ChatSettings> {
  const tokens = Number(maxTokens);
  if (maxTokens.trim() === "" || !Number.isInteger(tokens) || tokens < 1) {
    return { ok: false, problem: "Max tokens must be a whole number of at least 1." };
  }
  const heat = Number(temperature);
  if (temperature.trim() === "" || !Number.isFinite(heat) || heat < 0 || heat > 2) {
    return { ok: false, problem: "Temperature must be a number from 0 (greedy) to 2." };
  }
  return { ok: true, value: { maxTokens: tokens, temperature: heat } };
}

export function chatPath(name: string): string {
  return `/models/${encodeURIComponent(name)}/v1/chat/completions`;
}

export function chatBody(name: string, messages: ChatMessage[], settings: ChatSettings): Record<string, unknown> {
  return {
    model: name,
    messages,
    max_tokens: settings.maxTokens,
    temperature: settings.temperature,
    stream: true,
    stream_options: { include_usage: true },
  };
}

interface Chunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  error?: { message?: string };
}

/** The events in one chunk's JSON; an error sent inside the stream (after its 200) is thrown. */
export function chunkEvents(data: string): ChatEvent[] {
  const chunk = JSON.parse(data) as Chunk;
  if (chunk.error) throw new Error(`The model stopped with an error: ${chunk.error.message ?? "no reason given"}`);
  const events: ChatEvent[] = [];
  for (const choice of chunk.choices ?? []) {
    if (choice.delta?.content) events.push({ kind: "text", text: choice.delta.content });
    if (choice.finish_reason) events.push({ kind: "finish", reason: choice.finish_reason });
  }
  if (chunk.usage) {
    events.push({
      kind: "usage",
      promptTokens: chunk.usage.prompt_tokens,
      completionTokens: chunk.usage.completion_tokens,
    });
  }
  return events;
}

/**
 * Send the conversation and call `onEvent` for each event as it streams in, until `[DONE]`.
 * Aborting `signal` rejects with an AbortError and closes the connection, which cancels the
 * generation on the worker.
 */
export async function streamChat(
  name: string,
  messages: ChatMessage[],
  settings: ChatSettings,
  signal: AbortSignal,
  onEvent: (event: ChatEvent) => void,
): Promise<void> {
  const init = { method: "POST", body: JSON.stringify(chatBody(name, messages, settings)), signal };
  const response = await request(chatPath(name), init);
  if (!response.body) throw new Error("The answer came without a body to stream.");
  for await (const data of sseData(response.body)) {
    if (data === "[DONE]") return;
    for (const event of chunkEvents(data)) onEvent(event);
  }
}

/** When an answer's parts arrived, in `performance.now()` milliseconds. */
export interface AnswerTiming {
  sentAt: number;
  firstTokenAt: number | null;
  lastTokenAt: number | null;
}

export interface AnswerStats {
  ttftMs: number | null;
  tokensPerS: number | null;
  tokens: number;
}

/**
 * Time to first token, and the decoding rate: the tokens after the first over the time after it
 * (the first one's wait is the TTFT, so it is not counted twice). One token gives no rate.
 */
export function answerStats(timing: AnswerTiming, tokens: number): AnswerStats {
  const { sentAt, firstTokenAt, lastTokenAt } = timing;
  const ttftMs = firstTokenAt == null ? null : firstTokenAt - sentAt;
  const decodingMs = firstTokenAt == null || lastTokenAt == null ? 0 : lastTokenAt - firstTokenAt;
  const tokensPerS = tokens >= 2 && decodingMs > 0 ? ((tokens - 1) * 1000) / decodingMs : null;
  return { ttftMs, tokensPerS, tokens };
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}
