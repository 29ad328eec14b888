import type { SystemInfo } from "../../api/types";
import { CodeBlock } from "../../components/CodeBlock";
import { Field } from "./Field";
import type { StepProps } from "./steps";

const RUNTIMES = ["auto", "transformers", "sentence-transformers", "onnx", "python", "llama-cpp"];

export function DependencyManager({ form, update, system }: StepProps<{ system: SystemInfo | null }>) {
  const chosen = system?.runtimes.find((r) => r.runtime === form.runtime);
  return (
    <>
      <Field
        id="runtime"
        label="Runtime"
        hint="auto picks one from the model's files: sentence-transformers for its folders, onnx for .onnx files, python for module:Class."
      >
        {(describedBy) => (
          <select id="runtime" value={form.runtime} onChange={(e) => update({ runtime: e.target.value })} aria-describedby={describedBy}>
            {RUNTIMES.map((runtime) => (
              <option key={runtime} value={runtime}>
                {runtime}
              </option>
            ))}
          </select>
        )}
      </Field>
      {chosen && !chosen.available && (
        <p className="error" role="alert">
          The {chosen.runtime} runtime needs {chosen.missing.join(", ")}, which this host lacks.
        </p>
      )}
      <div className="table-wrap">
        <table>
          <caption>Python packages each runtime needs</caption>
          <thead>
            <tr>
              <th scope="col">Runtime</th>
              <th scope="col">Status</th>
              <th scope="col">What to do</th>
            </tr>
          </thead>
          <tbody>
            {system?.runtimes.map((r) => (
              <tr key={r.runtime} className={r.runtime === form.runtime ? "selected" : undefined}>
                <th scope="row">{r.runtime}</th>
                <td className={r.available ? "ok" : "bad"}>{r.available ? "present" : `missing: ${r.missing.join(", ")}`}</td>
                <td>{r.hint ? <CodeBlock title={`Install the ${r.runtime} runtime`} code={r.hint} /> : "nothing"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <details>
        <summary>Installed package versions</summary>
        <dl className="facts">
          {system?.packages.map((p) => (
            <div key={p.name} className="fact">
              <dt>{p.name}</dt>
              <dd className={p.version ? undefined : "muted"}>{p.version ?? "not installed"}</dd>
            </div>
          ))}
        </dl>
      </details>
    </>
  );
}
