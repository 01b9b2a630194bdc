import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

// The call's media module (livekit-client inside), built apart from widget.js as one ES
// module, widget-call.js: the widget imports it by URL only when a visitor starts a call,
// so the chat bundle's size budget does not pay for LiveKit.
export default defineConfig({
  esbuild: { charset: "ascii" },
  resolve: {
    alias: { "livekit-client": fileURLToPath(new URL("./node_modules/livekit-client", import.meta.url)) },
  },
  build: {
    lib: {
      entry: fileURLToPath(new URL("../shared/livekit.ts", import.meta.url)),
      formats: ["es"],
      fileName: () => "widget-call.js",
    },
    outDir: fileURLToPath(new URL("../../src/kefu/static/chat", import.meta.url)),
    // widget.js is built first into the same folder; keep it.
    emptyOutDir: false,
    target: "es2020",
    minify: "esbuild",
    sourcemap: false,
  },
});
