/**
 * The shapes in which users hold receipts, read into a list of receipts to verify:
 *
 * - a bare receipt (an object with `signature`, or any other object that is none of the shapes below);
 * - a relayer's `/api/v1/receipts/:id` answer (`{ receipt_id, …, "receipt": {…}, "batch": { root, status }, "proof":
 *   [...] }`), or the `{ receipt, proof, root }` the dashboard accepts;
 * - a relayer's receipt list (`/api/v1/receipts`: `{ "items": [{ …, "receipt": {…} }], "next_cursor" }`);
 * - a saved proof bundle (`*.proof.json`, `aitbc-receipt-proofs-v1`): with a `receipt` inside it is that receipt and
 *   its proofs; without one it is the proof of another file, which is reported as such and never as a bad receipt;
 * - a JSON array of any of these, or a JSON-lines file (one per line).
 *
 * Receipts are kept as parsed documents with their number lexemes, so re-serialising them keeps their signatures.
 * Pure and browser-safe.
 */
import { AitbcError } from "../errors.js";
import { importProofBundle, RECEIPT_PROOFS_FORMAT } from "./proof-bundle.js";
import { JsonNumber, JsonParseError, parseJson, type JsonObject, type JsonValue } from "./canonical.js";

/** An inclusion proof that came with a receipt: one path, or the items of a proof bundle (pick by leaf). */
export type EntryProof = { root: string; proof: string[] } | { root: string; items: { leaf: string; proof: string[] }[] };

export type EntryShape = "receipt" | "relayer-answer" | "relayer-list" | "proof-bundle";

export interface ReceiptEntry {
  /** The file name, with `#n` (n-th item of an array or list, from 1) or `:n` (line n of a JSON-lines file). */
  label: string;
  shape: EntryShape;
  /** The receipt; absent for a proof bundle without one, and for an entry that could not be read. */
  document?: JsonObject;
  proof?: EntryProof;
  /** The relayer's batch status (`confirmed`, `sent`, …), when it said. */
  batchStatus?: string;
  /** Set for a proof bundle that does not hold its receipt: the root it proves leaves under, and how many. */
  proofOnly?: { root: string; leaves: number; batchId?: string };
  /** Set when this entry could not be read; stable code and reason. */
  error?: { code: string; reason: string };
}

const HASH32 = /^0x[0-9a-fA-F]{64}$/;

function asObject(value: JsonValue | undefined): JsonObject | undefined {
  return value instanceof Map ? value : undefined;
}

/** A parsed value as plain JSON (numbers as JS numbers), for the parts of a document whose lexemes do not matter. */
function toPlain(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return value.toNumber();
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, toPlain(v)]));
  return value;
}

function proofList(value: JsonValue | undefined, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || !HASH32.test(v))) {
    throw new AitbcError("BAD_PROOF", `${what} must be an array of 32-byte 0x-hex hashes`, { hint: "Keep the proof exactly as the relayer served it." });
  }
  return value as string[];
}

function entryError(label: string, shape: EntryShape, error: unknown): ReceiptEntry {
  const code = error instanceof AitbcError ? error.code : "INVALID_JSON";
  return { label, shape, error: { code, reason: error instanceof Error ? error.message : String(error) } };
}

function fromProofBundle(label: string, top: JsonObject): ReceiptEntry {
  let imported: ReturnType<typeof importProofBundle>;
  try {
    imported = importProofBundle(toPlain(new Map([...top].filter(([k]) => k !== "receipt"))));
  } catch (error) {
    return entryError(label, "proof-bundle", error);
  }
  const proof: EntryProof = { root: imported.root, items: imported.items.map((i) => ({ leaf: i.leaf, proof: i.proof })) };
  const receipt = asObject(top.get("receipt"));
  if (receipt !== undefined) return { label, shape: "proof-bundle", document: receipt, proof };
  const batchId = top.get("batchId");
  return {
    label,
    shape: "proof-bundle",
    proof,
    proofOnly: { root: imported.root, leaves: imported.items.length, ...(typeof batchId === "string" ? { batchId } : {}) },
  };
}

