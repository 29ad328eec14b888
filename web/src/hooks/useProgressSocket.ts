// Follows `WS /api/v1/ws/{name}`: history, then live events and states, reconnecting if it drops.
import { useEffect, useReducer, useState } from "react";
import { requireKey, socketProtocols } from "../api/auth";
import type { ProgressMessage } from "../api/types";
import { initialProgress, reduceProgress } from "../lib/progress";

export type SocketStatus = "connecting" | "open" | "closed" | "not-found";

const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_NOT_FOUND = 4404;

export function socketUrl(name: string): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/v1/ws/${encodeURIComponent(name)}`;
}

export function useProgressSocket(name: string) {
  const [view, dispatch] = useReducer(reduceProgress, undefined, initialProgress);
  const [status, setStatus] = useState<SocketStatus>("connecting");

  useEffect(() => {
    let socket: WebSocket | null = null;
    let retry: number | undefined;
    let stopped = false;

    const connect = () => {
      setStatus("connecting");
      const ws = new WebSocket(socketUrl(name), socketProtocols());
      socket = ws;
      ws.onopen = () => setStatus("open");
      ws.onmessage = (message) => {
        try {
          dispatch(JSON.parse(String(message.data)) as ProgressMessage);
        } catch {
          // not JSON: nothing the page can show
        }
      };
      ws.onclose = (event) => {
        if (stopped) return;
        if (event.code === CLOSE_NOT_FOUND) return setStatus("not-found");
        setStatus("closed");
        if (event.code === CLOSE_UNAUTHORIZED) return requireKey(null);
        retry = window.setTimeout(connect, 1000); // replayed history is de-duplicated by event id
      };
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      const ws = socket;
      if (!ws) return;
      // NOTE: closing a socket still connecting makes the browser log an error; close once it opens.
      if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close();
      else ws.close();
    };
  }, [name]);

  return { view, status };
}
