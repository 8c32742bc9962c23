// One tenant's Socket.IO client gone wild (the real socket.io-client): it switches `metrics` off
// and on as fast as it can for `<seconds>`. Prints a JSON summary of what it sent and got back.
//
//   node toggle.mjs <base url> <token> <seconds>
import { createRequire } from "node:module";

const require = createRequire(new URL("../../end2end/package.json", import.meta.url));
const { io } = require("socket.io-client");
const [base, token, seconds] = process.argv.slice(2);
const summary = { sent: 0, answered: 0, refusals: 0, disconnects: 0 };
const socket = io(base, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });

socket.on("subscribed", () => { summary.answered += 1; });
socket.on("unsubscribed", () => { summary.answered += 1; });
socket.on("error", () => { summary.refusals += 1; });
socket.on("disconnect", () => { summary.disconnects += 1; });
socket.on("connect_error", (error) => {
  process.stderr.write(`connect_error: ${error.message}\n`);
  process.exit(1);
});

socket.on("connect", () => {
  const until = Date.now() + Number(seconds) * 1000;
  const burst = () => {
    if (Date.now() >= until || !socket.connected) {
      process.stdout.write(JSON.stringify(summary) + "\n");
      socket.close();
      process.exit(0);
    }
    for (let i = 0; i < 200; i += 1) {
      socket.emit(summary.sent % 2 === 0 ? "unsubscribe" : "subscribe", { stream: "metrics" });
      summary.sent += 1;
    }
    setImmediate(burst);
  };
  burst();
});
