// Epoch seconds, ticking while `active`: running stages show their elapsed time growing.
import { useEffect, useState } from "react";

export function useNow(active: boolean, everyMs = 250): number {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    if (!active) return undefined;
    const timer = window.setInterval(() => setNow(Date.now() / 1000), everyMs);
    return () => window.clearInterval(timer);
  }, [active, everyMs]);
  return now;
}
