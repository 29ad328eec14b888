import { api } from "../api/client";
import type { SystemInfo } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { usePoll } from "../hooks/usePoll";
import { formatBytes, formatPercent } from "../lib/format";

function Meter({ label, percent, detail }: { label: string; percent: number | null; detail: string }) {
  const value = percent == null ? 0 : Math.max(0, Math.min(100, percent));
  return (
    <div className="meter">
      <div className="meter-head">
        <span>{label}</span>
        <span className="muted">{detail}</span>
      </div>
      <meter min={0} max={100} low={70} high={90} optimum={0} value={value} aria-label={`${label} in use`}>
        {formatPercent(percent)}
      </meter>
    </div>
  );
}

export function HostPanel() {
  const system = usePoll(api.system, 3000);
  return (
    <section className="card host" aria-labelledby="host-title">
      <h2 id="host-title">Host{system.data ? `: ${system.data.hostname}` : ""}</h2>
      <ErrorMessage error={system.error} />
      {system.data && <HostMeters info={system.data} />}
    </section>
  );
}

export function HostMeters({ info }: { info: SystemInfo }) {
  const { cpu, memory } = info;
  return (
    <div className="meters">
      <Meter
        label={`CPU (${cpu.logical_cores} cores)`}
        percent={cpu.percent}
        detail={`${formatPercent(cpu.percent)} · load ${cpu.load_average.map((l) => l.toFixed(2)).join(" ")}`}
      />
      <Meter
        label="RAM"
        percent={memory.percent}
        detail={`${formatBytes(memory.total - memory.available)} of ${formatBytes(memory.total)}`}
      />
      {info.disks.map((disk) => (
        <Meter
          key={disk.name}
          label={disk.name === "hf_cache" ? "Disk (model cache)" : "Disk (berth home)"}
          percent={disk.total ? (100 * (disk.total - disk.free)) / disk.total : null}
          detail={`${formatBytes(disk.free)} free of ${formatBytes(disk.total)}`}
        />
      ))}
      {info.gpus.length === 0 && <p className="muted">No GPU detected (NVML).</p>}
      {info.gpus.map((gpu) => (
        <Meter
          key={gpu.index}
          label={`GPU ${gpu.index}: ${gpu.name}`}
          percent={gpu.memory_total ? (100 * gpu.memory_used) / gpu.memory_total : null}
          detail={`${formatBytes(gpu.memory_used)} of ${formatBytes(gpu.memory_total)} · ${formatPercent(gpu.utilization)} busy`}
        />
      ))}
    </div>
  );
}
