// The pictures as markup: what each draws for a given answer (positions, widths, text).
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { DetectionBoxes } from "./Detections";
import { ForecastChart } from "./ForecastChart";
import { LabelBars } from "./LabelBars";
import { ResultPicture } from "./ResultPicture";
import { AnswerInContext, RankedDocuments, TranscriptView } from "./TextPictures";

const html = (element: React.ReactElement) => renderToStaticMarkup(element);
const styles = (markup: string, testId: string) =>
  [...markup.matchAll(new RegExp(`data-testid="${testId}" style="([^"]*)"`, "g"))].map((m) => m[1]);

describe("LabelBars", () => {
  it("draws one bar per label, as wide as its score, with the score in percent", () => {
    const markup = html(<LabelBars labels={[{ label: "tabby cat", score: 0.625 }, { label: "dog", score: 0.25 }]} />);
    expect([...markup.matchAll(/class="bar-fill" style="width:([\d.]+)%"/g)].map((m) => Number(m[1]))).toEqual([62.5, 25]);
    expect([...markup.matchAll(/class="label-name">([^<]*)</g)].map((m) => m[1])).toEqual(["tabby cat", "dog"]);
    expect(markup).toContain("62.5 %");
  });
});

describe("DetectionBoxes", () => {
  it("places each box in percent of the image and labels it with its score", () => {
    const objects = [
      { label: "cat", score: 0.9, box: { xmin: 0, ymin: 0, xmax: 20, ymax: 30 } },
      { label: "dog", score: 0.55, box: { xmin: 30, ymin: 15, xmax: 40, ymax: 30 } },
    ];
    const markup = html(<DetectionBoxes objects={objects} width={40} height={30} />);
    const placed = styles(markup, "detection-box");
    expect(placed).toHaveLength(2);
    expect(placed[0]).toMatch(/^left:0%;top:0%;width:50%;height:100%/);
    expect(placed[1]).toMatch(/^left:75%;top:50%;width:25%;height:50%/);
    expect(markup).toContain("cat 90.0 %");
    expect(markup).toContain("dog 55.0 %");
    const colours = placed.map((style) => /border-color:([^;]+)/.exec(style ?? "")?.[1]);
    expect(colours[0]).toBeTruthy();
    expect(colours[0]).not.toBe(colours[1]); // one colour per label
  });
});

describe("ForecastChart", () => {
  it("draws the series, the mean and the band, and says what they are", () => {
    const forecast = { mean: [2, 3], quantiles: [[0.1, [1, 2]], [0.9, [3, 4]]] as [number, number[]][] };
    const markup = html(<ForecastChart series={[1, 2, 3]} forecast={forecast} />);
    for (const part of ["forecast-history", "forecast-mean", "forecast-band"]) expect(markup).toContain(`data-testid="${part}"`);
    expect(markup).toContain('aria-label="Forecast: 3 values sent, 2 steps forecast, band from quantile 0.1 to 0.9"');
    expect(markup).toContain("quantiles 0.1–0.9");
  });
});

describe("text pictures", () => {
  it("marks the answer in the context", () => {
    const markup = html(<AnswerInContext context="berth serves models over HTTP." answer={{ answer: "HTTP", score: 0.8, start: 25, end: 29 }} />);
    expect(markup).toContain("berth serves models over <mark>HTTP</mark>.");
    expect(markup).toContain("80.0 %");
  });

  it("lists the documents in ranked order, from the request when the answer has no text", () => {
    const markup = html(
      <RankedDocuments ranked={[{ index: 2, score: 0.9 }, { index: 0, score: 0.5, document: "own text" }]} documents={["first", "second", "third"]} />,
    );
    expect([...markup.matchAll(/class="label-name">([^<]*)</g)].map((m) => m[1])).toEqual(["third", "own text"]);
    expect(markup).toContain("0.900");
  });

  it("shows a transcript with its chunks' times", () => {
    const markup = html(<TranscriptView transcript={{ text: "hi there", chunks: [{ text: "hi", timestamp: [0, 0.5] }] }} />);
    expect(markup).toContain("hi there");
    expect(markup).toContain("0.00 s – 0.50 s");
  });
});

describe("ResultPicture", () => {
  const sent = { documents: ["a", "b"], context: "x", series: [1, 2] };
  it("picks the picture from the answer's shape", () => {
    expect(html(<ResultPicture result={[[{ label: "a", score: 1 }]]} task={null} file={null} sent={sent} />)).toContain("label-bars");
    expect(html(<ResultPicture result={[[{ index: 1, score: 1 }]]} task={null} file={null} sent={sent} />)).toContain("ranked-documents");
    expect(html(<ResultPicture result={[{ mean: [1], quantiles: {} }]} task={null} file={null} sent={sent} />)).toContain("forecast-chart");
    expect(html(<ResultPicture result={[{ summary_text: "short" }]} task={null} file={null} sent={sent} />)).toContain("short");
    expect(html(<ResultPicture result={[{ text: "heard" }]} task={null} file={null} sent={sent} />)).toContain("heard");
  });

  it("draws nothing for an embedding, several inputs, or boxes without an image", () => {
    expect(html(<ResultPicture result={[[0.1, 0.2]]} task={null} file={null} sent={sent} />)).toBe("");
    expect(html(<ResultPicture result={[{ text: "a" }, { text: "b" }]} task={null} file={null} sent={sent} />)).toBe("");
    const boxes = [[{ label: "cat", score: 1, box: { xmin: 0, ymin: 0, xmax: 1, ymax: 1 } }]];
    expect(html(<ResultPicture result={boxes} task="object-detection" file={null} sent={sent} />)).toBe("");
  });
});
