/**
 * Rewrites the generated tables in README.md (settings and error codes) from their sources, so
 * the docs cannot drift: `npm run docs`. test/integration/readme.test.ts fails when they differ.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderTables, spliceTables } from '../test/fixtures/readme-tables.ts';

const file = join(import.meta.dirname, '..', 'README.md');
const text = await readFile(file, 'utf8');
await writeFile(file, spliceTables(text, renderTables()));
