/**
 * Canonical JSON of AITBC receipts, byte-identical to what the Python reference signer feeds to Ed25519:
 * `json.dumps(value, sort_keys=True, separators=(",", ":"))` (default `ensure_ascii=True`) after dropping every null.
 *
 * Numbers are the subtle part. Python keeps ints and floats apart (`5` vs `5.0`) and writes floats with `repr`
 * (`1e-05`, `1e+16`), so a JavaScript number cannot be re-formatted on verification. Verification therefore parses the
 * document with {@link parseJson}, which keeps every number as its source lexeme ({@link JsonNumber}), and refuses
 * lexemes that Python's `json.dumps` could never have written. Signing code states the Python type explicitly with
 * {@link JsonNumber.float} / {@link JsonNumber.int}; plain safe integers are written as ints and other finite numbers
 * as Python float reprs.
 *
 * This module is pure and has no Node-specific imports, so it runs unchanged in a browser.
 */
import { AitbcError } from "../errors.js";

/** A JSON number kept as the exact text Python would write for it. */
export class JsonNumber {
  /** The number's text: a Python `int` literal or a Python `repr(float)`. */
  readonly lexeme: string;
  /** `true` when the lexeme is a Python float (`5.0`, `1e-05`), `false` for an int (`5`). */
  readonly isFloat: boolean;

  private constructor(lexeme: string, isFloat: boolean) {
    this.lexeme = lexeme;
    this.isFloat = isFloat;
  }

  /** A Python float: `JsonNumber.float(5)` is written `5.0`, `JsonNumber.float(0.00001)` is written `1e-05`. */
  static float(value: number): JsonNumber {
    return new JsonNumber(pyFloatRepr(value), true);
  }

  /** A Python int, from a safe integer, a bigint or a decimal string. */
  static int(value: number | bigint | string): JsonNumber {
    let big: bigint;
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) {
        throw new AitbcError("CANONICAL_NUMBER_INVALID", `${value} is not a safe integer; pass a bigint or a decimal string`);
      }
      big = BigInt(value);
    } else if (typeof value === "bigint") {
      big = value;
    } else {
      if (!/^-?(0|[1-9][0-9]*)$/.test(value) || value === "-0") {
        throw new AitbcError("CANONICAL_NUMBER_INVALID", `"${value}" is not a canonical decimal integer`);
      }
      big = BigInt(value);
    }
    return new JsonNumber(big.toString(), false);
  }

  /**
   * Wraps a lexeme read from a document. Returns `undefined` when Python's `json.dumps` could not have written it
   * (`-0`, `5.00`, `1E5`, `1e5`, a float that does not survive `float()` → `repr()`, or one that overflows to infinity).
   */
  static fromLexeme(lexeme: string): JsonNumber | undefined {
    if (!NUMBER_GRAMMAR.test(lexeme)) return undefined;
    const isFloat = /[.eE]/.test(lexeme);
    if (!isFloat) return lexeme === "-0" ? undefined : new JsonNumber(lexeme, false);
    const value = Number(lexeme);
    if (!Number.isFinite(value) || pyFloatRepr(value) !== lexeme) return undefined;
    return new JsonNumber(lexeme, true);
  }

  /** The JavaScript value (floats and ints alike; large ints lose precision — use {@link toBigInt} for those). */
  toNumber(): number {
    return Number(this.lexeme);
  }

  /** The exact integer; throws for floats. */
  toBigInt(): bigint {
    if (this.isFloat) throw new AitbcError("CANONICAL_NUMBER_INVALID", `${this.lexeme} is a float, not an integer`);
    return BigInt(this.lexeme);
  }

  toString(): string {
    return this.lexeme;
  }

  toJSON(): number {
    return this.toNumber();
  }
}

/** Strict RFC 8259 number grammar. */
const NUMBER_GRAMMAR = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/**
 * Python's `repr(float)`: the shortest digits that round-trip (the same digits JavaScript picks), in positional
 * notation when the decimal exponent is in [-4, 16), scientific otherwise, always with a `.0` or an exponent so it
 * reads back as a float.
 */
export function pyFloatRepr(value: number): string {
  if (!Number.isFinite(value)) {
    throw new AitbcError("CANONICAL_NUMBER_INVALID", `${value} cannot be written in a receipt (NaN and infinities are refused)`);
  }
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const sign = value < 0 ? "-" : "";
  // toExponential() without an argument yields the shortest round-trip digits: "d.ddde±x".
  const [mantissa, exponentText] = Math.abs(value).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const expSign = exponent < 0 ? "-" : "+";
    const expDigits = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${digits[0]}${fraction}e${expSign}${expDigits}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const intLength = exponent + 1;
  if (digits.length <= intLength) return `${sign}${digits}${"0".repeat(intLength - digits.length)}.0`;
  return `${sign}${digits.slice(0, intLength)}.${digits.slice(intLength)}`;
}

