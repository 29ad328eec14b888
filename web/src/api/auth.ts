// The API key lives in sessionStorage: asked for once, kept for the tab, gone when it closes.

const STORAGE_KEY = "berth.apiKey";
type Listener = (reason: string | null) => void;
const listeners = new Set<Listener>();

export function getApiKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: behave as if no key was given
  }
}

export function setApiKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function clearApiKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Called by the API client on a 401: the app shows the key prompt. */
export function requireKey(reason: string | null): void {
  for (const listener of listeners) listener(reason);
}

export function onKeyRequired(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function authHeaders(): Record<string, string> {
  const key = getApiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** WebSocket subprotocols: browsers cannot set headers on a WebSocket, and keys never go in URLs. */
export function socketProtocols(): string[] {
  const key = getApiKey();
  return key ? ["berth", `bearer.${key}`] : ["berth"];
}
