// Calls `load` now and every `intervalMs` while mounted; one call at a time, stale answers dropped.
import { useCallback, useEffect, useRef, useState } from "react";

export interface Polled<T> {
  data: T | null;
  error: unknown;
  refresh: () => void;
}

export function usePoll<T>(load: () => Promise<T>, intervalMs: number, enabled = true): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);
  const busy = useRef(false);

  const run = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    const mine = generation.current;
    try {
      const value = await loadRef.current();
      if (mine === generation.current) {
        setData(value);
        setError(null);
      }
    } catch (caught) {
      if (mine === generation.current) setError(caught);
    } finally {
      busy.current = false;
    }
  }, []);

  useEffect(() => {
    if (!enabled) return undefined;
    void run();
    const timer = window.setInterval(() => void run(), intervalMs);
    return () => {
      window.clearInterval(timer);
      generation.current += 1; // answers still on their way belong to a previous mount
    };
  }, [run, intervalMs, enabled]);

  return { data, error, refresh: () => void run() };
}
