import { type ReactNode, useMemo } from "react";
import type { InferenceAnswer } from "../../api/client";
import { useObjectUrl } from "../../hooks/useObjectUrl";
import { base64ToBytes, binaryOutputs, downloadName, isShownImage, withoutBase64 } from "../../lib/binary";
import { formatBytes, formatMs } from "../../lib/format";
import { describeResult } from "../../lib/result";

/** One binary output: shown inline when it is an image a browser draws, and always a download link. */
function BinaryOutputView({ blob, mediaType, where, fileName }: { blob: Blob; mediaType: string; where: string; fileName: string }) {
  const url = useObjectUrl(blob);
  if (url == null) return null;
  const facts = `${mediaType}, ${formatBytes(blob.size)}`;
  return (
    <figure className="binary-output" data-testid="binary-output">
      {isShownImage(mediaType) && <img src={url} alt={`The model's image (${where})`} className="result-image" />}
      <figcaption>
        <span data-testid="binary-facts">
          {where}: {facts}
        </span>{" "}
        <a href={url} download={fileName}>
          Download {fileName}
        </a>
      </figcaption>
    </figure>
  );
}

interface AnswerProps {
  name: string;
  answer: InferenceAnswer;
  roundTripMs: number;
  /** A picture of the answer (bars, boxes, a chart…), shown above its JSON. */
  children?: ReactNode;
}

export function PlaygroundAnswer({ name, answer, roundTripMs, children }: AnswerProps) {
  const json = answer.kind === "json" ? answer.answer : null;
  // NOTE: decoded once per answer, not per render: a mesh can be megabytes of base64.
  const outputs = useMemo(
    () =>
      binaryOutputs(json?.result).map((output) => ({
        ...output,
        blob: new Blob([base64ToBytes(output.base64)], { type: output.mediaType }),
      })),
    [json],
  );
  const summary = json ? describeResult(json.result) : null;
  return (
    <div className="playground-result" aria-live="polite">
      <p>
        <strong data-testid="latency">
          {formatMs(roundTripMs)} round trip
          {json?.inference_time_ms != null && `, ${formatMs(json.inference_time_ms)} in the worker`}
        </strong>
        {summary && <span data-testid="result-summary"> · {summary}</span>}
      </p>
      {answer.kind === "raw" ? (
        <BinaryOutputView
          blob={answer.blob}
          mediaType={answer.mediaType}
          where="raw answer"
          fileName={downloadName(name, "result", answer.mediaType)}
        />
      ) : (
        <>
          {outputs.map((output) => (
            <BinaryOutputView
              key={output.path}
              blob={output.blob}
              mediaType={output.mediaType}
              where={output.path}
              fileName={downloadName(name, output.path, output.mediaType)}
            />
          ))}
          {children}
          <pre className="json" tabIndex={0} aria-label="Result as JSON" data-testid="result-json">
            {JSON.stringify(outputs.length ? withoutBase64(answer.answer) : answer.answer, null, 2)}
          </pre>
        </>
      )}
    </div>
  );
}
