import { useEffect, useState } from "react";
import { api } from "../../api/client";
import type { CachedModel, Preflight, SourceDescription } from "../../api/types";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatBytes } from "../../lib/format";
import { TASKS, describeTask } from "../../lib/tasks";
import { Field } from "./Field";
import { PreflightResult } from "./PreflightResult";
import type { StepProps } from "./steps";

type Props = StepProps<{
  preflight: Preflight | null;
  described: SourceDescription | null; // the API's kind for the current source, once it has answered
  checking: boolean;
  problem: unknown;
  onCheck: () => void;
}>;

export function ModelSelection({ form, update, preflight, described, checking, problem, onCheck }: Props) {
  const [models, setModels] = useState<CachedModel[] | null>(null);
  const [modelsError, setModelsError] = useState<unknown>(null);
  useEffect(() => {
    api.models().then(setModels, setModelsError);
  }, []);

  return (
    <>
      <fieldset className="cached-models">
        <legend>Models in the cache</legend>
        <ErrorMessage error={modelsError} />
        {models?.length === 0 && <p className="muted">No models in the Hugging Face cache yet.</p>}
        {models?.map((model) => (
          <label key={model.id} className="choice">
            <input
              type="radio"
              name="cached-model"
              value={model.id}
              checked={form.source === model.id}
              onChange={() => update({ source: model.id })}
            />
            <span className="mono">{model.id}</span>
            <span className="muted">
              {formatBytes(model.size_bytes)}
              {model.used_by.length > 0 && ` · used by ${model.used_by.join(", ")}`}
            </span>
          </label>
        ))}
      </fieldset>
      <Field
        id="model-source"
        label="Hugging Face model id or local path"
        hint="For example sentence-transformers/all-MiniLM-L6-v2, /models/my-model, ./model.onnx or mypkg.module:Predictor."
        problem={null}
      >
        {(describedBy) => (
          <input
            id="model-source"
            type="text"
            spellCheck={false}
            autoComplete="off"
            value={form.source}
            onChange={(event) => update({ source: event.target.value })}
            aria-describedby={describedBy}
            aria-invalid={problem != null}
          />
        )}
      </Field>
      {described?.kind === "hub" && (
        <Field id="model-revision" label="Revision" hint="A branch, tag or commit of the hub repository.">
          {(describedBy) => (
            <input
              id="model-revision"
              type="text"
              spellCheck={false}
              value={form.revision}
              onChange={(event) => update({ revision: event.target.value })}
              aria-describedby={describedBy}
            />
          )}
        </Field>
      )}
      {(described?.kind === "hub" || described?.kind === "local") && (
        <Field
          id="model-file"
          label="File (optional)"
          hint="For a repository or folder of several GGUF files: a glob choosing the one to serve, such as *Q4_K_M.gguf. Only that file is downloaded."
        >
          {(describedBy) => (
            <input
              id="model-file"
              type="text"
              spellCheck={false}
              autoComplete="off"
              placeholder="*Q4_K_M.gguf"
              value={form.file}
              onChange={(event) => update({ file: event.target.value })}
              aria-describedby={describedBy}
            />
          )}
        </Field>
      )}
      <Field id="model-task" label="Task" hint="auto detects the task from the model's configuration.">
        {(describedBy) => (
          <select id="model-task" value={form.task} onChange={(event) => update({ task: event.target.value })} aria-describedby={describedBy}>
            {TASKS.map((task) => (
              <option key={task} value={task}>
                {`${task}: ${describeTask(task)}`}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div className="row">
        <button type="button" className="secondary" onClick={onCheck} disabled={checking || !form.source.trim()}>
          {checking ? "Checking…" : "Check model"}
        </button>
      </div>
      {problem != null && (
        <div className="error-box" role="alert" id="model-problem">
          <strong>This model cannot be used.</strong> <ErrorMessage error={problem} />
        </div>
      )}
      {preflight && !problem && <PreflightResult preflight={preflight} />}
    </>
  );
}
