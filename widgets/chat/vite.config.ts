import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

// One classic <script> for any host page: an IIFE with no imports, written where the
// Python package serves it from (src/kefu/static/chat/widget.js).
export default defineConfig({
  // ASCII output (\u escapes): a script tag inherits the host page's charset when the
  // server sends none, and a GBK or Latin-1 page would otherwise garble our Chinese strings.
  esbuild: { charset: "ascii" },
  // widgets/shared/ has no node_modules of its own: its imports resolve from this package's.
  resolve: {
    alias: {
      marked: fileURLToPath(new URL("./node_modules/marked", import.meta.url)),
      "livekit-client": fileURLToPath(new URL("./node_modules/livekit-client", import.meta.url)),
    },
  },
  build: {
    lib: {
      entry: fileURLToPath(new URL("./src/main.ts", import.meta.url)),
      name: "kefuWidget",
      formats: ["iife"],
      fileName: () => "widget.js",
    },
    outDir: fileURLToPath(new URL("../../src/kefu/static/chat", import.meta.url)),
    emptyOutDir: true,
    target: "es2020",
    minify: "esbuild",
    sourcemap: false,
    reportCompressedSize: true,
  },
});
