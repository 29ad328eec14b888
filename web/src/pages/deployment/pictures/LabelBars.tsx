import { type LabelScore, barWidth, percent } from "../../../lib/pictures";

/** Labels best first, each a horizontal bar as long as its score, with the score in percent. */
export function LabelBars({ labels }: { labels: LabelScore[] }) {
  return (
    <ol className="label-bars" aria-label="Labels by score" data-testid="label-bars">
      {labels.map((item, i) => (
        <li key={`${item.label}-${i}`} className="label-bar">
          <span className="label-name">{item.label}</span>
          <span className="bar-track" aria-hidden="true">
            <span className="bar-fill" style={{ width: `${barWidth(item.score)}%` }} />
          </span>
          <span className="label-score">{percent(item.score)}</span>
        </li>
      ))}
    </ol>
  );
}
