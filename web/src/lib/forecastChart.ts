// The forecast chart's geometry: the series as sent, then the mean forecast and the band between the
// lowest and the highest quantile, on one x axis of steps (history 0…L−1, forecast L…L+H−1).
import type { Forecast } from "./pictures";

export const CHART = { width: 480, height: 200, left: 48, right: 12, top: 12, bottom: 24 };

export interface ForecastGeometry {
  history: string; // SVG path of the series sent
  mean: string; // SVG path of the mean forecast, starting at the series' last point
  band: string | null; // SVG path of the quantile band's outline, closed; null with fewer than two quantiles
  bandLevels: [number, number] | null;
  min: number;
  max: number;
  /** x of the first forecast step, where the history ends and the forecast begins. */
  split: number;
}

const point = (x: number, y: number) => `${x.toFixed(1)},${y.toFixed(1)}`;

function line(points: [number, number][]): string {
  return points.map(([x, y], i) => `${i ? "L" : "M"}${point(x, y)}`).join("");
}

export function forecastGeometry(series: number[], result: Forecast): ForecastGeometry {
  const { width, height, left, right, top, bottom } = CHART;
  const lower = result.quantiles[0];
  const upper = result.quantiles.at(-1);
  const banded = lower && upper && lower !== upper ? ([lower, upper] as const) : null;
  const values = [...series, ...result.mean, ...(banded ? [...banded[0][1], ...banded[1][1]] : [])];
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (min === max) {
    min -= 1;
    max += 1;
  }
  const steps = series.length + result.mean.length;
  const x = (step: number) => left + (steps > 1 ? step / (steps - 1) : 0.5) * (width - left - right);
  const y = (value: number) => top + ((max - value) / (max - min)) * (height - top - bottom);
  const at = (offset: number) => (value: number, i: number) => [x(offset + i), y(value)] as [number, number];
  const last = series.length ? [[x(series.length - 1), y(series.at(-1)!)] as [number, number]] : [];
  const mean = [...last, ...result.mean.map(at(series.length))];
  let band: string | null = null;
  if (banded) {
    const low = banded[0][1].map(at(series.length));
    const high = banded[1][1].map(at(series.length)).reverse();
    band = `${line([...low, ...high])}Z`;
  }
  return {
    history: line(series.map(at(0))),
    mean: line(mean),
    band,
    bandLevels: banded ? [banded[0][0], banded[1][0]] : null,
    min,
    max,
    split: x(series.length),
  };
}
