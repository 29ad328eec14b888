import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { describeInferenceError } from "./errors";

describe("describeInferenceError", () => {
  it("says which part of the request the worker refused, in its own words", () => {
    const bomb = "form field 'file': the image is 8000x8000 = 64000000 pixels; send a smaller image";
    expect(describeInferenceError(new ApiError(413, "payload_too_large", bomb))).toBe(`Too large: ${bomb}`);
    const garbage = "form field 'file': not a decodable image (cannot identify image file)";
    expect(describeInferenceError(new ApiError(422, "invalid_input", garbage))).toBe(
      `The input was not accepted: ${garbage}`,
    );
    expect(describeInferenceError(new ApiError(415, "unsupported_media_type", "Content-Type 'text/csv'"))).toMatch(
      /^Not a kind of body this model takes: Content-Type 'text\/csv'$/,
    );
    expect(describeInferenceError(new ApiError(503, "not_ready", "no ready replica"))).toBe(
      "Not ready yet: no ready replica",
    );
  });

  it("says when the control plane cannot be reached", () => {
    expect(describeInferenceError(new TypeError("Failed to fetch"))).toMatch(/cannot be reached/);
  });
});
