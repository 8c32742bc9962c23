// Stops the server with SIGTERM, as a process manager would, and checks it exits cleanly.
export default async function globalTeardown() {
  const pid = Number(process.env.SWITCHBOARD_PID);
  if (!pid) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return; // gone
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.kill(pid, "SIGKILL");
  throw new Error("switchboard did not stop within 10 s of SIGTERM");
}
