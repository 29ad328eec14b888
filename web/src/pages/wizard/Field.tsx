import type { ReactNode } from "react";

interface Props {
  id: string;
  label: string;
  hint?: ReactNode;
  problem?: string | null;
  children: (describedBy: string | undefined, invalid: boolean) => ReactNode;
}

/** A labelled control with its hint and problem wired through aria-describedby. */
export function Field({ id, label, hint, problem, children }: Props) {
  const ids = [hint ? `${id}-hint` : null, problem ? `${id}-problem` : null].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(ids || undefined, Boolean(problem))}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {problem && (
        <p className="error" id={`${id}-problem`} aria-live="polite">
          {problem}
        </p>
      )}
    </div>
  );
}

export function NumberField(props: {
  id: string;
  label: string;
  value: number;
  onChange: (value: number) => void;
  min?: number;
  max?: number;
  step?: number;
  hint?: ReactNode;
  problem?: string | null;
}) {
  const { id, label, value, onChange, min, max, step, hint, problem } = props;
  return (
    <Field id={id} label={label} hint={hint} problem={problem}>
      {(describedBy, invalid) => (
        <input
          id={id}
          type="number"
          inputMode="decimal"
          value={Number.isFinite(value) ? value : ""}
          min={min}
          max={max}
          step={step ?? 1}
          onChange={(event) => onChange(event.target.value === "" ? Number.NaN : Number(event.target.value))}
          aria-describedby={describedBy}
          aria-invalid={invalid}
        />
      )}
    </Field>
  );
}
