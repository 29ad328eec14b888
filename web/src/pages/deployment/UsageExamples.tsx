import { useState } from "react";
import type { Deployment } from "../../api/types";
import { CodeBlock } from "../../components/CodeBlock";

const TITLES: Record<string, string> = { curl: "curl", python: "Python (berth client)", openai: "OpenAI client", tritonclient: "tritonclient (V2)" };

/** The control plane's ready-to-paste calls, written from the deployment's signature, in the order it gives. */
export function UsageExamples({ deployment }: { deployment: Deployment }) {
  const examples = Object.entries(deployment.usage ?? {});
  const [tab, setTab] = useState(0);
  const selected = examples[Math.min(tab, examples.length - 1)];
  return (
    <section className="card" aria-labelledby="usage-title">
      <h2 id="usage-title">Use it</h2>
      {examples.length === 0 ? (
        <p className="muted">Examples appear once the deployment is ready.</p>
      ) : (
        <>
          <div role="tablist" aria-label="Examples" className="tabs">
            {examples.map(([kind], index) => (
              <button
                key={kind}
                type="button"
                role="tab"
                id={`usage-tab-${kind}`}
                aria-selected={index === tab}
                aria-controls="usage-panel"
                tabIndex={index === tab ? 0 : -1}
                onClick={() => setTab(index)}
                onKeyDown={(event) => {
                  // arrow keys move between tabs, as the ARIA tabs pattern expects
                  const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
                  if (!step) return;
                  const to = (index + step + examples.length) % examples.length;
                  setTab(to);
                  document.getElementById(`usage-tab-${examples[to]?.[0]}`)?.focus();
                }}
              >
                {TITLES[kind] ?? kind}
              </button>
            ))}
          </div>
          {selected && (
            <div role="tabpanel" id="usage-panel" aria-labelledby={`usage-tab-${selected[0]}`}>
              <CodeBlock title={`${TITLES[selected[0]] ?? selected[0]} example`} code={selected[1]} />
            </div>
          )}
        </>
      )}
    </section>
  );
}
