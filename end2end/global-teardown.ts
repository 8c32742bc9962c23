// Stops the suite's servers with SIGTERM, as a process manager would, and checks each exits
// cleanly (within 10 s).
import { stopProcess } from "./server";

export default async function globalTeardown() {
  const pids = (process.env.SWITCHBOARD_PIDS ?? "").split(",").filter(Boolean).map(Number);
  await Promise.all(pids.map((pid) => stopProcess(pid)));
}