/**
 * A parsed JSON document. Objects are `Map`s so that no key (`__proto__` included) is special, and numbers are
 * {@link JsonNumber}s that keep their lexeme.
 */
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

/** Anything {@link canonicalize} accepts: parsed documents and plain JavaScript values alike. */
export type CanonicalInput =
  | null
  | undefined
  | boolean
  | string
  | number
  | bigint
  | JsonNumber
  | readonly CanonicalInput[]
  | ReadonlyMap<string, CanonicalInput>
  | { readonly [key: string]: CanonicalInput };

/** Why a document was refused by {@link parseJson}. */
export type JsonParseErrorCode = "INVALID_JSON" | "DUPLICATE_KEY" | "NUMBER_NOT_CANONICAL";

export class JsonParseError extends AitbcError {
  readonly position: number;
  constructor(code: JsonParseErrorCode, message: string, position: number) {
    super(code, `${message} at offset ${position}`, { details: { position } });
    this.position = position;
  }
}

/** Documents nested deeper than this are refused instead of exhausting the stack. */
const MAX_DEPTH = 128;

/**
 * Parses JSON text strictly (RFC 8259; no NaN/Infinity, no trailing data, no raw control characters in strings, no
 * duplicate keys) and keeps number lexemes. Accepts a string, or UTF-8 bytes (fatal decoding, an optional BOM is
 * skipped as Python's `json.loads(bytes)` does).
 *
 * @throws {JsonParseError} with code `INVALID_JSON`, `DUPLICATE_KEY` or `NUMBER_NOT_CANONICAL`.
 */
export function parseJson(input: string | Uint8Array): JsonValue {
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else {
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(input);
    } catch {
      throw new JsonParseError("INVALID_JSON", "document is not valid UTF-8", 0);
    }
  }
  return new Parser(text).parseDocument();
}

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseDocument(): JsonValue {
    this.skipWhitespace();
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos !== this.text.length) this.fail("INVALID_JSON", "unexpected data after the document");
    return value;
  }

  private fail(code: JsonParseErrorCode, message: string, position = this.pos): never {
    throw new JsonParseError(code, message, position);
  }

  private skipWhitespace(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  private parseValue(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail("INVALID_JSON", `nesting deeper than ${MAX_DEPTH}`);
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.parseObject(depth);
      case "[":
        return this.parseArray(depth);
      case '"':
        return this.parseString();
      case "t":
        return this.parseLiteral("true", true);
      case "f":
        return this.parseLiteral("false", false);
      case "n":
        return this.parseLiteral("null", null);
      default:
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.parseNumber();
        return this.fail("INVALID_JSON", c === undefined ? "unexpected end of document" : `unexpected character ${JSON.stringify(c)}`);
    }
  }

  private parseLiteral<T>(word: string, value: T): T {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return value;
    }
    return this.fail("INVALID_JSON", "invalid literal");
  }

  private parseNumber(): JsonNumber {
    const start = this.pos;
    const match = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    match.lastIndex = start;
    const found = match.exec(this.text);
    if (found === null) return this.fail("INVALID_JSON", "invalid number");
    this.pos = start + found[0].length;
    const next = this.text[this.pos];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) this.fail("INVALID_JSON", "invalid number");
    const number = JsonNumber.fromLexeme(found[0]);
    if (number === undefined) {
      this.fail("NUMBER_NOT_CANONICAL", `number ${found[0]} is not in the form Python's json.dumps writes`, start);
    }
    return number;
  }

  private parseString(): string {
    const text = this.text;
    this.pos++; // opening quote
    let out = "";
    let chunkStart = this.pos;
    for (;;) {
      if (this.pos >= text.length) this.fail("INVALID_JSON", "unterminated string");
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) {
        out += text.slice(chunkStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail("INVALID_JSON", "raw control character in string");
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += text.slice(chunkStart, this.pos);
      const escape = text[this.pos + 1];
      this.pos += 2;
      switch (escape) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = text.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("INVALID_JSON", "invalid \\u escape");
          // Code units are kept as they are: a \ud83d\ude00 pair becomes one astral character, a lone surrogate stays
          // lone — exactly as Python's decoder does.
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          this.fail("INVALID_JSON", "invalid escape", this.pos - 2);
      }
      chunkStart = this.pos;
    }
  }

  private parseArray(depth: number): JsonValue[] {
    this.pos++;
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return items;
    }
    for (;;) {
      this.skipWhitespace();
      items.push(this.parseValue(depth + 1));
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === "]") return items;
      if (c !== ",") this.fail("INVALID_JSON", "expected , or ] in array", this.pos - 1);
    }
  }

  private parseObject(depth: number): JsonObject {
    this.pos++;
    const object: JsonObject = new Map();
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return object;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail("INVALID_JSON", "expected a string key");
      const keyStart = this.pos;
      const key = this.parseString();
      // Python keeps the last of duplicated keys while other parsers keep the first: refusing them removes the
      // ambiguity about which value was signed.
      if (object.has(key)) this.fail("DUPLICATE_KEY", `duplicate key ${JSON.stringify(key)}`, keyStart);
      this.skipWhitespace();
      if (this.text[this.pos++] !== ":") this.fail("INVALID_JSON", "expected : after key", this.pos - 1);
      this.skipWhitespace();
      object.set(key, this.parseValue(depth + 1));
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === "}") return object;
      if (c !== ",") this.fail("INVALID_JSON", "expected , or } in object", this.pos - 1);
    }
  }
}

