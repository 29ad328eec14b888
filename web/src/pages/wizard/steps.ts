export const STEPS = [
  { id: "model", title: "Model", component: "ModelSelection" },
  { id: "hardware", title: "Hardware", component: "HardwareConfig" },
  { id: "dependencies", title: "Dependencies", component: "DependencyManager" },
  { id: "config", title: "Configuration", component: "DeploymentConfig" },
  { id: "summary", title: "Summary", component: "DeploymentSummary" },
] as const;

export type StepProps<Extra = object> = {
  form: import("../../lib/spec").WizardForm;
  update: (patch: Partial<import("../../lib/spec").WizardForm>) => void;
} & Extra;
