// The shared-quota probe of the hostile corpus: opens as many Socket.IO sockets as tenant A's
// API token may hold (the real socket.io-client: its user's share), then one for tenant B with
// its own owner's token. Prints "<A connected> <A refused> <B connected>".
//
//   node quota.mjs <base url> <token A> <token B> <sockets A>
import { createRequire } from "node:module";

const require = createRequire(new URL("../../end2end/package.json", import.meta.url));
const { io } = require("socket.io-client");
const [base, tokenA, tokenB, count] = process.argv.slice(2);

function open(token) {
  return new Promise((resolve) => {
    const socket = io(base, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
    socket.on("connect", () => resolve({ socket, ok: true }));
    socket.on("connect_error", () => resolve({ socket, ok: false }));
  });
}

const held = [];
for (let i = 0; i < Number(count); i += 1) held.push(await open(tokenA));
const extra = await open(tokenA);
const other = await open(tokenB);
const connected = held.filter((s) => s.ok).length;
process.stdout.write(`${connected} ${extra.ok ? 0 : 1} ${other.ok ? 1 : 0}\n`);
for (const { socket } of [...held, extra, other]) socket.close();
process.exit(0);
