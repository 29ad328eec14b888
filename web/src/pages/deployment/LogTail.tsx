import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";
import { usePoll } from "../../hooks/usePoll";

export function LogTail({ name }: { name: string }) {
  const [paused, setPaused] = useState(false);
  const logs = usePoll(useCallback(() => api.logs(name, 200), [name]), 2000, !paused);
  const box = useRef<HTMLPreElement>(null);
  // Stay at the bottom as lines arrive, unless the reader scrolled up to look at something.
  useEffect(() => {
    const el = box.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [logs.data]);
  return (
    <section className="card wide" aria-labelledby="logs-title">
      <div className="section-head">
        <h2 id="logs-title">Log</h2>
        <button type="button" className="secondary small" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? "Resume" : "Pause"}
        </button>
      </div>
      <ErrorMessage error={logs.error} />
      <pre ref={box} className="log" tabIndex={0} aria-label={`Last 200 log lines of ${name}`} data-testid="log">
        {logs.data || "No log lines yet."}
      </pre>
    </section>
  );
}