/**
 * Orders strings by Unicode code point, as Python sorts `str` keys. Plain `<` compares UTF-16 code units, which puts
 * astral characters (surrogates D800–DFFF) before U+E000–U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  const restA = a.length - i;
  const restB = b.length - j;
  return restA === restB ? 0 : restA < restB ? -1 : 1;
}

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: "\\\\",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x08: "\\b",
  0x0c: "\\f",
};

/** A string as Python's `json.dumps` writes it with `ensure_ascii=True`. */
export function pyJsonString(value: string): string {
  let out = '"';
  let chunkStart = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // Python escapes everything outside the printable ASCII range ' '..'~' (DEL included).
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += value.slice(chunkStart, i);
    out += SHORT_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, "0")}`;
    chunkStart = i + 1;
  }
  return out + value.slice(chunkStart) + '"';
}

function numberLexeme(value: number): string {
  if (Number.isSafeInteger(value)) return Object.is(value, -0) ? "0" : String(value);
  if (Number.isInteger(value)) {
    throw new AitbcError(
      "CANONICAL_NUMBER_INVALID",
      `${value} is an integer beyond 2^53; pass it as a bigint, or as JsonNumber.float() if it is a float`,
    );
  }
  return pyFloatRepr(value);
}

function isPlainObject(value: object): value is { readonly [key: string]: CanonicalInput } {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function write(value: CanonicalInput, depth: number): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (depth > MAX_DEPTH) throw new AitbcError("CANONICAL_VALUE_INVALID", `value nested deeper than ${MAX_DEPTH}`);
  switch (typeof value) {
    case "string":
      return pyJsonString(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return numberLexeme(value);
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      throw new AitbcError("CANONICAL_VALUE_INVALID", `a ${typeof value} cannot be written as JSON`);
  }
  if (value instanceof JsonNumber) return value.lexeme;
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (const item of value as readonly CanonicalInput[]) {
      const written = write(item, depth + 1);
      if (written !== undefined) parts.push(written);
    }
    return `[${parts.join(",")}]`;
  }
  let entries: [string, CanonicalInput][];
  if (value instanceof Map) {
    entries = [...(value as ReadonlyMap<string, CanonicalInput>).entries()];
  } else if (isPlainObject(value)) {
    entries = Object.entries(value);
  } else {
    throw new AitbcError("CANONICAL_VALUE_INVALID", `a ${value.constructor?.name ?? "non-plain"} object cannot be written as JSON`);
  }
  entries.sort((x, y) => compareCodePoints(x[0], y[0]));
  const parts: string[] = [];
  for (const [key, item] of entries) {
    if (typeof key !== "string") throw new AitbcError("CANONICAL_VALUE_INVALID", "object keys must be strings");
    const written = write(item, depth + 1);
    if (written !== undefined) parts.push(`${pyJsonString(key)}:${written}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * The canonical text of a value: nulls (and `undefined`) dropped recursively from objects and arrays, keys sorted by
 * code point, Python's separators, escaping and number lexemes. The text is pure ASCII.
 *
 * @throws {AitbcError} `CANONICAL_NUMBER_INVALID` for NaN, infinities and unsafe integers given as `number`;
 *   `CANONICAL_VALUE_INVALID` for values JSON cannot hold.
 */
export function canonicalize(value: CanonicalInput): string {
  return write(value, 0) ?? "null";
}

/** The canonical text as bytes (ASCII, hence also its UTF-8 encoding). */
export function canonicalizeToBytes(value: CanonicalInput): Uint8Array {
  const text = canonicalize(value);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
