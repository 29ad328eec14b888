import type { DeploymentState } from "../api/types";

// Colour is never the only signal: the state's name is always written in the badge.
export function StateBadge({ state }: { state: DeploymentState }) {
  return <span className={`badge state-${state}`}>{state}</span>;
}
