import { useCallback } from "react";
import { api } from "../api/client";
import type { Deployment, DeploymentStats } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { Link } from "../components/Link";
import { StateBadge } from "../components/StateBadge";
import { usePoll } from "../hooks/usePoll";
import { navigate } from "../hooks/useRoute";
import { formatDuration, formatMs, formatRate } from "../lib/format";
import { HostPanel } from "./HostPanel";

const REFRESH_MS = 3000;

interface Row {
  deployment: Deployment;
  stats: DeploymentStats | null;
}

async function loadRows(): Promise<Row[]> {
  const deployments = await api.deployments();
  // stats are extra: a deployment removed between the two calls just shows no numbers
  const stats = await Promise.allSettled(deployments.map((d) => api.stats(d.name)));
  return deployments.map((deployment, i) => {
    const result = stats[i];
    return { deployment, stats: result?.status === "fulfilled" ? result.value : null };
  });
}

export function Dashboard() {
  const rows = usePoll(useCallback(loadRows, []), REFRESH_MS);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Deployments</h1>
        <button type="button" onClick={() => navigate({ page: "wizard" })}>
          New deployment
        </button>
      </div>
      <ErrorMessage error={rows.error} />
      {rows.data && rows.data.length === 0 && (
        <p className="card empty">
          Nothing deployed yet. <Link to={{ page: "wizard" }}>Deploy a model</Link> in five steps.
        </p>
      )}
      {rows.data && rows.data.length > 0 && <DeploymentTable rows={rows.data} />}
      <HostPanel />
    </div>
  );
}

function DeploymentTable({ rows }: { rows: Row[] }) {
  return (
    <div className="table-wrap card">
      <table className="deployments">
        <caption className="visually-hidden">Deployments, refreshed every {REFRESH_MS / 1000} seconds</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">State</th>
            <th scope="col">Endpoint</th>
            <th scope="col">Replicas</th>
            <th scope="col">Requests/s</th>
            <th scope="col">p50</th>
            <th scope="col">Restarts</th>
            <th scope="col">Uptime</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ deployment: d, stats }) => {
            const last = stats?.points.at(-1);
            const ready = d.replicas.filter((r) => r.state === "ready").length;
            const wanted = Number(d.spec.replicas ?? d.replicas.length) || d.replicas.length;
            return (
              <tr key={d.name} data-deployment={d.name}>
                <th scope="row">
                  <Link to={d.state === "deploying" ? { page: "progress", name: d.name } : { page: "deployment", name: d.name }}>
                    {d.name}
                  </Link>
                </th>
                <td>
                  <StateBadge state={d.state} />
                </td>
                <td className="mono">{d.endpoint ?? "—"}</td>
                <td>
                  {ready}/{wanted}
                </td>
                <td>{formatRate(last?.requests_per_s)}</td>
                <td>{formatMs(last?.p50_ms)}</td>
                <td>{d.restarts}</td>
                <td>{formatDuration(stats?.uptime_s)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
