import { useCallback, useState } from "react";
import { ApiError, api } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Link } from "../../components/Link";
import { StateBadge } from "../../components/StateBadge";
import { usePoll } from "../../hooks/usePoll";
import { formatDuration } from "../../lib/format";
import { deploymentTask } from "../../lib/tasks";
import { Actions } from "./Actions";
import { ChatPlayground } from "./ChatPlayground";
import { EventHistory } from "./EventHistory";
import { LogTail } from "./LogTail";
import { Playground } from "./Playground";
import { StatsCharts } from "./StatsCharts";
import { UsageExamples } from "./UsageExamples";

export function DeploymentPage({ name }: { name: string }) {
  // Polling stops while an action removes the deployment, so no request races the delete.
  const [live, setLive] = useState(true);
  const deployment = usePoll(useCallback(() => api.deployment(name), [name]), 2000, live);
  const d = deployment.data;

  if (deployment.error instanceof ApiError && deployment.error.status === 404) {
    return (
      <section className="card">
        <h1>No deployment named {name}</h1>
        <p>
          It may have been removed. <Link to={{ page: "dashboard" }}>Go to the dashboard</Link>.
        </p>
      </section>
    );
  }
  return (
    <div className="page deployment">
      <div className="page-head">
        <h1>
          {name} {d && <StateBadge state={d.state} />}
        </h1>
        {d && <Actions deployment={d} onChanged={deployment.refresh} onRemoving={() => setLive(false)} />}
      </div>
      <ErrorMessage error={deployment.error} />
      {d && (
        <section className="card" aria-labelledby="overview-title">
          <h2 id="overview-title">Overview</h2>
          <dl className="facts">
            <dt>Endpoint</dt>
            <dd className="mono" data-testid="endpoint">
              {d.endpoint ?? "not listening yet"}
            </dd>
            <dt>Model</dt>
            <dd className="mono">{String((d.spec.model as { source?: string } | undefined)?.source ?? "")}</dd>
            <dt>Replicas</dt>
            <dd>
              {d.replicas.filter((r) => r.state === "ready").length}/{d.replicas.length} ready
              {d.replicas.map((r) => ` · #${r.index} ${r.state}${r.port ? ` on :${r.port}` : ""}`).join("")}
            </dd>
            <dt>Restarts</dt>
            <dd>{d.restarts}</dd>
            <dt>Created</dt>
            <dd>
              {new Date(d.created_at).toLocaleString()} ({formatDuration((Date.now() - Date.parse(d.created_at)) / 1000)} ago)
            </dd>
          </dl>
          {d.last_error && (
            <p className="error" role="alert">
              Last error: {d.last_error}
            </p>
          )}
          {d.state === "deploying" && <Link to={{ page: "progress", name }}>Follow the deploy</Link>}
        </section>
      )}
      {live && d && (
        <div className="columns">
          {deploymentTask(d) === "text-generation" ? (
            <ChatPlayground name={name} ready={d.state === "ready"} />
          ) : (
            <Playground name={name} ready={d.state === "ready"} signature={d.signature} task={deploymentTask(d)} />
          )}
          <UsageExamples deployment={d} />
          <StatsCharts name={name} />
          <LogTail name={name} />
          <EventHistory name={name} />
        </div>
      )}
    </div>
  );
}
