import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

// Built into the Python package so `kefu serve` ships the console with no Node at run time.
export default defineConfig({
  base: "/console/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  // widgets/shared/ has no node_modules of its own: its imports resolve from this package's.
  resolve: {
    alias: {
      marked: fileURLToPath(new URL("./node_modules/marked", import.meta.url)),
      "livekit-client": fileURLToPath(new URL("./node_modules/livekit-client", import.meta.url)),
    },
  },
  build: {
    outDir: "../../src/kefu/static/console",
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    // livekit-client (~575 kB) is its own chunk, loaded when an agent first answers a call.
    chunkSizeWarningLimit: 700,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
});
