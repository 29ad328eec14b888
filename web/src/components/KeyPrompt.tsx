import { type FormEvent, useEffect, useRef, useState } from "react";
import { setApiKey } from "../api/auth";

/** Asks once for the control plane's API key (BERTH_API_KEY); it is kept for this tab only. */
export function KeyPrompt({ reason, onSaved }: { reason: string | null; onSaved: () => void }) {
  const [key, setKey] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!key.trim()) {
      setProblem("Enter the API key.");
      input.current?.focus();
      return;
    }
    setApiKey(key.trim());
    onSaved();
  };

  return (
    <section className="card key-prompt" aria-labelledby="key-title">
      <h1 id="key-title">API key needed</h1>
      <p>
        This berth control plane is protected by an API key (<code>BERTH_API_KEY</code>). Enter it to continue; it
        is kept in this browser tab only.
      </p>
      {reason && (
        <p className="error" role="alert">
          {reason}
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          ref={input}
          type="password"
          autoComplete="current-password"
          value={key}
          onChange={(event) => setKey(event.target.value)}
          aria-invalid={problem != null}
          aria-describedby={problem ? "api-key-problem" : undefined}
        />
        {problem && (
          <p className="error" id="api-key-problem">
            {problem}
          </p>
        )}
        <button type="submit">Continue</button>
      </form>
    </section>
  );
}
