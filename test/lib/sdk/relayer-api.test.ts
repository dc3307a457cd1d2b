import { expect } from "chai";

import { isAitbcError } from "../../../lib/errors.js";
import { JsonNumber } from "../../../lib/receipts/canonical.js";
import { parseRelayerReceipt, parseRelayerReceiptList, waitForReceipt } from "../../../lib/sdk/relayer-api.js";
import { startFixedServer } from "../../fixtures/fixed-server.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isAitbcError(error)) return error.code;
    throw error;
  }
  return undefined;
}

const RECEIPT = '{"price":5.0,"units":1e-05,"nested":{"s":"a}\\"b","l":[1,{"x":"]"}]}}';

describe("tasks/receipts: relayer answers", function () {
  it("cuts the receipt out verbatim, keeping its number lexemes", function () {
    const receipt = '{"price":5.0,"units":1e-05,"nested":{"s":"a}\\"b"}}';
    const body = `{"receipt_id":"0x01","receipt_hash":"0x02","receipt":${receipt},"batch":{"id":3,"root":"0x04","status":"confirmed"},"proof":["0x05"]}`;
    const parsed = parseRelayerReceipt(body);
    expect(parsed.receiptText).to.equal(receipt);
    expect(parsed.batch?.root).to.equal("0x04");
    expect(parsed.proof).to.deep.equal(["0x05"]);
  });
});

describe("lib/sdk/relayer-api: the one reader of relayer receipt answers", function () {
  it("reads the answer of an anchored receipt: verbatim text, document with lexemes, batch and proof", function () {
    const body = `{"receipt_id":"0x01","receipt_hash":"02","batch_id":3,"receipt":${RECEIPT},"batch":{"id":3,"root":"0x04","status":"confirmed","item_count":2,"tx_hash":"0x06","block_number":9},"proof":["0x05","0x07"]}`;
    const parsed = parseRelayerReceipt(body);
    expect(parsed.receiptText).to.equal(RECEIPT);
    expect((parsed.document.get("price") as JsonNumber).lexeme).to.equal("5.0");
    expect(parsed.batch).to.deep.equal({ id: 3, root: "0x04", status: "confirmed", txHash: "0x06" });
    expect(parsed.proof).to.deep.equal(["0x05", "0x07"]);
  });

  it("reads a receipt not batched yet, in any key order and whitespace, and ignores `receipt` keys nested deeper", function () {
    const body = `{\n  "receipt" : ${RECEIPT},\n  "meta": {"receipt": {"other": 1}},\n  "batch": null,\n  "proof": null\n}`;
    const parsed = parseRelayerReceipt(body);
    expect(parsed.receiptText).to.equal(RECEIPT);
    expect(parsed.batch).to.equal(null);
    expect(parsed.proof).to.equal(null);
    const pending = parseRelayerReceipt(`{"meta":{"receipt":{"a":1}},"batch":{"id":1,"root":"0x01","status":"sent","tx_hash":null},"receipt":{"b":2}}`);
    expect(pending.receiptText).to.equal('{"b":2}');
    expect(pending.batch?.txHash).to.equal(null);
    expect(pending.proof).to.equal(null);
  });

  it("refuses bodies that are not a relayer receipt answer with RELAYER_ERROR", function () {
    for (const body of [
      "<html>not found</html>",
      "[1,2]",
      '{"receipt_id":"0x01"}',
      '{"receipt":"text"}',
      '{"receipt":{},"receipt":{}}',
      '{"receipt":{},"batch":{"id":"1","root":"0x01","status":"sent"}}',
      '{"receipt":{},"proof":"0x05"}',
      '{"receipt":{},"proof":[5]}',
    ]) {
      expect(codeOf(() => parseRelayerReceipt(body)), body).to.equal("RELAYER_ERROR");
    }
  });

  it("reads a page of the receipt list, leaving out items without a receipt, an id or a hash", function () {
    const body = `{"items":[{"receipt_id":"0x01","receipt_hash":"aa","batch_id":7,"receipt":${RECEIPT}},{"receipt_id":"0x02","receipt_hash":"bb","batch_id":null,"receipt":{"b":1}},{"receipt_id":"0x03","receipt_hash":"cc"},{"receipt_hash":"dd","receipt":{}},{"receipt_id":"0x05","receipt":{}}],"next_cursor":"c1"}`;
    const page = parseRelayerReceiptList(body);
    expect(page.items.map((i) => [i.receiptId, i.receiptHash, i.batchId])).to.deep.equal([
      ["0x01", "aa", 7],
      ["0x02", "bb", null],
    ]);
    expect((page.items[0].document.get("units") as JsonNumber).lexeme).to.equal("1e-05");
    expect(page.nextCursor).to.equal("c1");
    expect(parseRelayerReceiptList('{"items":[],"next_cursor":null}')).to.deep.equal({ items: [], nextCursor: null });
    for (const bad of ["nope", '{"items":{}}', "[]"]) expect(codeOf(() => parseRelayerReceiptList(bad)), bad).to.equal("RELAYER_ERROR");
  });
});

describe("lib/sdk/relayer-api: waitForReceipt tells the client why a job will not come", function () {
  it("stops at once with the relayer's refusal reason, a give-back or a failure, each with its fix", async function () {
    const server = await startFixedServer();
    try {
      const job = (state: string, extra: Record<string, unknown> = {}) => ({ job_id: "7", state, receipt_id: null, failure: null, refusal: null, refusal_detail: null, ...extra });
      const cases = [
        { view: job("refused", { refusal: "UNITS_TOO_LARGE", refusal_detail: "maxUnitsMilli 90000 exceeds 60000 for llama3.2" }), says: /refused, UNITS_TOO_LARGE \(maxUnitsMilli 90000/, hint: /job:cancel/ },
        { view: job("given_back", { failure: { code: "RUNTIME_DOWN", message: "the runtime does not answer" } }), says: /given back, RUNTIME_DOWN/, hint: /already back/ },
        { view: job("failed", { failure: { code: "RUN_FAILED", message: "3 attempts" } }), says: /failed, RUN_FAILED/, hint: /job:reclaim/ },
      ];
      for (const c of cases) {
        server.json("/api/v1/jobs/7", c.view);
        let caught: unknown;
        try {
          await waitForReceipt(server.url, 7n, { timeoutMs: 5_000, pollIntervalMs: 50 });
        } catch (error) {
          caught = error;
        }
        expect(isAitbcError(caught) && caught.code).to.equal("JOB_NOT_SERVED");
        if (!isAitbcError(caught)) throw new Error("expected JOB_NOT_SERVED");
        expect(caught.message).to.match(c.says);
        expect(caught.hint).to.match(c.hint);
        expect((caught.details as { state: string }).state).to.equal(c.view.state);
      }
      // A job still running is waited for, until the timeout.
      server.json("/api/v1/jobs/7", job("running"));
      let timeout: unknown;
      try {
        await waitForReceipt(server.url, 7n, { timeoutMs: 300, pollIntervalMs: 50 });
      } catch (error) {
        timeout = error;
      }
      expect(isAitbcError(timeout) && timeout.code).to.equal("RECEIPT_TIMEOUT");
    } finally {
      await server.close();
    }
  });
});
