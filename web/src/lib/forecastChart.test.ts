import { describe, expect, it } from "vitest";
import { CHART, forecastGeometry } from "./forecastChart";

const { width, height, left, right, top, bottom } = CHART;
const xs = (path: string) => [...path.matchAll(/[MLZ]?(-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);

describe("forecastGeometry", () => {
  // values 0..10: y runs from the top margin (10) to the bottom margin (0)
  const series = [0, 10, 5];
  const result = { mean: [4, 6], quantiles: [[0.1, [2, 3]], [0.5, [4, 6]], [0.9, [8, 10]]] as [number, number[]][] };
  const g = forecastGeometry(series, result);
  const x = (step: number) => left + (step / 4) * (width - left - right);
  const y = (value: number) => top + ((10 - value) / 10) * (height - top - bottom);

  it("draws the series on the first steps, scaled from its lowest to its highest value", () => {
    expect([g.min, g.max]).toEqual([0, 10]);
    const points = xs(g.history);
    expect(points).toHaveLength(3);
    points.forEach(([px, py], i) => {
      expect(px).toBeCloseTo(x(i), 1);
      expect(py).toBeCloseTo(y(series[i]!), 1);
    });
  });

  it("draws the mean from the series' last point on, after the split", () => {
    const points = xs(g.mean);
    expect(points.map(([px]) => Number(px!.toFixed(0)))).toEqual([x(2), x(3), x(4)].map((v) => Number(v.toFixed(0))));
    expect(points.map(([, py]) => py)).toEqual([5, 4, 6].map((v) => Number(y(v).toFixed(1))));
    expect(g.split).toBeCloseTo(x(3));
  });

  it("bands from the lowest to the highest quantile: along the lows, back along the highs", () => {
    expect(g.bandLevels).toEqual([0.1, 0.9]);
    expect(g.band?.endsWith("Z")).toBe(true);
    const points = xs(g.band ?? "");
    expect(points.map(([, py]) => py)).toEqual([2, 3, 10, 8].map((v) => Number(y(v).toFixed(1))));
    expect(points[2]![0]).toBeCloseTo(x(4), 1);
  });

  it("has no band with one quantile, and a flat series still gets a range", () => {
    const flat = forecastGeometry([3, 3], { mean: [3], quantiles: [[0.5, [3]]] });
    expect(flat.band).toBeNull();
    expect([flat.min, flat.max]).toEqual([2, 4]);
  });
});
