import { useCallback } from "react";
import { api } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";
import { usePoll } from "../../hooks/usePoll";

export function EventHistory({ name }: { name: string }) {
  const events = usePoll(useCallback(() => api.events(name), [name]), 5000);
  return (
    <section className="card wide" aria-labelledby="events-title">
      <h2 id="events-title">Events</h2>
      <ErrorMessage error={events.error} />
      <div className="table-wrap">
        <table className="events">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Stage</th>
              <th scope="col">Progress</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {[...(events.data ?? [])].reverse().map((e) => (
              <tr key={e.id} className={e.stage === "failed" ? "bad" : undefined}>
                <td className="mono">{new Date(e.ts * 1000).toLocaleTimeString()}</td>
                <td>{e.stage}</td>
                <td>{e.progress == null ? "—" : `${Math.round(e.progress)} %`}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
