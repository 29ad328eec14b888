import { describe, expect, it } from "vitest";
import { playgroundBody } from "./result";
import { EMPTY_FORM, buildJsonBody, buildParameters, formKind, paramFields, parseDocuments, parseLabels, parseSeries } from "./taskInputs";

const form = (change: Partial<typeof EMPTY_FORM> = {}) => ({ ...EMPTY_FORM, ...change });

describe("parsing what was typed", () => {
  it("reads a series separated by commas, spaces or new lines", () => {
    expect(parseSeries("1, 2.5\n3 -4e1")).toEqual({ ok: true, value: [1, 2.5, 3, -40] });
    expect(parseSeries(" ")).toEqual({ ok: false, problem: "Type the series: numbers separated by commas or new lines." });
    expect(parseSeries("1, two, 3")).toEqual({ ok: false, problem: 'The series has "two", which is not a number.' });
    expect(parseSeries("1, NaN")).toMatchObject({ ok: false });
  });

  it("reads one document per line and labels without blanks or repeats", () => {
    expect(parseDocuments("a\n\n  b  \n")).toEqual(["a", "b"]);
    expect(parseLabels(" cat, dog ,, cat ")).toEqual(["cat", "dog"]);
  });
});

describe("the form and parameters per task", () => {
  it("gives each task its form", () => {
    expect(formKind("question-answering")).toBe("question-answering");
    expect(formKind("text-ranking")).toBe("text-ranking");
    expect(formKind("time-series-forecasting")).toBe("series");
    expect(formKind("summarization")).toBe("text");
    expect(formKind(null)).toBe("text");
    expect(paramFields("object-detection")).toEqual(["threshold"]);
    expect(paramFields("zero-shot-image-classification")).toEqual(["labels"]);
  });

  it("builds each task's parameters, or says which field is wrong", () => {
    expect(buildParameters("object-detection", form({ threshold: "0.3" }))).toEqual({ ok: true, value: { threshold: 0.3 } });
    expect(buildParameters("object-detection", form({ threshold: "1.5" }))).toEqual({ ok: false, problem: "The threshold must be a number from 0 to 1." });
    expect(buildParameters("image-classification", form({ topK: "3" }))).toEqual({ ok: true, value: { top_k: 3 } });
    expect(buildParameters("zero-shot-classification", form({ labels: "a, b" }))).toEqual({ ok: true, value: { candidate_labels: ["a", "b"] } });
    expect(buildParameters("zero-shot-classification", form({ labels: " , " }))).toMatchObject({ ok: false });
    expect(buildParameters("time-series-forecasting", form({ predictionLength: "0" }))).toMatchObject({ ok: false });
    expect(buildParameters("automatic-speech-recognition", form({ timestamps: true }))).toEqual({ ok: true, value: { return_timestamps: true } });
    expect(buildParameters("automatic-speech-recognition", form())).toEqual({ ok: true, value: {} });
    expect(buildParameters(null, form())).toEqual({ ok: true, value: {} });
  });
});

describe("buildJsonBody", () => {
  it("sends a question with its context, and keeps the context to mark the answer in", () => {
    const built = buildJsonBody("question-answering", form({ question: " Where? ", context: "here" }), {}, playgroundBody);
    expect(built).toEqual({ ok: true, value: { body: { inputs: [{ question: "Where?", context: "here" }] }, sent: { context: "here" } } });
    expect(buildJsonBody("question-answering", form({ context: " " }), {}, playgroundBody)).toEqual({
      ok: false,
      problem: "Question answering needs a context: paste the text the answer is in.",
    });
  });

  it("sends a query with its documents, and a series with its prediction length", () => {
    expect(buildJsonBody("text-ranking", form({ query: "q", documents: "a\nb" }), {}, playgroundBody)).toEqual({
      ok: true,
      value: { body: { inputs: [{ query: "q", documents: ["a", "b"] }] }, sent: { documents: ["a", "b"] } },
    });
    expect(buildJsonBody("text-ranking", form({ documents: "\n" }), {}, playgroundBody)).toMatchObject({ ok: false });
    const series = buildJsonBody("series", form({ series: "1,2,3" }), { prediction_length: 2 }, playgroundBody);
    expect(series).toEqual({
      ok: true,
      value: { body: { inputs: [[1, 2, 3]], parameters: { prediction_length: 2 } }, sent: { series: [1, 2, 3] } },
    });
  });

  it("adds the fields' parameters to text, unless a typed JSON body brings its own", () => {
    const labels = { candidate_labels: ["a"] };
    expect(buildJsonBody("text", form({ text: "hi" }), labels, playgroundBody)).toMatchObject({
      value: { body: { text: "hi", parameters: labels } },
    });
    expect(buildJsonBody("text", form({ text: "hi" }), {}, playgroundBody)).toMatchObject({ value: { body: { text: "hi" } } });
    const own = '{"inputs": ["x"], "parameters": {"top_k": 1}}';
    expect(buildJsonBody("text", form({ text: own }), labels, playgroundBody)).toMatchObject({
      value: { body: { inputs: ["x"], parameters: { top_k: 1 } } },
    });
  });
});
