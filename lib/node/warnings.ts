/**
 * Node prints an ExperimentalWarning the first time `node:sqlite` loads (the relayer's journal and `receipt:anchor
 * --from-journal` use it). The project pins Node 22 and depends on that module on purpose, so for the project's
 * commands (the tasks and `aitbc-miner`) that one warning is noise; every other warning is still printed as Node
 * prints it.
 */
let installed = false;

export function isSqliteExperimentalWarning(warning: Error): boolean {
  return warning.name === "ExperimentalWarning" && /SQLite/i.test(warning.message);
}

export function silenceSqliteExperimentalWarning(): void {
  if (installed) return;
  installed = true;
  // Node's default printer is one of these listeners; they still get every other warning.
  const others = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (isSqliteExperimentalWarning(warning)) return;
    for (const listener of others) listener(warning);
  });
}
