import { parseDeployment, type Deployment } from "../../lib/deployments.js";
import { AitbcError } from "../../lib/errors.js";

/** The body of `/config.json`, served by `npx hardhat dashboard`. */
export interface AppConfig {
  network: string;
  chainId: number;
  local: boolean;
  deployment: Deployment;
  rpcUrl?: string;
  rpcProxy: string;
  relayerUrl?: string;
  relayerProxy?: string;
  devAccounts: string[];
}

/** Loads and validates `/config.json`; server-side errors (no deployment, …) come back with their code and hint. */
export async function loadConfig(): Promise<AppConfig> {
  let response: Response;
  try {
    response = await fetch("./config.json", { cache: "no-store" });
  } catch (cause) {
    throw new AitbcError("DASHBOARD_UNREACHABLE", "The dashboard server does not answer", {
      hint: "Is `npx hardhat dashboard` still running? Restart it and reload this page.",
      cause,
    });
  }
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok || body === undefined) {
    const error = (body?.error ?? {}) as { code?: string; message?: string; hint?: string };
    throw new AitbcError(error.code ?? "CONFIG_UNAVAILABLE", error.message ?? `config.json answered HTTP ${response.status}`, {
      hint: error.hint ?? "Check the terminal running `npx hardhat dashboard`.",
    });
  }
  const deployment = parseDeployment(body.deployment, "config.json");
  if (typeof body.chainId !== "number" || typeof body.rpcProxy !== "string") {
    throw new AitbcError("CONFIG_INVALID", "config.json lacks chainId or rpcProxy", { hint: "Restart `npx hardhat dashboard`." });
  }
  return {
    network: String(body.network),
    chainId: body.chainId,
    local: body.local === true,
    deployment,
    rpcUrl: typeof body.rpcUrl === "string" ? body.rpcUrl : undefined,
    rpcProxy: body.rpcProxy,
    relayerUrl: typeof body.relayerUrl === "string" ? body.relayerUrl : undefined,
    relayerProxy: typeof body.relayerProxy === "string" ? body.relayerProxy : undefined,
    devAccounts: Array.isArray(body.devAccounts) ? body.devAccounts.filter((a): a is string => typeof a === "string") : [],
  };
}
