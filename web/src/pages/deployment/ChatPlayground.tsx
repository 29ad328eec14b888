import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import { ErrorMessage } from "../../components/ErrorMessage";
import { type AnswerStats, type ChatMessage, answerStats, chatSettings, isAbort, streamChat } from "../../lib/chat";
import { describeInferenceError } from "../../lib/errors";
import { formatMs, formatRate } from "../../lib/format";

interface LastAnswer {
  stats: AnswerStats;
  /** "stop" or "length" from the model; "stopped" when Stop ended it. */
  ending: string | null;
}

interface Props {
  name: string;
  ready: boolean;
}

/** The playground of a text-generation deployment: a conversation streamed from its chat route. */
export function ChatPlayground({ name, ready }: Props) {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [streaming, setStreaming] = useState<string | null>(null); // the answer arriving, null when none
  const [input, setInput] = useState("");
  const [maxTokens, setMaxTokens] = useState("128");
  const [temperature, setTemperature] = useState("0.7");
  const [last, setLast] = useState<LastAnswer | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const controller = useRef<AbortController | null>(null);
  const sending = streaming != null;

  useEffect(() => () => controller.current?.abort(), []); // leaving the page cancels the generation

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    if (sending) return;
    const settings = chatSettings(maxTokens, temperature);
    if (!settings.ok) {
      setProblem(settings.problem);
      return;
    }
    if (!input.trim()) {
      setProblem("Type a message first, then press Send.");
      return;
    }
    const conversation: ChatMessage[] = [...messages, { role: "user", content: input }];
    const abort = new AbortController();
    controller.current = abort;
    setMessages(conversation);
    setInput("");
    setProblem(null);
    setStreaming("");
    const timing = { sentAt: performance.now(), firstTokenAt: null as number | null, lastTokenAt: null as number | null };
    let text = "";
    let chunks = 0;
    let counted: number | null = null; // the worker's completion_tokens, once its usage chunk arrives
    let ending: string | null = null;
    try {
      await streamChat(name, conversation, settings.value, abort.signal, (update) => {
        if (update.kind === "text") {
          timing.lastTokenAt = performance.now();
          timing.firstTokenAt ??= timing.lastTokenAt;
          chunks += 1;
          text += update.text;
          setStreaming(text);
        } else if (update.kind === "finish") {
          ending = update.reason;
        } else {
          counted = update.completionTokens;
        }
      });
    } catch (error) {
      if (isAbort(error)) ending = "stopped";
      else setProblem(describeInferenceError(error));
    } finally {
      controller.current = null;
      if (text) setMessages([...conversation, { role: "assistant", content: text }]);
      setStreaming(null);
      // NOTE: a stopped answer has no usage chunk: its chunks (one per engine step) stand in for tokens.
      if (timing.firstTokenAt != null) setLast({ stats: answerStats(timing, counted ?? chunks), ending });
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
  };

  const shown = streaming == null ? messages : [...messages, { role: "assistant" as const, content: streaming }];
  return (
    <section className="card" aria-labelledby="playground-title">
      <h2 id="playground-title">Chat</h2>
      {shown.length > 0 ? (
        <ol className="chat-messages" data-testid="chat-messages" aria-busy={sending}>
          {shown.map((message, index) => (
            <li key={index} className={`chat-message chat-${message.role}`}>
              <span className="chat-role">{message.role === "user" ? "You" : name}</span>
              <p className="generated-text">{message.content || (sending && index === shown.length - 1 ? "…" : "")}</p>
            </li>
          ))}
        </ol>
      ) : (
        <p className="hint">Send a message: the answer streams in token by token from the deployment's chat route.</p>
      )}
      {last && (
        <p className="chat-stats" data-testid="chat-stats" aria-live="polite">
          <strong>
            Last answer: {formatMs(last.stats.ttftMs)} to first token ·{" "}
            {last.stats.tokensPerS == null ? "—" : formatRate(last.stats.tokensPerS)} tokens/s · {last.stats.tokens} tokens
          </strong>
          {last.ending && ` (${last.ending})`}
        </p>
      )}
      <form onSubmit={(event) => void send(event)}>
        <label htmlFor="chat-input">Message (Enter sends, Shift+Enter starts a new line)</label>
        <textarea id="chat-input" rows={3} value={input} onChange={(e) => setInput(e.target.value)} onKeyDown={onKeyDown} />
        <div className="grid-2 task-parameters">
          <div className="field">
            <label htmlFor="chat-max-tokens">Max tokens</label>
            <input
              id="chat-max-tokens"
              type="number"
              min={1}
              step={1}
              value={maxTokens}
              onChange={(e) => setMaxTokens(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="chat-temperature">Temperature (0 = greedy, up to 2)</label>
            <input
              id="chat-temperature"
              type="number"
              min={0}
              max={2}
              step={0.1}
              value={temperature}
              onChange={(e) => setTemperature(e.target.value)}
            />
          </div>
        </div>
        <div className="actions">
          <button type="submit" disabled={sending || !ready}>
            {sending ? "Answering…" : "Send"}
          </button>
          <button type="button" className="secondary" disabled={!sending} onClick={() => controller.current?.abort()}>
            {/* NOTE: not just "Stop": the page's actions have a Stop that stops the deployment */}
            Stop answer
          </button>
          <button
            type="button"
            className="secondary"
            disabled={sending || messages.length === 0}
            onClick={() => {
              setMessages([]);
              setLast(null);
              setProblem(null);
            }}
          >
            New chat
          </button>
        </div>
        {!ready && <p className="hint">The chat works once the deployment is ready.</p>}
      </form>
      <ErrorMessage error={problem} />
    </section>
  );
}
