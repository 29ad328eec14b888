// A dependency-free SVG line chart: enough for a few hundred points sampled every few seconds.

export interface ChartPoint {
  t: number; // epoch seconds
  v: number | null; // null: no sample (a gap in the line)
}

interface Props {
  title: string;
  unit: string;
  points: ChartPoint[];
  format: (value: number) => string;
}

const W = 320;
const H = 120;
const PAD = { left: 44, right: 8, top: 8, bottom: 20 };

function paths(points: ChartPoint[], x: (t: number) => number, y: (v: number) => number): string {
  let d = "";
  let pen = false;
  for (const point of points) {
    if (point.v == null) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${x(point.t).toFixed(1)},${y(point.v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

export function LineChart({ title, unit, points, format }: Props) {
  const values = points.flatMap((p) => (p.v == null ? [] : [p.v]));
  const last = values.at(-1);
  const max = Math.max(1e-9, ...values) * 1.15;
  const t0 = points[0]?.t ?? 0;
  const t1 = points.at(-1)?.t ?? t0 + 1;
  const span = Math.max(1, t1 - t0);
  const x = (t: number) => PAD.left + ((t - t0) / span) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const summary =
    values.length === 0
      ? `${title}: no samples yet`
      : `${title}: latest ${format(last ?? 0)}, highest ${format(Math.max(...values))} over ${Math.round(span / 60) || 1} min`;
  return (
    <figure className="chart">
      <figcaption>
        {title} <span className="muted">({unit})</span>
        <strong className="chart-latest">{last == null ? "—" : format(last)}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <line className="axis" x1={PAD.left} x2={W - PAD.right} y1={H - PAD.bottom} y2={H - PAD.bottom} />
        <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={PAD.top} y2={PAD.top} />
        <text className="tick" x={PAD.left - 4} y={PAD.top + 4} textAnchor="end">
          {values.length ? format(max) : ""}
        </text>
        <text className="tick" x={PAD.left - 4} y={H - PAD.bottom} textAnchor="end">
          0
        </text>
        <text className="tick" x={PAD.left} y={H - 4}>
          {values.length ? `−${Math.round(span / 60) || 1} min` : ""}
        </text>
        <text className="tick" x={W - PAD.right} y={H - 4} textAnchor="end">
          now
        </text>
        <path className="line" d={paths(points, x, y)} />
        {values.length === 0 && (
          <text className="empty" x={(W + PAD.left) / 2} y={H / 2} textAnchor="middle">
            no samples yet
          </text>
        )}
      </svg>
    </figure>
  );
}