function fromObject(label: string, top: JsonObject): ReceiptEntry[] {
  if (top.get("format") === RECEIPT_PROOFS_FORMAT) return [fromProofBundle(label, top)];
  if (top.has("signature")) return [{ label, shape: "receipt", document: top }];
  const items = top.get("items");
  if (Array.isArray(items)) {
    return items.map((item, i) => {
      const itemLabel = `${label}#${i + 1}`;
      const receipt = asObject(asObject(item)?.get("receipt"));
      if (receipt === undefined) return entryError(itemLabel, "relayer-list", new AitbcError("NOT_A_RECEIPT", "this list item carries no receipt"));
      return { label: itemLabel, shape: "relayer-list", document: receipt };
    });
  }
  const inner = asObject(top.get("receipt"));
  if (inner !== undefined) {
    try {
      const batch = asObject(top.get("batch"));
      const rootValue = top.get("root") ?? batch?.get("root");
      const root = typeof rootValue === "string" && rootValue !== "" ? rootValue : undefined;
      const path = proofList(top.get("proof"), "proof");
      const status = batch?.get("status");
      return [
        {
          label,
          shape: "relayer-answer",
          document: inner,
          ...(root !== undefined && path !== undefined ? { proof: { root, proof: path } } : {}),
          ...(typeof status === "string" ? { batchStatus: status } : {}),
        },
      ];
    } catch (error) {
      return [entryError(label, "relayer-answer", error)];
    }
  }
  return [{ label, shape: "receipt", document: top }];
}

function fromValue(label: string, value: JsonValue): ReceiptEntry[] {
  const top = asObject(value);
  if (top !== undefined) return fromObject(label, top);
  if (Array.isArray(value)) {
    if (value.length === 0) return [entryError(label, "receipt", new AitbcError("NO_RECEIPTS", "the array holds no receipts"))];
    return value.flatMap((item, i) => {
      const itemLabel = `${label}#${i + 1}`;
      const object = asObject(item);
      return object === undefined ? [entryError(itemLabel, "receipt", new AitbcError("NOT_AN_OBJECT", "a receipt must be a JSON object"))] : fromObject(itemLabel, object);
    });
  }
  return [entryError(label, "receipt", new AitbcError("NOT_AN_OBJECT", "a receipt must be a JSON object"))];
}

/** Lines of JSON-lines text with their 1-based numbers, blank lines left out. */
function jsonLines(text: string): { line: number; text: string }[] {
  return text
    .split("\n")
    .map((t, i) => ({ line: i + 1, text: t.replace(/\r$/, "") }))
    .filter((l) => l.text.trim() !== "");
}

/**
 * Reads a file's text (or bytes) into its receipts. Never throws for bad content: an entry that cannot be read
 * carries `error` with a stable code (`INVALID_JSON`, `DUPLICATE_KEY`, `NUMBER_NOT_CANONICAL`, `NOT_AN_OBJECT`,
 * `NO_RECEIPTS`, `BAD_PROOF`, `MERKLE_PROOF_FORMAT`, `MERKLE_PROOF_INVALID`).
 */
export function readReceiptEntries(input: string | Uint8Array, label: string): ReceiptEntry[] {
  let text: string;
  if (typeof input === "string") text = input;
  else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      return [{ label, shape: "receipt", error: { code: "INVALID_JSON", reason: "the file is not valid UTF-8" } }];
    }
  }
  let whole: JsonValue;
  try {
    whole = parseJson(text.replace(/^\uFEFF/, "").trim());
  } catch (error) {
    // JSON lines: the first non-blank line is a complete document on its own.
    const lines = jsonLines(text);
    const firstAlone = lines.length > 1 && (() => {
      try {
        parseJson(lines[0].text.trim());
        return true;
      } catch {
        return false;
      }
    })();
    if (!firstAlone) return [entryError(label, "receipt", error instanceof JsonParseError ? error : new AitbcError("INVALID_JSON", String(error)))];
    return lines.flatMap((l) => {
      const lineLabel = `${label}:${l.line}`;
      try {
        return fromValue(lineLabel, parseJson(l.text.trim()));
      } catch (lineError) {
        return [entryError(lineLabel, "receipt", lineError)];
      }
    });
  }
  return fromValue(label, whole);
}

/** The proof path for `leaf` in an entry's proof (`undefined` when the proof does not cover it). */
export function proofPathFor(proof: EntryProof, leaf: string): string[] | undefined {
  if ("proof" in proof) return proof.proof;
  return proof.items.find((i) => i.leaf.toLowerCase() === leaf.toLowerCase())?.proof;
}
