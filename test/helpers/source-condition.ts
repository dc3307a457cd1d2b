import { registerHooks } from "node:module";

/** The export condition of package.json that maps `aitbc-evm` to its TypeScript sources (repository use only). */
export const SOURCE_CONDITION = "aitbc-source";

let registered = false;

/**
 * Makes later `import`s in this process resolve with {@link SOURCE_CONDITION}, as `node --conditions=aitbc-source`
 * would: `aitbc-evm` then means lib/sdk/index.ts, so code that imports the package by name runs without a dist/ build.
 * Only modules imported after the call (dynamic `import()`) see it.
 */
export function useSourceCondition(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const conditions = context.conditions.includes(SOURCE_CONDITION) ? context.conditions : [SOURCE_CONDITION, ...context.conditions];
      return nextResolve(specifier, { ...context, conditions });
    },
  });
}
