/**
 * The rate card as the CLI, SDK and dashboard show it, and model lookup by name with errors that name the fix.
 */
import { AitbcError } from "../errors.js";

/** One row of the rate card. `rate` is token base units per ONE unit. */
export interface RateCardRow {
  id: number;
  name: string;
  unitType: string;
  rate: bigint;
  enabled: boolean;
}

/** The subset of `ModelRegistry` this module reads (a typechain contract or anything shaped like it). */
export interface ModelRegistryReader {
  modelCount(): Promise<bigint>;
  model(modelId: number): Promise<{ rate: bigint; enabled: boolean; name: string; unitType: string }>;
}

/** Reads every model on the card, ids 1…modelCount. */
export async function readRateCard(registry: ModelRegistryReader): Promise<RateCardRow[]> {
  const count = Number(await registry.modelCount());
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const models = await Promise.all(ids.map((id) => registry.model(id)));
  return models.map((m, i) => ({ id: ids[i], name: m.name, unitType: m.unitType, rate: m.rate, enabled: m.enabled }));
}

/**
 * The row called `name`. `UNKNOWN_MODEL` when it is not on the card; `MODEL_DISABLED` when `requireEnabled` and the
 * DAO has disabled it.
 */
export function findModel(card: readonly RateCardRow[], name: string, options: { requireEnabled?: boolean } = {}): RateCardRow {
  const row = card.find((m) => m.name === name);
  const listed = card.filter((m) => m.enabled).map((m) => m.name).join(", ");
  if (row === undefined) {
    throw new AitbcError("UNKNOWN_MODEL", `model \`${name}\` is not on the rate card`, {
      hint: `Run \`npx hardhat rates\` to list models (enabled: ${listed === "" ? "none" : listed}).`,
      details: { model: name },
    });
  }
  if (options.requireEnabled === true && !row.enabled) {
    throw new AitbcError("MODEL_DISABLED", `model \`${name}\` is disabled on the rate card`, {
      hint: `Pick an enabled model (${listed === "" ? "none" : listed}); the DAO re-enables models by proposal.`,
      details: { model: name, modelId: row.id },
    });
  }
  return row;
}
