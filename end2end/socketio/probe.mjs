// A Socket.IO client for the server's Rust tests, on the real `socket.io-client` package.
// argv[2] is JSON: {url, auth, transports?, reconnection?}. Every event received is printed as one
// JSON line on stdout ({"event", "data"}); connection changes too (connect, connect_error,
// disconnect). Each JSON line read on stdin is a command: {"emit", "data", "ack"} emits (printing
// the acknowledgement as event "ack" when asked for), {"disconnect": true} and {"connect": true}
// hang up and dial again, {"close": true} ends the process.
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const options = JSON.parse(process.argv[2]);
const socket = io(options.url, {
  auth: options.auth,
  transports: options.transports ?? ["polling", "websocket"],
  reconnection: options.reconnection ?? false,
  forceNew: true,
});

const print = (event, data) => process.stdout.write(`${JSON.stringify({ event, data: data ?? null })}\n`);

socket.onAny((event, data) => print(event, data));
socket.on("connect", () => print("connect", { id: socket.id, transport: socket.io.engine.transport.name }));
socket.on("connect_error", (error) => print("connect_error", { message: error.message }));
socket.on("disconnect", (reason) => print("disconnect", { reason }));

createInterface({ input: process.stdin }).on("line", (line) => {
  const command = JSON.parse(line);
  if (command.close) {
    socket.close();
    process.exit(0);
  } else if (command.disconnect) {
    socket.disconnect();
  } else if (command.connect) {
    socket.connect();
  } else if (command.ack) {
    socket.emit(command.emit, command.data, (answer) => print("ack", answer));
  } else if (command.data === undefined) {
    socket.emit(command.emit);
  } else {
    socket.emit(command.emit, command.data);
  }
});
