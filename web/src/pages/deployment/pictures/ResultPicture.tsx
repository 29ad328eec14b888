import type { Task } from "../../../api/types";
import { detections, extractedAnswer, forecast, generatedText, labelScores, ranking, transcript } from "../../../lib/pictures";
import type { Sent } from "../../../lib/taskInputs";
import { DetectionPicture } from "./Detections";
import { ForecastChart } from "./ForecastChart";
import { LabelBars } from "./LabelBars";
import { AnswerInContext, GeneratedText, RankedDocuments, TranscriptView } from "./TextPictures";

interface Props {
  /** The answer's `result`: one entry per input; a picture is drawn when there is exactly one. */
  result: unknown;
  task: Task | null;
  /** The image or clip sent, if one was. */
  file: File | null;
  sent: Sent;
}

/** The picture of one input's answer, told from its shape; null when it has none (the JSON says it). */
export function ResultPicture({ result, task, file, sent }: Props) {
  if (!Array.isArray(result) || result.length !== 1) return null;
  const [value] = result as unknown[];
  const picture = choose(value, task, file, sent);
  return picture && <div className="result-picture">{picture}</div>;
}

function choose(value: unknown, task: Task | null, file: File | null, sent: Sent) {
  const boxes = detections(value, task === "object-detection");
  if (boxes && file?.type.startsWith("image/")) return <DetectionPicture file={file} objects={boxes} />;
  const labels = labelScores(value);
  if (labels) return <LabelBars labels={labels} />;
  const ranked = ranking(value);
  if (ranked) return <RankedDocuments ranked={ranked} documents={sent.documents ?? []} />;
  const answer = extractedAnswer(value);
  if (answer && sent.context != null) return <AnswerInContext context={sent.context} answer={answer} />;
  const predicted = forecast(value);
  if (predicted) return <ForecastChart series={sent.series ?? []} forecast={predicted} />;
  const heard = transcript(value);
  if (heard) return <TranscriptView transcript={heard} />;
  const text = generatedText(value);
  return text == null ? null : <GeneratedText text={text} />;
}
