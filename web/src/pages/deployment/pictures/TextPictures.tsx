import { type ExtractedAnswer, type Ranked, type Transcript, barWidth, highlight, percent, seconds } from "../../../lib/pictures";

/** What a speech model heard, and each timed chunk where the model gives them. */
export function TranscriptView({ transcript }: { transcript: Transcript }) {
  return (
    <div className="transcript">
      <p className="generated-text" data-testid="transcript">
        {transcript.text}
      </p>
      {transcript.chunks.length > 0 && (
        <ol className="chunks" aria-label="Timed chunks">
          {transcript.chunks.map((chunk, i) => (
            <li key={i}>
              <span className="mono chunk-time">{`${seconds(chunk.timestamp[0])} – ${seconds(chunk.timestamp[1])}`}</span>{" "}
              {chunk.text}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

export function GeneratedText({ text }: { text: string }) {
  return (
    <p className="generated-text" data-testid="generated-text">
      {text}
    </p>
  );
}

/** The context sent, with the answer marked where the model found it. */
export function AnswerInContext({ context, answer }: { context: string; answer: ExtractedAnswer }) {
  const parts = highlight(context, answer);
  return (
    <div className="qa-answer">
      <p>
        <strong data-testid="qa-answer">{answer.answer || "(no answer)"}</strong>{" "}
        <span className="muted">{percent(answer.score)}</span>
      </p>
      {parts && (
        <p className="qa-context" data-testid="qa-context">
          {parts[0]}
          <mark>{parts[1]}</mark>
          {parts[2]}
        </p>
      )}
    </div>
  );
}

/** The documents in the order the model ranked them, each with its score. */
export function RankedDocuments({ ranked, documents }: { ranked: Ranked[]; documents: string[] }) {
  return (
    <ol className="ranked" aria-label="Documents, best first" data-testid="ranked-documents">
      {ranked.map((item) => (
        <li key={item.index} className="label-bar">
          <span className="label-name">{item.document ?? documents[item.index] ?? `document ${item.index}`}</span>
          <span className="bar-track" aria-hidden="true">
            <span className="bar-fill" style={{ width: `${barWidth(item.score)}%` }} />
          </span>
          <span className="label-score">{item.score.toFixed(3)}</span>
        </li>
      ))}
    </ol>
  );
}
