import type { Task } from "../../api/types";
import { type FormKind, type TaskForm, paramFields } from "../../lib/taskInputs";

interface Props {
  task: Task | null;
  form: TaskForm;
  update: (change: Partial<TaskForm>) => void;
}

/** The typed inputs of a task that takes more than one text, or a series. */
export function TaskInputs({ kind, form, update }: { kind: Exclude<FormKind, "text">; form: TaskForm; update: Props["update"] }) {
  switch (kind) {
    case "question-answering":
      return (
        <>
          <label htmlFor="playground-question">Question</label>
          <input id="playground-question" value={form.question} onChange={(e) => update({ question: e.target.value })} />
          <label htmlFor="playground-context">Context (the text the answer is in)</label>
          <textarea id="playground-context" rows={4} value={form.context} onChange={(e) => update({ context: e.target.value })} />
        </>
      );
    case "text-ranking":
      return (
        <>
          <label htmlFor="playground-query">Query</label>
          <input id="playground-query" value={form.query} onChange={(e) => update({ query: e.target.value })} />
          <label htmlFor="playground-documents">Documents (one per line)</label>
          <textarea id="playground-documents" rows={5} value={form.documents} onChange={(e) => update({ documents: e.target.value })} />
        </>
      );
    case "series":
      return (
        <>
          <label htmlFor="playground-series">Series (numbers, comma or newline separated)</label>
          <textarea id="playground-series" rows={3} value={form.series} onChange={(e) => update({ series: e.target.value })} />
        </>
      );
  }
}

/** The task's parameters: candidate labels, top k, a threshold, a prediction length or timestamps. */
export function TaskParameters({ task, form, update }: Props) {
  const fields = paramFields(task);
  if (fields.length === 0) return null;
  return (
    <div className="grid-2 task-parameters">
      {fields.map((field) => {
        switch (field) {
          case "labels":
            return (
              <div className="field" key={field}>
                <label htmlFor="playground-labels">Candidate labels (comma separated)</label>
                <input
                  id="playground-labels"
                  value={form.labels}
                  placeholder="cat, dog, car"
                  onChange={(e) => update({ labels: e.target.value })}
                />
              </div>
            );
          case "topK":
            return (
              <div className="field" key={field}>
                <label htmlFor="playground-top-k">Top k (labels shown)</label>
                <input
                  id="playground-top-k"
                  type="number"
                  min={1}
                  step={1}
                  value={form.topK}
                  onChange={(e) => update({ topK: e.target.value })}
                />
              </div>
            );
          case "threshold":
            return (
              <div className="field" key={field}>
                <label htmlFor="playground-threshold">Threshold (lowest score drawn, 0–1)</label>
                <input
                  id="playground-threshold"
                  type="number"
                  min={0}
                  max={1}
                  step={0.05}
                  value={form.threshold}
                  onChange={(e) => update({ threshold: e.target.value })}
                />
              </div>
            );
          case "predictionLength":
            return (
              <div className="field" key={field}>
                <label htmlFor="playground-prediction-length">Prediction length (steps)</label>
                <input
                  id="playground-prediction-length"
                  type="number"
                  min={1}
                  step={1}
                  value={form.predictionLength}
                  onChange={(e) => update({ predictionLength: e.target.value })}
                />
              </div>
            );
          case "timestamps":
            return (
              <label className="choice" key={field}>
                <input type="checkbox" checked={form.timestamps} onChange={(e) => update({ timestamps: e.target.checked })} />
                Ask for timestamps (return_timestamps)
              </label>
            );
        }
      })}
    </div>
  );
}
