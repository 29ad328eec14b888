// API errors in plain words: what went wrong and what to do, for the codes a user can act on.
import { ApiError } from "../api/client";

export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) {
    if (error instanceof TypeError) return "The berth control plane cannot be reached. Is `berth up` running?";
    return error instanceof Error ? error.message : String(error);
  }
  switch (error.status) {
    case 409:
      return `${error.message} — choose another name, or remove the existing deployment first.`;
    case 422:
      return `The settings were not accepted: ${error.message}`;
    case 401:
      return "This berth control plane needs an API key.";
    case 503:
      return `Not ready yet: ${error.message}`;
    default:
      return error.message;
  }
}

/** A failed inference in plain words: the worker's own sentence, saying which part of the request it was. */
export function describeInferenceError(error: unknown): string {
  if (!(error instanceof ApiError)) return describeError(error);
  switch (error.status) {
    case 413:
      return `Too large: ${error.message}`;
    case 415:
      return `Not a kind of body this model takes: ${error.message}`;
    case 406:
      return `No answer of that kind: ${error.message}`;
    case 400:
    case 422:
      return `The input was not accepted: ${error.message}`;
    default:
      return describeError(error);
  }
}
