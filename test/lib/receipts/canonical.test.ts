import { expect } from "chai";
import { createHash } from "node:crypto";

import { isAitbcError } from "../../../lib/errors.js";
import {
  canonicalize,
  canonicalizeToBytes,
  compareCodePoints,
  JsonNumber,
  JsonParseError,
  parseJson,
  pyFloatRepr,
  pyJsonString,
} from "../../../lib/receipts/canonical.js";
import { canonicalVectors, floatFromBits } from "../../fixtures/vectors.js";

function parseErrorCode(text: string): string | undefined {
  try {
    parseJson(text);
    return undefined;
  } catch (error) {
    expect(error).to.be.instanceOf(JsonParseError);
    return (error as JsonParseError).code;
  }
}

describe("receipts/canonical", () => {
  describe("against Python's json.dumps (test/vectors/canonical.json)", () => {
    for (const vector of canonicalVectors.cases) {
      it(`canonicalises "${vector.name}" byte for byte`, () => {
        const bytes = canonicalizeToBytes(parseJson(vector.document));
        expect(new TextDecoder().decode(bytes)).to.equal(vector.canonical);
        expect(createHash("sha256").update(bytes).digest("hex")).to.equal(vector.sha256);
      });
    }

    it("parses the served form from UTF-8 bytes as well as from a string", () => {
      for (const vector of canonicalVectors.cases) {
        expect(canonicalize(parseJson(new TextEncoder().encode(vector.document))), vector.name).to.equal(vector.canonical);
      }
    });

    it("writes every float as Python's repr", () => {
      expect(canonicalVectors.floats.length).to.be.greaterThan(5000);
      for (const [bits, repr] of canonicalVectors.floats) {
        const value = floatFromBits(bits);
        expect(pyFloatRepr(value), bits).to.equal(repr);
        expect(JsonNumber.fromLexeme(repr)?.lexeme, bits).to.equal(repr);
      }
    });
  });

  describe("plain JavaScript values", () => {
    it("writes safe integers as ints, JsonNumber.float as floats and other numbers as float reprs", () => {
      expect(canonicalize({ a: 5, b: JsonNumber.float(5), c: 0.1, d: JsonNumber.float(1e16), e: 10n ** 30n, f: JsonNumber.int("12") })).to.equal(
        '{"a":5,"b":5.0,"c":0.1,"d":1e+16,"e":1000000000000000000000000000000,"f":12}',
      );
    });

    it("drops null and undefined recursively in objects and arrays", () => {
      expect(canonicalize({ a: null, b: [null, 1, undefined, { c: null }], d: undefined, e: { f: [null] } })).to.equal('{"b":[1,{}],"e":{"f":[]}}');
    });

    it("refuses numbers Python could not have written", () => {
      for (const bad of [NaN, Infinity, -Infinity, 2 ** 60]) {
        expect(() => canonicalize({ x: bad }), String(bad)).to.throw().that.satisfies((e: unknown) => isAitbcError(e, "CANONICAL_NUMBER_INVALID"));
      }
      expect(() => JsonNumber.int("01")).to.throw().that.satisfies((e: unknown) => isAitbcError(e, "CANONICAL_NUMBER_INVALID"));
      expect(() => JsonNumber.float(NaN)).to.throw().that.satisfies((e: unknown) => isAitbcError(e, "CANONICAL_NUMBER_INVALID"));
    });

    it("refuses values JSON cannot hold", () => {
      for (const bad of [new Date(0), () => 1, Symbol("s")]) {
        expect(() => canonicalize({ x: bad as never })).to.throw().that.satisfies((e: unknown) => isAitbcError(e, "CANONICAL_VALUE_INVALID"));
      }
    });

    it("treats a __proto__ key as an ordinary key", () => {
      const parsed = parseJson('{"__proto__":{"x":1},"a":2}');
      expect(canonicalize(parsed)).to.equal('{"__proto__":{"x":1},"a":2}');
    });
  });

  describe("key order", () => {
    it("sorts by code point, not by UTF-16 code unit", () => {
      const astral = "\u{1F600}";
      const privateUse = "\uE000";
      expect(astral < privateUse).to.equal(true); // UTF-16 order, the wrong one
      expect(compareCodePoints(astral, privateUse)).to.equal(1);
      expect(canonicalize({ [astral]: 1, [privateUse]: 2 })).to.equal('{"\\ue000":2,"\\ud83d\\ude00":1}');
    });

    it("orders lone surrogates as the code points they are", () => {
      expect(compareCodePoints("\uD83D\uDE00", "\uD83D\uE000")).to.equal(1); // U+1F600 > U+D83D
      expect(compareCodePoints("\uD800", "\uE000")).to.equal(-1);
      expect(compareCodePoints("ab", "abc")).to.equal(-1);
      expect(compareCodePoints("abc", "abc")).to.equal(0);
    });
  });

  describe("strings", () => {
    it("escapes like ensure_ascii=True", () => {
      expect(pyJsonString('a/b"\\\n\r\t\b\f\u0000\u001f\u007f\u0080é\u{1F600}')).to.equal(
        '"a/b\\"\\\\\\n\\r\\t\\b\\f\\u0000\\u001f\\u007f\\u0080\\u00e9\\ud83d\\ude00"',
      );
    });
  });

  describe("strict parsing", () => {
    const cases: [string, string][] = [
      ["{", "INVALID_JSON"],
      ['{"a":1,}', "INVALID_JSON"],
      ["[1,]", "INVALID_JSON"],
      ['{"a":01}', "INVALID_JSON"],
      ['{"a":1.}', "INVALID_JSON"],
      ['{"a":.5}', "INVALID_JSON"],
      ['{"a":NaN}', "INVALID_JSON"],
      ['{"a":Infinity}', "INVALID_JSON"],
      ['{"a":"\u0001"}', "INVALID_JSON"],
      ['{"a":"\\x41"}', "INVALID_JSON"],
      ['{"a":"\\u12"}', "INVALID_JSON"],
      ["{'a':1}", "INVALID_JSON"],
      ['{"a":1} {}', "INVALID_JSON"],
      ["", "INVALID_JSON"],
      ['{"a":1,"a":2}', "DUPLICATE_KEY"],
      ['{"a":{"b":1,"b":1}}', "DUPLICATE_KEY"],
      ['{"a":5.00}', "NUMBER_NOT_CANONICAL"],
      ['{"a":1E5}', "NUMBER_NOT_CANONICAL"],
      ['{"a":1e5}', "NUMBER_NOT_CANONICAL"],
      ['{"a":-0}', "NUMBER_NOT_CANONICAL"],
      ['{"a":1e400}', "NUMBER_NOT_CANONICAL"],
      ['{"a":0.10}', "NUMBER_NOT_CANONICAL"],
    ];
    for (const [text, code] of cases) {
      it(`refuses ${JSON.stringify(text)} with ${code}`, () => {
        expect(parseErrorCode(text)).to.equal(code);
      });
    }

    it("refuses invalid UTF-8 and accepts a UTF-8 BOM in bytes", () => {
      expect(() => parseJson(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).to.throw(JsonParseError);
      expect(canonicalize(parseJson(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"a":1}')])))).to.equal('{"a":1}');
    });

    it("refuses documents nested too deep instead of overflowing the stack", () => {
      expect(parseErrorCode("[".repeat(100_000))).to.equal("INVALID_JSON");
    });

    it("keeps number lexemes verbatim", () => {
      expect(canonicalize(parseJson('{"x":[5.0,1e-05,1e+16,-0.0,5,123456789012345678901234567890]}'))).to.equal(
        '{"x":[5.0,1e-05,1e+16,-0.0,5,123456789012345678901234567890]}',
      );
    });
  });
});
