import { useCallback } from "react";
import { api } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";
import { LineChart } from "../../components/LineChart";
import { usePoll } from "../../hooks/usePoll";
import { formatCount, formatDuration, formatMs, formatRate } from "../../lib/format";

export function StatsCharts({ name }: { name: string }) {
  const stats = usePoll(useCallback(() => api.stats(name), [name]), 5000);
  const points = stats.data?.points ?? [];
  // text generation reports tokens, time to first token and its engine's sequences; other tasks null
  const generating = points.some((p) => p.tokens_per_s != null);
  const last = points.at(-1);
  return (
    <section className="card wide" aria-labelledby="stats-title">
      <div className="section-head">
        <h2 id="stats-title">Traffic</h2>
        {stats.data && (
          <span className="muted">
            {formatCount(stats.data.requests_total)} requests · up {formatDuration(stats.data.uptime_s)} · sampled every{" "}
            {stats.data.interval_s} s
            {generating && (
              <>
                {" "}· {last?.sequences_running ?? 0} sequences running, {last?.sequences_waiting ?? 0} waiting
              </>
            )}
          </span>
        )}
      </div>
      <ErrorMessage error={stats.error} />
      <div className="charts">
        <LineChart title="Requests per second" unit="req/s" format={formatRate} points={points.map((p) => ({ t: p.ts, v: p.requests_per_s }))} />
        <LineChart title="Latency p50" unit="ms" format={formatMs} points={points.map((p) => ({ t: p.ts, v: p.p50_ms }))} />
        <LineChart title="Mean batch size" unit="items" format={(v) => v.toFixed(1)} points={points.map((p) => ({ t: p.ts, v: p.batch_size }))} />
        {generating && (
          <>
            <LineChart title="Tokens per second" unit="tok/s" format={formatRate} points={points.map((p) => ({ t: p.ts, v: p.tokens_per_s ?? null }))} />
            <LineChart title="Time to first token p50" unit="ms" format={formatMs} points={points.map((p) => ({ t: p.ts, v: p.ttft_p50_ms ?? null }))} />
            <LineChart title="Sequences running" unit="seqs" format={(v) => v.toFixed(0)} points={points.map((p) => ({ t: p.ts, v: p.sequences_running ?? null }))} />
          </>
        )}
      </div>
    </section>
  );
}
