// What the control plane says a source string is (kind, default name), asked as the user types.
// NOTE: the UI never classifies a source itself; berth.sourcekind is the one rule, behind the API.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { SourceDescription } from "../api/types";

const WAIT_MS = 200; // ask once typing pauses, not on every key

/** The description of `source` once the API has answered for exactly this string, else null. */
export function useSourceDescription(source: string): SourceDescription | null {
  const [described, setDescribed] = useState<SourceDescription | null>(null);
  const wanted = source.trim();
  useEffect(() => {
    if (!wanted) return;
    let live = true;
    const timer = setTimeout(() => {
      api.describeSource(wanted).then(
        (answer) => live && setDescribed(answer),
        () => undefined, // a source the API cannot describe shows no revision field; preflight says why
      );
    }, WAIT_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [wanted]);
  return described?.source === wanted ? described : null;
}
