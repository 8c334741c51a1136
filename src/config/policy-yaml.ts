/**
 * One policy file's YAML: parsed with positions kept, so every later problem (schema, rules,
 * cross-file checks) can be reported at the node it is about.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node, ParsedNode } from 'yaml';
import type { Locator, PathSegment, PolicyDiagnostic } from './policy-diagnostics.ts';

export interface ParsedPolicyYaml {
  /** The plain data (undefined when the file has syntax errors or is empty). */
  readonly data: unknown;
  /** True when the file holds no document content (only whitespace or comments). */
  readonly empty: boolean;
  /** YAML syntax errors and warnings, positioned. */
  readonly diagnostics: PolicyDiagnostic[];
  readonly locate: Locator;
}

// Anchors/aliases are allowed (they are handy for shared validateJwt blocks) but bounded, so a
// "billion laughs" file cannot exhaust memory (the yaml library's alias expansion limit).
const MAX_ALIAS_COUNT = 100;

function nodeStart(node: Node | null | undefined): number | undefined {
  return node?.range?.[0];
}

/**
 * Parses `text` as YAML 1.2 (core schema: `yes`/`on` are strings, not booleans). Duplicate keys
 * and multiple documents are errors.
 */
export function parsePolicyYaml(file: string, text: string): ParsedPolicyYaml {
  const lineCounter = new LineCounter();
  const doc: Document.Parsed<ParsedNode> = parseDocument(text.replace(/^\uFEFF/, ''), {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    version: '1.2',
  });
  const position = (offset: number | undefined) => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { line, column: col };
  };

  const locate: Locator = (path: readonly PathSegment[], key = false) => {
    let node: Node | null | undefined = doc.contents;
    let offset = nodeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(node)) node = node.resolve(doc);
      const segment = path[i];
      let next: Node | null | undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair === undefined) break; // a missing key: report at its parent mapping
        const keyNode = pair.key as Node;
        if (i === path.length - 1 && key) return position(nodeStart(keyNode));
        next = pair.value as Node | null;
        // `key:` with no value: point at the key.
        offset = nodeStart(next) ?? nodeStart(keyNode) ?? offset;
      } else if (isSeq(node) && typeof segment === 'number') {
        next = node.items[segment] as Node | undefined;
        if (next === undefined) break;
        offset = nodeStart(next) ?? offset;
      } else {
        break;
      }
      node = next;
    }
    return position(offset);
  };

  const diagnostics: PolicyDiagnostic[] = [];
  for (const [severity, list] of [
    ['error', doc.errors],
    ['warning', doc.warnings],
  ] as const) {
    for (const problem of list) {
      diagnostics.push({
        file,
        ...position(problem.pos[0]),
        path: '',
        message: `YAML: ${problem.message}`,
        severity,
      });
    }
  }
  const empty = doc.contents === null;
  let data: unknown;
  if (doc.errors.length === 0 && !empty) {
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      diagnostics.push({
        file,
        ...position(0),
        path: '',
        message: `YAML: ${error instanceof Error ? error.message : String(error)}`,
        severity: 'error',
      });
    }
  }
  return { data, empty, diagnostics, locate };
}
