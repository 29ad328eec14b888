import { CodeBlock } from "../../components/CodeBlock";
import { ErrorMessage } from "../../components/ErrorMessage";
import { ApiError } from "../../api/client";
import { type DeploymentSpec, specToYaml } from "../../lib/spec";

interface Props {
  spec: DeploymentSpec;
  deploying: boolean;
  problem: unknown;
  onEditName: () => void;
}

export function DeploymentSummary({ spec, deploying, problem, onEditName }: Props) {
  const conflict = problem instanceof ApiError && problem.status === 409;
  return (
    <>
      <p>
        This is the deployment spec berth will run. The same YAML works with <code>berth deploy spec.yaml</code> and
        the exporters.
      </p>
      <CodeBlock title="Deployment spec (YAML)" code={specToYaml(spec)} id="spec-yaml" />
      {problem != null && (
        <div className="error-box" role="alert">
          <strong>The deployment was not started.</strong> <ErrorMessage error={problem} />
          {conflict && (
            <button type="button" className="secondary" onClick={onEditName}>
              Change the name
            </button>
          )}
        </div>
      )}
      {deploying && <p aria-live="polite">Starting the deployment…</p>}
    </>
  );
}
