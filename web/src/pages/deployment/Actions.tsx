import { useState } from "react";
import { api } from "../../api/client";
import type { Deployment } from "../../api/types";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorMessage } from "../../components/ErrorMessage";
import { navigate } from "../../hooks/useRoute";

type Verb = "restart" | "stop" | "start";

interface Props {
  deployment: Deployment;
  onChanged: () => void;
  onRemoving: () => void;
}

export function Actions({ deployment, onChanged, onRemoving }: Props) {
  const [busy, setBusy] = useState<string | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const running = deployment.desired_state === "running";

  const act = async (verb: Verb) => {
    setBusy(verb);
    setProblem(null);
    try {
      await api.action(deployment.name, verb);
      onChanged();
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(null);
    }
  };

  const remove = async () => {
    setConfirming(false);
    setBusy("delete");
    onRemoving();
    try {
      await api.remove(deployment.name);
      navigate({ page: "dashboard" });
    } catch (error) {
      setProblem(error);
      setBusy(null);
    }
  };

  return (
    <div className="actions" role="group" aria-label="Actions">
      <button type="button" className="secondary" onClick={() => void act("restart")} disabled={busy != null}>
        {busy === "restart" ? "Restarting…" : "Restart"}
      </button>
      {running ? (
        <button type="button" className="secondary" onClick={() => void act("stop")} disabled={busy != null}>
          {busy === "stop" ? "Stopping…" : "Stop"}
        </button>
      ) : (
        <button type="button" className="secondary" onClick={() => void act("start")} disabled={busy != null}>
          {busy === "start" ? "Starting…" : "Start"}
        </button>
      )}
      <button type="button" className="danger" onClick={() => setConfirming(true)} disabled={busy != null}>
        {busy === "delete" ? "Deleting…" : "Delete"}
      </button>
      <ErrorMessage error={problem} />
      <ConfirmDialog
        open={confirming}
        title={`Delete ${deployment.name}?`}
        message="Its workers are stopped after their current requests and the deployment is forgotten. The model stays in the cache."
        confirmLabel="Delete"
        onConfirm={() => void remove()}
        onCancel={() => setConfirming(false)}
      />
    </div>
  );
}
