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
