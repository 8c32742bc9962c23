// The peer of `cargo bench --bench push`: a minimal Socket.IO 4.8 server (npm `socket.io`) doing the
// same room fan-out as Switchboard's push, driven by the same load generator. Call events POSTed to
// /api/v1/calls/events (one or an array, as Switchboard takes them) are emitted at once as the
// seed's `call_event` to the room of their tenant; a socket joins the room of its handshake's
// `auth.user_id`. Unlike Switchboard it stores nothing and checks no token: it is the fan-out alone.
const http = require("node:http");
const { Server } = require("socket.io");

const server = http.createServer((request, response) => {
  if (request.method !== "POST" || request.url !== "/api/v1/calls/events") {
    response.writeHead(404).end();
    return;
  }
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const events = [].concat(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    const timestamp = new Date().toISOString();
    for (const event of events) {
      const call = { id: event.call_id, userId: event.user_id, ...event.call };
      io.to(event.user_id).emit("call_event", { type: event.type, call, timestamp });
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ success: true, stored: events.length }));
  });
});

// The seed's keep-alive, as Switchboard has it.
const io = new Server(server, { pingInterval: 25_000, pingTimeout: 60_000 });
io.on("connection", (socket) => {
  const tenant = String(socket.handshake.auth?.user_id ?? "");
  socket.join(tenant);
  socket.emit("connected", { user_id: tenant, sid: socket.id });
});

// The same accept backlog as Switchboard's (Node's default, 511, makes connect storms wait for
// SYN retries).
server.listen(0, "127.0.0.1", 4096, () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
