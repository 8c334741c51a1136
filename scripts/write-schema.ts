/**
 * Writes `policies/schema.json`, the JSON Schema editors use to check policy files as they are
 * typed (`# yaml-language-server: $schema=./schema.json`). Generated from the zod schema the
 * loader validates with; a unit test fails when the file on disk is stale.
 *
 * Run: ./node_modules/.bin/node scripts/write-schema.ts
 */
import { writeFile } from 'node:fs/promises';
import { policyJsonSchemaText } from '../src/config/policy-schema.ts';

const target = new URL('../policies/schema.json', import.meta.url);
await writeFile(target, policyJsonSchemaText());
console.log(`wrote ${target.pathname}`);
