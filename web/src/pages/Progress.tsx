import { useEffect, useRef } from "react";
import { ErrorMessage } from "../components/ErrorMessage";
import { Link } from "../components/Link";
import { ProgressBar } from "../components/ProgressBar";
import { useNow } from "../hooks/useNow";
import { useProgressSocket } from "../hooks/useProgressSocket";
import { navigate } from "../hooks/useRoute";
import { formatBytes, formatDuration } from "../lib/format";
import { STAGES, STAGE_LABELS, type StageStatus, stageElapsed } from "../lib/progress";

const STATUS_TEXT: Record<StageStatus, string> = {
  pending: "waiting",
  active: "in progress",
  done: "done",
  skipped: "not needed",
  failed: "failed",
};

export function Progress({ name }: { name: string }) {
  const { view, status } = useProgressSocket(name);
  const now = useNow(view.outcome == null);
  const outcomeRef = useRef<HTMLDivElement>(null);
  useEffect(() => outcomeRef.current?.focus(), [view.outcome]);

  if (status === "not-found") {
    return (
      <section className="card">
        <h1>No deployment named {name}</h1>
        <ErrorMessage error={`There is no deployment called "${name}"; it may have been removed.`} />
        <Link to={{ page: "dashboard" }}>Go to the dashboard</Link>
      </section>
    );
  }

  const downloading = view.stages.downloading;
  return (
    <div className="page">
      <div className="page-head">
        <h1>Deploying {name}</h1>
        <span className="muted" aria-live="polite">
          {status === "open" ? "live" : status === "connecting" ? "connecting…" : "reconnecting…"}
        </span>
      </div>
      <section className="card" aria-labelledby="progress-title">
        <h2 id="progress-title" className="visually-hidden">
          Progress
        </h2>
        <ProgressBar percent={view.percent} label={`Deployment of ${name}`} />
        <ol className="stages" aria-label="Stages">
          {STAGES.map((stage) => {
            const s = view.stages[stage];
            const elapsed = stageElapsed(s, now);
            return (
              <li key={stage} className={`stage stage-${s.status}`} data-stage={stage} data-status={s.status}>
                <span className="stage-icon" aria-hidden="true" />
                <span className="stage-name">{STAGE_LABELS[stage]}</span>
                <span className="stage-status">{STATUS_TEXT[s.status]}</span>
                <span className="stage-time">{elapsed == null ? "" : formatDuration(elapsed)}</span>
                {s.message && s.status !== "pending" && <span className="stage-message">{s.message}</span>}
                {stage === "downloading" && view.bytesDone != null && downloading.status !== "skipped" && (
                  <span className="stage-message">
                    {formatBytes(view.bytesDone)} of {formatBytes(view.bytesTotal)}
                    {view.bytesPerSecond != null && ` at ${formatBytes(view.bytesPerSecond)}/s`}
                  </span>
                )}
              </li>
            );
          })}
        </ol>
      </section>
      {view.outcome === "ready" && (
        <div className="card outcome ok" ref={outcomeRef} tabIndex={-1} role="status">
          <h2>{name} is ready</h2>
          <button type="button" onClick={() => navigate({ page: "deployment", name })}>
            Open {name}
          </button>
        </div>
      )}
      {view.outcome === "failed" && (
        <div className="card outcome bad" ref={outcomeRef} tabIndex={-1}>
          <h2>The deployment failed</h2>
          <ErrorMessage error={view.error ?? "The deployment stopped without a reason."} />
          <div className="actions">
            <button type="button" onClick={() => navigate({ page: "wizard" })}>
              Back to the wizard
            </button>
            <Link to={{ page: "deployment", name }}>See its logs and events</Link>
          </div>
        </div>
      )}
    </div>
  );
}
