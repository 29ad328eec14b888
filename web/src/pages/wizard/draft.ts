// The wizard's answers survive a reload, an API-key prompt and a failed deploy ("back to the wizard").
import { DEFAULT_FORM, type WizardForm } from "../../lib/spec";

const KEY = "berth.wizard";

export interface Draft {
  form: WizardForm;
  step: number;
}

export function loadDraft(): Draft {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Partial<Draft> | null;
    if (saved?.form) return { form: { ...DEFAULT_FORM, ...saved.form }, step: Number(saved.step) || 0 };
  } catch {
    // a corrupt or foreign value: start afresh
  }
  return { form: DEFAULT_FORM, step: 0 };
}

export function saveDraft(draft: Draft): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(draft));
  } catch {
    // storage full or disabled: the wizard still works, it just forgets on reload
  }
}

export function clearDraft(): void {
  sessionStorage.removeItem(KEY);
}
