/** `npx vite preview -c web/scripts/preview.config.ts`: web/dist with the stand-in web session routes. */
import { defineConfig, mergeConfig } from "vite";
import base from "../vite.config.js";
import { webSessionStandIn } from "./web-session-stand-in.js";

const edge = process.env.PARLEY_EDGE_URL ?? "http://localhost:3000";
export default mergeConfig(
  base,
  defineConfig({ root: new URL("..", import.meta.url).pathname, plugins: [webSessionStandIn(edge)] }),
);
