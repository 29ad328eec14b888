import type { Preflight, SystemInfo } from "../../api/types";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatBytes } from "../../lib/format";
import type { DType } from "../../lib/spec";
import { Field } from "./Field";
import { PreflightResult } from "./PreflightResult";
import type { StepProps } from "./steps";

const DTYPES: DType[] = ["auto", "float32", "float16", "bfloat16"];

type Props = StepProps<{ system: SystemInfo | null; preflight: Preflight | null; checking: boolean; problem: unknown }>;

export function HardwareConfig({ form, update, system, preflight, checking, problem }: Props) {
  const gpus = system?.gpus ?? [];
  const devices = ["auto", "cpu", ...(gpus.length ? ["cuda"] : []), ...gpus.map((g) => `cuda:${g.index}`)];
  return (
    <>
      <section aria-labelledby="host-facts">
        <h3 id="host-facts">This host</h3>
        {system ? (
          <dl className="facts">
            <dt>CPUs</dt>
            <dd>
              {system.cpu.logical_cores} logical cores
              {system.cpu.physical_cores ? ` (${system.cpu.physical_cores} physical)` : ""}
            </dd>
            <dt>RAM</dt>
            <dd>
              {formatBytes(system.memory.available)} free of {formatBytes(system.memory.total)}
            </dd>
            <dt>GPUs</dt>
            <dd>
              {gpus.length === 0
                ? "none detected"
                : gpus.map((g) => `${g.index}: ${g.name}, ${formatBytes(g.memory_total - g.memory_used)} free`).join("; ")}
            </dd>
          </dl>
        ) : (
          <p className="muted">Reading the host…</p>
        )}
      </section>
      <div className="grid-2">
        <Field id="device" label="Device" hint="auto uses a GPU when one is free, else the CPU.">
          {(describedBy) => (
            <select id="device" value={form.device} onChange={(e) => update({ device: e.target.value })} aria-describedby={describedBy}>
              {devices.map((device) => (
                <option key={device} value={device}>
                  {device}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field id="dtype" label="Precision (dtype)" hint="auto: float32 on a CPU, float16 or bfloat16 on a GPU.">
          {(describedBy) => (
            <select id="dtype" value={form.dtype} onChange={(e) => update({ dtype: e.target.value as DType })} aria-describedby={describedBy}>
              {DTYPES.map((dtype) => (
                <option key={dtype} value={dtype}>
                  {dtype}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <section aria-labelledby="preflight-title" aria-busy={checking}>
        <h3 id="preflight-title">Preflight for this model on this host</h3>
        {checking && <p className="muted">Checking…</p>}
        <ErrorMessage error={problem} />
        {preflight && <PreflightResult preflight={preflight} detail />}
      </section>
    </>
  );
}
