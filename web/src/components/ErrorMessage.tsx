import { describeError } from "../lib/errors";

/** An error announced to screen readers as it appears; renders nothing without one. */
export function ErrorMessage({ error, id }: { error: unknown; id?: string }) {
  if (error == null) return null;
  const text = typeof error === "string" ? error : describeError(error);
  return (
    <p className="error" role="alert" id={id}>
      {text}
    </p>
  );
}
