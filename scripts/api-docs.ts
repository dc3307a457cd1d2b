/**
 * Generates docs/sdk/API.md from the SDK's types: every export of lib/sdk/index.ts and of the miner entry
 * (relayer/index.ts) with its signature and the summary of its doc comment, grouped by the module that defines it.
 *
 *   npm run docs:api            # write docs/sdk/API.md
 *   npm run docs:api -- --check # exit 1 when the committed file is out of date
 *
 * The TypeScript compiler resolves the exports, so the reference cannot drift from the code: a test regenerates it
 * and compares.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import ts from "typescript";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ENTRY = "lib/sdk/index.ts";
/** The miner's entry (`aitbc-evm/miner`): documented after the SDK, without what it re-exports from it. */
export const MINER_ENTRY = "relayer/index.ts";
export const OUTPUT = "docs/sdk/API.md";

interface Entry {
  name: string;
  kind: string;
  signature: string;
  summary: string;
  module: string;
}

function compilerOptions(root: string): ts.CompilerOptions {
  const file = ts.findConfigFile(root, ts.sys.fileExists, "tsconfig.json");
  if (file === undefined) throw new Error(`no tsconfig.json in ${root}`);
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(file, ts.sys.readFile).config, ts.sys, root);
  return { ...parsed.options, noEmit: true };
}

/** First paragraph of the doc comment, on one line. */
function summaryOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  return (text.split(/\n\s*\n/)[0] ?? "").replace(/\s*\n\s*/g, " ");
}

/** The declaration's source without its leading doc comment, indentation normalised. */
function declarationText(node: ts.Node): string {
  const source = node.getSourceFile().text;
  const text = source.slice(node.getStart(), node.getEnd());
  return text.replace(/^export\s+/, "").replace(/^declare\s+/, "");
}

function describe(symbol: ts.Symbol, name: string, checker: ts.TypeChecker, root: string): Entry[] {
  const declarations = symbol.getDeclarations() ?? [];
  const first = declarations[0];
  if (first === undefined) return [];
  const module = path.relative(root, first.getSourceFile().fileName).split(path.sep).join("/");
  const summary = summaryOf(symbol, checker);
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;
  if (ts.isFunctionDeclaration(first)) {
    const signatures = declarations.filter(ts.isFunctionDeclaration).filter((d) => d.body === undefined || declarations.length === 1);
    const lines = (signatures.length > 0 ? signatures : [first]).map((d) => {
      const sig = checker.getSignatureFromDeclaration(d);
      return `function ${name}${sig === undefined ? "()" : checker.signatureToString(sig, d, flags)}`;
    });
    return [{ name, kind: "function", signature: lines.join("\n"), summary, module }];
  }
  if (ts.isClassDeclaration(first)) {
    const members = first.members
      .filter((m) => !(ts.getCombinedModifierFlags(m) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) && !(m.name !== undefined && ts.isPrivateIdentifier(m.name)))
      .map((m) => {
        if (ts.isConstructorDeclaration(m)) return `  constructor${checker.signatureToString(checker.getSignatureFromDeclaration(m)!, m, flags)}`;
        if (ts.isMethodDeclaration(m)) return `  ${m.name.getText()}${checker.signatureToString(checker.getSignatureFromDeclaration(m)!, m, flags)}`;
        if (ts.isPropertyDeclaration(m)) return `  ${m.modifiers?.some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword) ? "readonly " : ""}${m.name.getText()}: ${checker.typeToString(checker.getTypeAtLocation(m), m, flags)}`;
        return undefined;
      })
      .filter((l): l is string => l !== undefined);
    const heritage = first.heritageClauses?.map((h) => ` ${h.getText()}`).join("") ?? "";
    return [{ name, kind: "class", signature: `class ${name}${heritage} {\n${members.join("\n")}\n}`, summary, module }];
  }
  if (ts.isInterfaceDeclaration(first) || ts.isTypeAliasDeclaration(first)) {
    return [{ name, kind: ts.isInterfaceDeclaration(first) ? "interface" : "type", signature: declarationText(first), summary, module }];
  }
  if (ts.isVariableDeclaration(first)) {
    const type = checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, first), first, flags);
    return [{ name, kind: "const", signature: `const ${name}: ${type}`, summary, module }];
  }
  return [{ name, kind: ts.SyntaxKind[first.kind], signature: name, summary, module }];
}

/** Every export of the SDK entry, in the order the entry lists them, then the miner entry's own. */
export function collectApi(root: string = ROOT): Entry[] {
  const files = [ENTRY, MINER_ENTRY];
  const program = ts.createProgram(files.map((f) => path.join(root, f)), compilerOptions(root));
  const checker = program.getTypeChecker();
  const seen = new Set<string>();
  return files.flatMap((file) => {
    const source = program.getSourceFile(path.join(root, file));
    if (source === undefined) throw new Error(`${file} is not part of the program`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (moduleSymbol === undefined) throw new Error(`${file} has no exports`);
    return checker.getExportsOfModule(moduleSymbol).flatMap((exported) => {
      if (seen.has(exported.getName())) return [];
      seen.add(exported.getName());
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      return describe(target, exported.getName(), checker, root);
    });
  });
}

/** The Markdown reference. Deterministic: same code, same bytes. */
export function renderApiDocs(root: string = ROOT): string {
  const entries = collectApi(root);
  const modules = [...new Set(entries.map((e) => e.module))];
  const out: string[] = [
    "# SDK API reference",
    "",
    `Generated from \`${ENTRY}\` and \`${MINER_ENTRY}\` by \`scripts/api-docs.ts\` (\`npm run docs:api\`); do not edit by hand. Everything below is`,
    'exported by the package entry point, `import { … } from "aitbc-evm"`, except the miner\'s own exports (defined in',
    `\`${MINER_ENTRY}\`), which come from \`import { … } from "aitbc-evm/miner"\`. The guides per role are in this folder's`,
    "[README](README.md).",
    "",
    "## Contents",
    "",
    ...modules.map((m) => `- \`${m}\`: ${entries.filter((e) => e.module === m).map((e) => `[${e.name}](#${e.name.toLowerCase()})`).join(", ")}`),
    "",
  ];
  for (const module of modules) {
    out.push(`## \`${module}\``, "");
    for (const e of entries.filter((x) => x.module === module)) {
      out.push(`### ${e.name}`, "", `${e.kind}`, "", "```ts", e.signature, "```", "");
      if (e.summary !== "") out.push(e.summary, "");
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}

function cli(): void {
  const check = process.argv.includes("--check");
  const file = path.join(ROOT, OUTPUT);
  const text = renderApiDocs();
  if (check) {
    let current = "";
    try {
      current = readFileSync(file, "utf8");
    } catch {
      // a missing file is out of date
    }
    if (current !== text) {
      console.error(`${OUTPUT} is out of date; run \`npm run docs:api\``);
      process.exit(1);
    }
    console.log(`${OUTPUT} is up to date`);
    return;
  }
  writeFileSync(file, text);
  console.log(`wrote ${OUTPUT}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) cli();
