import { CHART, forecastGeometry } from "../../../lib/forecastChart";
import type { Forecast } from "../../../lib/pictures";

const tick = (value: number) => (Math.abs(value) >= 1000 ? value.toExponential(1) : String(Number(value.toPrecision(3))));

/** The series sent, then the mean forecast, with the band from the lowest to the highest quantile. */
export function ForecastChart({ series, forecast }: { series: number[]; forecast: Forecast }) {
  const g = forecastGeometry(series, forecast);
  const { width, height, left, right, top, bottom } = CHART;
  const band = g.bandLevels ? `, band from quantile ${g.bandLevels[0]} to ${g.bandLevels[1]}` : "";
  const label = `Forecast: ${series.length} values sent, ${forecast.mean.length} steps forecast${band}`;
  return (
    <figure className="forecast-chart" data-testid="forecast-chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
        <line className="axis" x1={left} x2={width - right} y1={height - bottom} y2={height - bottom} />
        <line className="grid" x1={g.split} x2={g.split} y1={top} y2={height - bottom} />
        <text className="tick" x={left - 4} y={top + 4} textAnchor="end">
          {tick(g.max)}
        </text>
        <text className="tick" x={left - 4} y={height - bottom} textAnchor="end">
          {tick(g.min)}
        </text>
        {g.band && <path className="forecast-band" data-testid="forecast-band" d={g.band} />}
        <path className="forecast-history" data-testid="forecast-history" d={g.history} />
        <path className="forecast-mean" data-testid="forecast-mean" d={g.mean} />
      </svg>
      <figcaption>
        <span className="legend-history">series sent</span> · <span className="legend-mean">mean forecast</span>
        {g.bandLevels && (
          <>
            {" "}
            · <span className="legend-band">{`quantiles ${g.bandLevels[0]}–${g.bandLevels[1]}`}</span>
          </>
        )}
      </figcaption>
    </figure>
  );
}
