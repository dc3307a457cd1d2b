import { expect } from "chai";

import { RuntimeError, type RuntimeErrorCode } from "../../../relayer/adapters/runtimes/types.js";

/** Awaits a promise that must reject with a `RuntimeError` of `code`, and returns that error. */
export async function expectRuntimeError(promise: Promise<unknown>, code: RuntimeErrorCode): Promise<RuntimeError> {
  let settled: unknown;
  try {
    settled = await promise;
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(RuntimeError);
    expect((error as RuntimeError).code, (error as Error).message).to.equal(code);
    return error as RuntimeError;
  }
  expect.fail(`expected ${code}, got a result: ${JSON.stringify(settled).slice(0, 200)}`);
}

/** Enough tokens that generation on the tiny model takes far longer than the short timeouts the tests use. */
export const LONG_GENERATION = 1800;
