import { STEPS } from "./steps";

/** The five steps as an ordered list; finished steps are buttons that jump back to them. */
export function StepIndicator({ step, onJump }: { step: number; onJump: (to: number) => void }) {
  return (
    <nav aria-label="Wizard steps">
      <ol className="steps">
        {STEPS.map((s, index) => {
          const status = index === step ? "current" : index < step ? "done" : "todo";
          const text = (
            <>
              <span className="step-number" aria-hidden="true">
                {index + 1}
              </span>
              <span className="step-title">{s.title}</span>
            </>
          );
          return (
            <li key={s.id} className={`step step-${status}`} aria-current={index === step ? "step" : undefined}>
              {index < step ? (
                <button type="button" className="link-button" onClick={() => onJump(index)}>
                  {text}
                  <span className="visually-hidden"> (done; go back to this step)</span>
                </button>
              ) : (
                <span>
                  {text}
                  {index === step && <span className="visually-hidden"> (current step)</span>}
                </span>
              )}
            </li>
          );
        })}
      </ol>
    </nav>
  );
}
