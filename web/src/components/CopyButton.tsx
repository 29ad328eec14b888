import { useState } from "react";

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // NOTE: the async clipboard needs a secure context and permission; fall back to a hidden textarea.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    return copied;
  }
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [status, setStatus] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    setStatus((await copyText(text)) ? "copied" : "failed");
    window.setTimeout(() => setStatus("idle"), 2000);
  };
  return (
    <button type="button" className="secondary small" onClick={() => void copy()} aria-label={label}>
      {status === "copied" ? "Copied" : status === "failed" ? "Copy failed" : "Copy"}
      <span className="visually-hidden" aria-live="polite">
        {status === "copied" ? "Copied to the clipboard" : ""}
      </span>
    </button>
  );
}
