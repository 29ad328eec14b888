import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { api } from "../../api/client";
import type { Preflight, SystemInfo } from "../../api/types";
import { navigate } from "../../hooks/useRoute";
import { useSourceDescription } from "../../hooks/useSourceDescription";
import { nameProblem } from "../../lib/name";
import { type WizardForm, buildSpec, formProblems } from "../../lib/spec";
import { DependencyManager } from "./DependencyManager";
import { DeploymentConfig } from "./DeploymentConfig";
import { DeploymentSummary } from "./DeploymentSummary";
import { clearDraft, loadDraft, saveDraft } from "./draft";
import { HardwareConfig } from "./HardwareConfig";
import { ModelSelection } from "./ModelSelection";
import { StepIndicator } from "./StepIndicator";
import { STEPS } from "./steps";

interface Check {
  key: string;
  result: Preflight | null;
  problem: unknown;
}

/** Everything preflight depends on: a new answer is needed only when one of these changes. */
function preflightKey(form: WizardForm): string {
  const { source, revision, file, task, runtime, device, dtype, maxMemoryGb, maxModelSizeGb, trustRemoteCode, allowPickle } = form;
  return JSON.stringify([source.trim(), revision, file.trim(), task, runtime, device, dtype, maxMemoryGb, maxModelSizeGb, trustRemoteCode, allowPickle]);
}

export function Wizard() {
  const [draft, setDraft] = useState(loadDraft);
  const { form, step } = draft;
  const [check, setCheck] = useState<Check | null>(null);
  const [checking, setChecking] = useState(false);
  const [system, setSystem] = useState<SystemInfo | null>(null);
  const [showProblems, setShowProblems] = useState(false);
  const [deploying, setDeploying] = useState(false);
  const [deployProblem, setDeployProblem] = useState<unknown>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const latest = useRef(0);
  const firstRender = useRef(true);
  const described = useSourceDescription(form.source);
  const kind = described?.kind ?? null;

  useEffect(() => saveDraft(draft), [draft]);
  useEffect(() => {
    api.system().then(setSystem, () => undefined); // the steps that need it say "Reading the host…"
  }, []);
  // NOTE: focus moves to the new step's heading so keyboard and screen-reader users land on it.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    heading.current?.focus();
  }, [step]);

  const update = useCallback((patch: Partial<WizardForm>) => {
    setDraft((d) => ({ ...d, form: { ...d.form, ...patch } }));
    setDeployProblem(null);
  }, []);
  const goTo = (to: number) => setDraft((d) => ({ ...d, step: to }));

  const key = preflightKey(form);
  const current = check?.key === key ? check : null;

  const runPreflight = useCallback(async (): Promise<Check> => {
    const id = ++latest.current;
    const name = nameProblem(form.name) ? "preflight" : form.name;
    setChecking(true);
    let outcome: Check;
    try {
      outcome = { key, result: await api.preflight(buildSpec(form, name, kind)), problem: null };
    } catch (problem) {
      outcome = { key, result: null, problem };
    }
    if (id === latest.current) {
      setCheck(outcome);
      setChecking(false);
    }
    return outcome;
  }, [form, key, kind]);

  // The hardware step re-asks whenever device, dtype or limits change.
  useEffect(() => {
    if (step === 1 && form.source.trim() && check?.key !== key) void runPreflight();
  }, [step, key, check?.key, form.source, runPreflight]);

  const next = async () => {
    if (step === 0) {
      if (!form.source.trim()) {
        setCheck({ key, result: null, problem: "Enter a Hugging Face model id or a local path, or pick a cached model." });
        document.getElementById("model-source")?.focus();
        return;
      }
      const outcome = current ?? (await runPreflight());
      if (outcome.problem) {
        document.getElementById("model-source")?.focus();
        return;
      }
      // NOTE: the API names the source (berth.sourcekind's rule), so the CLI and the UI agree.
      if (!form.name && outcome.result) update({ name: outcome.result.default_name });
    }
    if (step === 3) {
      const problems = formProblems(form);
      if (nameProblem(form.name) || Object.keys(problems).length > 0) {
        setShowProblems(true);
        const first = nameProblem(form.name) ? "deployment-name" : null;
        document.querySelector<HTMLElement>(first ? `#${first}` : "[aria-invalid='true']")?.focus();
        return;
      }
    }
    if (step === 4) return deploy();
    goTo(step + 1);
  };

  const deploy = async () => {
    setDeploying(true);
    setDeployProblem(null);
    try {
      const deployment = await api.deploy(buildSpec(form, form.name, kind));
      navigate({ page: "progress", name: deployment.name });
    } catch (problem) {
      setDeployProblem(problem);
      setDeploying(false);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void next();
  };

  const startOver = () => {
    clearDraft();
    setDraft(loadDraft());
    setCheck(null);
    setShowProblems(false);
    document.getElementById("model-source")?.focus();
  };

  const title = STEPS[step]?.title ?? "";
  return (
    <div className="page wizard">
      <div className="page-head">
        <h1>New deployment</h1>
        <button type="button" className="secondary small" onClick={startOver}>
          Start over
        </button>
      </div>
      <StepIndicator step={step} onJump={goTo} />
      <form className="card" onSubmit={submit} noValidate aria-labelledby="step-title">
        <h2 id="step-title" ref={heading} tabIndex={-1} data-step={STEPS[step]?.component}>
          Step {step + 1} of {STEPS.length}: {title}
        </h2>
        {step === 0 && (
          <ModelSelection
            form={form}
            update={update}
            preflight={current?.result ?? null}
            described={described}
            checking={checking}
            problem={current?.problem ?? null}
            onCheck={() => void runPreflight()}
          />
        )}
        {step === 1 && (
          <HardwareConfig form={form} update={update} system={system} preflight={current?.result ?? null} checking={checking} problem={current?.problem ?? null} />
        )}
        {step === 2 && <DependencyManager form={form} update={update} system={system} />}
        {step === 3 && <DeploymentConfig form={form} update={update} showProblems={showProblems} />}
        {step === 4 && <DeploymentSummary spec={buildSpec(form, form.name, kind)} deploying={deploying} problem={deployProblem} onEditName={() => goTo(3)} />}
        <div className="wizard-nav">
          <button type="button" className="secondary" onClick={() => goTo(step - 1)} disabled={step === 0}>
            Back
          </button>
          <button type="submit" disabled={checking || deploying}>
            {step === 4 ? (deploying ? "Deploying…" : "Deploy") : checking && step === 0 ? "Checking…" : "Next"}
          </button>
        </div>
      </form>
    </div>
  );
}
