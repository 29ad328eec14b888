import type { Preflight } from "../../api/types";
import { formatBytes, formatCount } from "../../lib/format";

const KINDS: Record<string, string> = {
  hub: "Hugging Face Hub model",
  local: "local model folder",
  onnx: "ONNX file",
  python: "Python predictor",
};

/** What preflight found: the model's kind, size, detected task and, with `detail`, memory and fit. */
export function PreflightResult({ preflight, detail = false }: { preflight: Preflight; detail?: boolean }) {
  const memory = preflight.memory_bytes[preflight.dtype];
  return (
    <div className={`preflight ${preflight.fits ? "fits" : "no-fit"}`} aria-live="polite">
      <dl className="facts">
        <dt>Source</dt>
        <dd>
          {KINDS[preflight.source_kind] ?? preflight.source_kind}
          {preflight.cached ? " (already on this machine)" : " (will be downloaded)"}
        </dd>
        <dt>Task</dt>
        <dd>{preflight.task ?? "auto — detected from the model's files when it loads"}</dd>
        {preflight.runtime && (
          <>
            <dt>Runtime</dt>
            <dd>{preflight.runtime}</dd>
          </>
        )}
        <dt>Parameters</dt>
        <dd>{formatCount(preflight.parameters)}</dd>
        <dt>Download</dt>
        <dd>{formatBytes(preflight.download_bytes)}</dd>
        {detail && (
          <>
            <dt>Device</dt>
            <dd>{preflight.device}</dd>
            <dt>Memory needed</dt>
            <dd>
              {formatBytes(memory)} as {preflight.dtype}
              <span className="muted"> (from {preflight.basis})</span>
            </dd>
            <dt>Fits on this host</dt>
            <dd className={preflight.fits ? "ok" : "bad"}>{preflight.fits ? "Yes" : "No"}</dd>
          </>
        )}
      </dl>
      {detail && preflight.reasons.length > 0 && (
        <ul className="reasons" aria-label="Why">
          {preflight.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
