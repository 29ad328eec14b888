import { describe, expect, it } from "vitest";
import {
  barWidth,
  detections,
  extractedAnswer,
  forecast,
  generatedText,
  highlight,
  labelScores,
  percent,
  placeBox,
  ranking,
  transcript,
} from "./pictures";

const box = { xmin: 10, ymin: 5, xmax: 30, ymax: 25 };

describe("readers tell each task's answer from its shape", () => {
  it("reads labels with scores, best first, and nothing else", () => {
    const labels = labelScores([
      { label: "dog", score: 0.2 },
      { label: "cat", score: 0.7 },
    ]);
    expect(labels?.map((l) => l.label)).toEqual(["cat", "dog"]);
    expect(labelScores([])).toBeNull();
    expect(labelScores([{ label: "cat", score: 0.7, box }])).toBeNull(); // a detection is not a bar
    expect(labelScores([{ label: "cat" }])).toBeNull();
    expect(labelScores([0.1, 0.2])).toBeNull(); // an embedding
  });

  it("reads detections, and an empty list only when the task is detection", () => {
    expect(detections([{ label: "cat", score: 0.9, box }], false)).toHaveLength(1);
    expect(detections([], true)).toEqual([]);
    expect(detections([], false)).toBeNull();
    expect(detections([{ label: "cat", score: 0.9, box: { xmin: 1 } }], true)).toBeNull();
  });

  it("reads a transcript with its timed chunks", () => {
    expect(transcript({ text: "hello world" })).toEqual({ text: "hello world", chunks: [] });
    const timed = transcript({ text: "hi there", chunks: [{ text: "hi", timestamp: [0, 0.4] }, { text: "there", timestamp: [0.4, null] }] });
    expect(timed?.chunks).toEqual([
      { text: "hi", timestamp: [0, 0.4] },
      { text: "there", timestamp: [0.4, null] },
    ]);
    expect(transcript({ text: "x", size: [1, 2] })).toBeNull();
  });

  it("reads generated, summary and translation text", () => {
    expect(generatedText({ generated_text: "a" })).toBe("a");
    expect(generatedText({ summary_text: "b" })).toBe("b");
    expect(generatedText({ translation_text: "c" })).toBe("c");
    expect(generatedText({ generated_text: "a", other: 1 })).toBeNull();
  });

  it("reads an extracted answer and a ranking", () => {
    expect(extractedAnswer({ answer: "HTTP", score: 0.5, start: 3, end: 7 })).not.toBeNull();
    expect(extractedAnswer({ answer: "HTTP", score: 0.5 })).toBeNull();
    const ranked = ranking([
      { index: 1, score: 0.1 },
      { index: 0, score: 0.9, document: "d0" },
    ]);
    expect(ranked?.map((r) => r.index)).toEqual([0, 1]);
    expect(ranking([{ index: 0, score: 0.9, label: "x" }])).toBeNull();
  });

  it("reads a forecast keyed by quantile level, or as rows with the levels beside them", () => {
    const keyed = forecast({ mean: [1, 2], quantiles: { "0.9": [3, 4], "0.1": [0, 1], "0.5": [1, 2] } });
    expect(keyed?.quantiles.map(([level]) => level)).toEqual([0.1, 0.5, 0.9]);
    expect(keyed?.quantiles[0]![1]).toEqual([0, 1]);
    const rows = forecast({ mean: [1, 2], quantiles: [[0, 1, 3], [1, 2, 4]], quantile_levels: [0.1, 0.5, 0.9] });
    expect(rows?.quantiles).toEqual(keyed?.quantiles);
    expect(forecast({ mean: [1, 2], quantiles: { "0.1": [1] } })?.quantiles).toEqual([]); // wrong length: left out
    expect(forecast({ mean: [] })).toBeNull();
    expect(forecast({ mean: [1], quantiles: "many" })).toBeNull();
  });
});

describe("geometry", () => {
  it("prints scores in percent and holds bars to the track", () => {
    expect(percent(0.875)).toBe("87.5 %");
    expect(barWidth(0.42)).toBeCloseTo(42);
    expect(barWidth(1.7)).toBe(100);
    expect(barWidth(-0.1)).toBe(0);
  });

  it("places a box in percent of the image, cut to its edges", () => {
    expect(placeBox(box, 40, 50)).toEqual({ left: 25, top: 10, width: 50, height: 40 });
    expect(placeBox({ xmin: -10, ymin: 40, xmax: 50, ymax: 60 }, 40, 50)).toEqual({ left: 0, top: 80, width: 100, height: 20 });
  });

  it("marks the answer in the context by its offsets, or where its text is", () => {
    const context = "berth serves models over HTTP.";
    expect(highlight(context, { answer: "HTTP", score: 1, start: 25, end: 29 })).toEqual(["berth serves models over ", "HTTP", "."]);
    expect(highlight(context, { answer: "models", score: 1, start: 0, end: 3 })).toEqual(["berth serves ", "models", " over HTTP."]);
    expect(highlight(context, { answer: "gRPC", score: 1, start: 0, end: 4 })).toBeNull();
  });
});
