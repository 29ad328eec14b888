import { type FormEvent, useState } from "react";
import { type InferenceAnswer, api } from "../../api/client";
import type { Signature, Task } from "../../api/types";
import { ErrorMessage } from "../../components/ErrorMessage";
import { FileDrop } from "../../components/FileDrop";
import { describeInferenceError } from "../../lib/errors";
import { acceptFor, binaryOutput, describeFileInput, fileBody, fileInput, takesFile } from "../../lib/inputs";
import { playgroundBody } from "../../lib/result";
import { EMPTY_FORM, type Sent, type TaskForm, buildJsonBody, buildParameters, formKind } from "../../lib/taskInputs";
import { PlaygroundAnswer } from "./PlaygroundAnswer";
import { ResultPicture } from "./pictures/ResultPicture";
import { TaskInputs, TaskParameters } from "./TaskFields";

interface Outcome {
  answer: InferenceAnswer;
  roundTripMs: number;
  file: File | null; // what the answer is drawn against: the file and the inputs sent
  sent: Sent;
}

interface Props {
  name: string;
  ready: boolean;
  /** What the model takes and gives; null until the deployment has been ready once. */
  signature?: Signature | null;
  /** The task it serves (reported by the worker, or the spec's), which picks the form's fields. */
  task?: Task | null;
}

export function Playground({ name, ready, signature, task = null }: Props) {
  const [form, setForm] = useState<TaskForm>(EMPTY_FORM);
  const update = (change: Partial<TaskForm>) => setForm((current) => ({ ...current, ...change }));
  const [file, setFile] = useState<File | null>(null);
  const [raw, setRaw] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const target = fileInput(signature); // the one input a chosen file goes to, if any
  const fileOutput = binaryOutput(signature);
  const kind = formKind(task);

  const send = async (event: FormEvent) => {
    event.preventDefault();
    if (target && !file) {
      setProblem(`Choose or drop ${describeFileInput(target)} first, then press Send.`);
      return;
    }
    const parameters = buildParameters(task, form);
    if (!parameters.ok) {
      setProblem(parameters.problem);
      return;
    }
    const typed = buildJsonBody(kind, form, parameters.value, playgroundBody);
    if (!typed.ok) {
      setProblem(typed.problem);
      return;
    }
    setSending(true);
    setProblem(null);
    setOutcome(null); // no earlier answer stays on screen as if it were this one's
    const started = performance.now();
    try {
      const sentFile = target ? file : null;
      const body = sentFile ? fileBody(sentFile, sentFile.name, parameters.value) : typed.value.body;
      const answer = await api.infer(name, body, raw && fileOutput != null);
      setOutcome({ answer, roundTripMs: performance.now() - started, file: sentFile, sent: typed.value.sent });
    } catch (error) {
      setProblem(describeInferenceError(error));
    } finally {
      setSending(false);
    }
  };

  return (
    <section className="card" aria-labelledby="playground-title">
      <h2 id="playground-title">Playground</h2>
      <form onSubmit={(event) => void send(event)}>
        {target ? (
          <FileDrop
            id="playground-file"
            takes={describeFileInput(target)}
            accept={acceptFor(target)}
            file={file}
            onFile={(chosen) => {
              setFile(chosen);
              setProblem(null);
            }}
          />
        ) : kind !== "text" ? (
          <TaskInputs kind={kind} form={form} update={update} />
        ) : (
          <>
            <label htmlFor="playground-input">Input text (or a JSON body such as {'{"inputs": ["a", "b"]}'})</label>
            <textarea id="playground-input" rows={3} value={form.text} onChange={(e) => update({ text: e.target.value })} />
            {signature?.inputs.some(takesFile) && (
              <p className="hint">An image or file input here takes a base64 string or a data: URI.</p>
            )}
          </>
        )}
        <TaskParameters task={task} form={form} update={update} />
        {fileOutput && (
          <label className="choice">
            <input type="checkbox" checked={raw} onChange={(e) => setRaw(e.target.checked)} />
            {/* NOTE: one text node: in the flex label, separate nodes would lose the spaces between them */}
            {`Ask for the raw ${fileOutput.media_type ?? fileOutput.content} bytes (?format=raw) instead of JSON`}
          </label>
        )}
        <button type="submit" disabled={sending || !ready}>
          {sending ? "Sending…" : "Send"}
        </button>
        {!ready && <p className="hint">The playground works once the deployment is ready.</p>}
      </form>
      <ErrorMessage error={problem} />
      {outcome && (
        <PlaygroundAnswer name={name} answer={outcome.answer} roundTripMs={outcome.roundTripMs}>
          {outcome.answer.kind === "json" && (
            <ResultPicture result={outcome.answer.answer.result} task={task} file={outcome.file} sent={outcome.sent} />
          )}
        </PlaygroundAnswer>
      )}
    </section>
  );
}
