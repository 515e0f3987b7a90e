/**
 * The bare baseline: a `ws` server that broadcasts every text frame it
 * receives to every connected client, encoding nothing and storing nothing.
 * Run as its own process so its memory can be read like the edge's.
 */
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("connection", (socket) => {
  socket.on("message", (data, isBinary) => {
    for (const client of wss.clients) client.send(data, { binary: isBinary });
  });
});
wss.on("listening", () => {
  const address = wss.address();
  if (address && typeof address === "object") process.stdout.write(`${address.port}\n`);
});
