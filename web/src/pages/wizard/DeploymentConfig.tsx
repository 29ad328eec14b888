import { getApiKey } from "../../api/auth";
import { NAME_RULE, nameProblem } from "../../lib/name";
import { formProblems } from "../../lib/spec";
import { Field, NumberField } from "./Field";
import type { StepProps } from "./steps";

export function DeploymentConfig({ form, update, showProblems }: StepProps<{ showProblems: boolean }>) {
  const problems = formProblems(form);
  // The name is checked as it is typed (once there is something to check, or after a Next).
  const nameError = form.name || showProblems ? nameProblem(form.name) : null;
  const shown = (key: keyof typeof problems) => (showProblems ? problems[key] : null) ?? null;
  return (
    <>
      <Field id="deployment-name" label="Deployment name" hint={`Rule: ${NAME_RULE}`} problem={nameError}>
        {(describedBy, invalid) => (
          <input
            id="deployment-name"
            type="text"
            spellCheck={false}
            autoComplete="off"
            value={form.name}
            onChange={(e) => update({ name: e.target.value })}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            required
          />
        )}
      </Field>
      <fieldset>
        <legend>Serving</legend>
        <div className="grid-3">
          <NumberField id="replicas" label="Replicas" min={1} max={64} value={form.replicas} onChange={(replicas) => update({ replicas })} problem={shown("replicas")} />
          <NumberField
            id="port"
            label="Port"
            min={1}
            max={65535}
            value={form.port === "" ? Number.NaN : Number(form.port)}
            onChange={(port) => update({ port: Number.isNaN(port) ? "" : String(port) })}
            hint="Empty: the first free worker port."
            problem={shown("port")}
          />
        </div>
      </fieldset>
      <fieldset>
        <legend>Batching</legend>
        <div className="grid-3">
          <NumberField id="max-batch-size" label="Largest batch" min={1} max={4096} value={form.maxBatchSize} onChange={(maxBatchSize) => update({ maxBatchSize })} problem={shown("maxBatchSize")} />
          <NumberField
            id="max-latency"
            label="Longest wait to fill a batch (ms)"
            min={0}
            max={10000}
            step={0.5}
            value={form.maxLatencyMs}
            onChange={(maxLatencyMs) => update({ maxLatencyMs })}
            problem={shown("maxLatencyMs")}
          />
        </div>
      </fieldset>
      <fieldset>
        <legend>Limits</legend>
        <div className="grid-3">
          <NumberField id="max-memory" label="Memory limit (GB)" min={0.1} step={0.5} value={form.maxMemoryGb} onChange={(maxMemoryGb) => update({ maxMemoryGb })} problem={shown("maxMemoryGb")} />
          <NumberField id="max-model-size" label="Largest model (GB)" min={0.1} step={0.5} value={form.maxModelSizeGb} onChange={(maxModelSizeGb) => update({ maxModelSizeGb })} problem={shown("maxModelSizeGb")} />
          <NumberField id="request-timeout" label="Request timeout (s)" min={1} max={3600} value={form.requestTimeoutS} onChange={(requestTimeoutS) => update({ requestTimeoutS })} problem={shown("requestTimeoutS")} />
        </div>
      </fieldset>
      <fieldset>
        <legend>Safety</legend>
        <label className="choice">
          <input type="checkbox" checked={form.trustRemoteCode} onChange={(e) => update({ trustRemoteCode: e.target.checked })} />
          Trust remote code (runs Python shipped with the model)
        </label>
        <label className="choice">
          <input type="checkbox" checked={form.allowPickle} onChange={(e) => update({ allowPickle: e.target.checked })} />
          Allow pickle weights (.bin, .pt: can run code when loaded)
        </label>
        <p className="hint">
          API key: {getApiKey() ? "on" : "off"} — every endpoint of this control plane {getApiKey() ? "requires" : "is open without"} a key; it is
          set with <code>BERTH_API_KEY</code> when the control plane starts, not per deployment.
        </p>
      </fieldset>
    </>
  );
}
