/**
 * Where the tracing preload is, for whatever starts a component
 * (`node --import <it> … main`): its source for tsx, and the bundle
 * `npm run build` writes beside the others in dist/ (split, so that the
 * OpenTelemetry SDK it imports only when tracing is on stays out of the
 * entry chunk). Paths are relative to the repository root.
 */
export const TRACING_PRELOAD = {
  source: "shared/src/tracing/register.ts",
  outdir: "dist/tracing",
  built: "dist/tracing/register.js",
} as const;
