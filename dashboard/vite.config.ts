import { fileURLToPath } from "node:url";

import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

// The app imports the shared library (`lib/`) and the typechain factories straight from their TypeScript sources, so
// the browser runs exactly the decoding and verification code the CLI and the relayer run.
export default defineConfig({
  root,
  base: "./",
  // JSX through esbuild with the automatic runtime: no React plugin (and no Fast Refresh) is needed for a built app.
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 2_000,
  },
});
