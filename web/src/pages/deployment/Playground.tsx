import { type FormEvent, useState } from "react";
import { api } from "../../api/client";
import type { PredictAnswer } from "../../api/types";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatMs } from "../../lib/format";
import { describeResult, playgroundBody } from "../../lib/result";

interface Outcome {
  answer: PredictAnswer;
  roundTripMs: number;
}

export function Playground({ name, ready }: { name: string; ready: boolean }) {
  const [input, setInput] = useState("I love this product!");
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [sending, setSending] = useState(false);

  const send = async (event: FormEvent) => {
    event.preventDefault();
    setSending(true);
    setProblem(null);
    const started = performance.now();
    try {
      const answer = await api.infer(name, playgroundBody(input));
      setOutcome({ answer, roundTripMs: performance.now() - started });
    } catch (error) {
      setProblem(error);
      setOutcome(null);
    } finally {
      setSending(false);
    }
  };

  const summary = outcome ? describeResult(outcome.answer.result) : null;
  return (
    <section className="card" aria-labelledby="playground-title">
      <h2 id="playground-title">Playground</h2>
      <form onSubmit={(event) => void send(event)}>
        <label htmlFor="playground-input">Input text (or a JSON body such as {'{"inputs": ["a", "b"]}'})</label>
        <textarea id="playground-input" rows={3} value={input} onChange={(e) => setInput(e.target.value)} />
        <button type="submit" disabled={sending || !ready}>
          {sending ? "Sending…" : "Send"}
        </button>
        {!ready && <p className="hint">The playground works once the deployment is ready.</p>}
      </form>
      <ErrorMessage error={problem} />
      {outcome && (
        <div className="playground-result" aria-live="polite">
          <p>
            <strong data-testid="latency">
              {formatMs(outcome.roundTripMs)} round trip
              {outcome.answer.inference_time_ms != null && `, ${formatMs(outcome.answer.inference_time_ms)} in the worker`}
            </strong>
            {summary && <span data-testid="result-summary"> · {summary}</span>}
          </p>
          <pre className="json" tabIndex={0} aria-label="Result as JSON" data-testid="result-json">
            {JSON.stringify(outcome.answer, null, 2)}
          </pre>
        </div>
      )}
    </section>
  );
}
