import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The control plane `berth up` starts; the dev server forwards API calls and WebSockets to it.
const CONTROL_PLANE = "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    // NOTE: built into the Python package so `berth up` serves the UI with no Node at run time.
    outDir: "../src/berth/ui",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
  },
  server: {
    proxy: {
      "/api": { target: CONTROL_PLANE, ws: true, changeOrigin: true },
      "/health": { target: CONTROL_PLANE, changeOrigin: true },
      "/models": { target: CONTROL_PLANE, changeOrigin: true },
    },
  },
  test: {
    include: ["src/**/*.test.{ts,tsx}"],
    environment: "node",
  },
});
