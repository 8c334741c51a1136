/**
 * The Dockerfile's production properties, checked from its text (there is no Docker engine on the
 * build machines): stages, a pinned slim Node base of the same major as the tests, a numeric
 * non-root USER, exec-form ENTRYPOINT, STOPSIGNAL, no URL downloads or credentials in layers, a
 * runtime stage that ships only dist/ + production node_modules, and a .dockerignore that keeps
 * tests, .git and local env files out of the build context. Each check is also run against a
 * broken variant to prove it can fail.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(repo, '.dockerignore'), 'utf8');
const packageJson = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  devDependencies?: Record<string, string>;
};

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}
interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comment lines dropped). */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    const continued = line.endsWith('\\');
    pending += (pending === '' ? '' : ' ') + (continued ? line.slice(0, -1).trim() : line);
    if (!continued) {
      logical.push(pending);
      pending = '';
    }
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args };
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

const SLIM_NODE = /^node:(\d+)\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[a-f0-9]{64})?$/;

/** Every production property the issue asks of the Dockerfile; returns the problems found. */
function dockerfileProblems(text: string, nodeMajor: string): string[] {
  const problems: string[] = [];
  const stages = parseDockerfile(text);
  const final = stages.at(-1);
  if (stages.length < 2 || final === undefined) return ['needs at least two stages (build + runtime)'];
  if (!stages.some((s) => s.name === 'build')) problems.push('no stage named build (FROM … AS build)');
  const base = SLIM_NODE.exec(final.image);
  if (!base) problems.push(`final base ${final.image} is not a slim Node image pinned by full version`);
  else if (base[1] !== nodeMajor) problems.push(`final base is Node ${base[1]}, tests run Node ${nodeMajor}`);
  for (const s of stages.slice(0, -1))
    if (s.image !== final.image) problems.push(`stage ${s.name ?? '?'} uses ${s.image}, not ${final.image}`);
  const tag = final.image.split('@')[0] ?? '';
  const comments = text.split('\n').filter((l) => l.trim().startsWith('#'));
  const digestNoted = comments.some((l) => /digest/i.test(l)) && /@sha256:|imagetools inspect/.test(text);
  if (!digestNoted || !text.includes(tag)) problems.push('the base image digest is not noted in a comment');

  const all = stages.flatMap((s) => s.instructions);
  for (const i of all) {
    if (i.keyword === 'ADD' && /(https?|git):\/\/|git@/.test(i.args))
      problems.push(`ADD of a URL: ${i.args}`);
    if (
      (i.keyword === 'COPY' || i.keyword === 'ADD') &&
      /npmrc|\.env|secret|\.pem|\.key\b|id_rsa/i.test(i.args)
    )
      problems.push(`copies a credential file: ${i.args}`);
    if ((i.keyword === 'ARG' || i.keyword === 'ENV') && /TOKEN|PASSWORD|SECRET|API_?KEY/i.test(i.args))
      problems.push(`credential in ${i.keyword}: ${i.args}`);
  }

  const last = (keyword: string): string | undefined =>
    final.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
  const user = last('USER');
  if (user === undefined || !/^\d+(:\d+)?$/.test(user) || /^0(:|$)/.test(user))
    problems.push(`USER must be a numeric non-root uid, got ${user ?? 'none'}`);
  const entrypoint = last('ENTRYPOINT') ?? '';
  let argv: unknown;
  try {
    argv = JSON.parse(entrypoint);
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv) || argv[0] !== 'node' || !argv.includes('dist/cli/main.js'))
    problems.push(`ENTRYPOINT must be exec form ["node", "dist/cli/main.js"], got ${entrypoint}`);
  if (last('STOPSIGNAL') !== 'SIGTERM') problems.push('STOPSIGNAL SIGTERM missing in the runtime stage');

  // The runtime stage: package.json, dist/ from the build stage, node_modules from an --omit=dev stage.
  for (const copy of final.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
    const words = copy.args.split(/\s+/).filter((w) => !w.startsWith('--chown') && !w.startsWith('--chmod'));
    const from = /^--from=(\S+)$/.exec(words[0] ?? '')?.[1];
    const sources = words.slice(from === undefined ? 0 : 1, -1);
    const source = stages.find((s) => s.name === from);
    const ok =
      (from === undefined && sources.every((p) => p === 'package.json')) ||
      (from === 'build' && sources.every((p) => /^(\/app\/)?dist\/?$/.test(p))) ||
      (source !== undefined &&
        source.instructions.some((i) => i.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args)) &&
        sources.every((p) => /^(\/app\/)?node_modules\/?$/.test(p)));
    if (!ok)
      problems.push(
        `the runtime stage copies more than dist/, production node_modules and package.json: ${copy.args}`,
      );
  }
  if (final.instructions.some((i) => i.keyword === 'RUN' && /npm (ci|install|i)\b/.test(i.args)))
    problems.push('the runtime stage installs packages itself');
  if (
    !stages.some((s) =>
      s.instructions.some((i) => i.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args)),
    )
  )
    problems.push('no stage runs npm ci --omit=dev');
  return problems;
}

/** `.dockerignore` semantics: last matching rule wins; a rule matching a parent excludes the children. */
function isIgnored(ignoreText: string, path: string): boolean {
  const rules = ignoreText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) => {
          if (part === '**/') return '(?:.*/)?';
          if (part === '**') return '.*';
          if (part === '*') return '[^/]*';
          if (part === '?') return '[^/]';
          return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
        })
        .join('');
      return { negate, regex: new RegExp(`^${source}$`) };
    });
  const segments = path.split('/');
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) if (prefixes.some((p) => rule.regex.test(p))) ignored = !rule.negate;
  return ignored;
}

const nodeMajor = /(\d+)/.exec(packageJson.devDependencies?.node ?? '')?.[1] ?? 'missing';

describe('Dockerfile', () => {
  it('builds on the same Node major as the tests run on', () => {
    assert.equal(
      nodeMajor,
      process.versions.node.split('.')[0],
      'package.json node devDependency vs this runtime',
    );
  });

  it('has every production property', () => {
    assert.deepEqual(dockerfileProblems(dockerfile, nodeMajor), []);
  });

  it('starts the file that the build produces', () => {
    // tsconfig.build.json maps src/ to dist/, so ENTRYPOINT's dist/cli/main.js comes from src/cli/main.ts.
    assert.ok(existsSync(join(repo, 'src', 'cli', 'main.ts')));
    const build = JSON.parse(readFileSync(join(repo, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    assert.deepEqual([build.compilerOptions.rootDir, build.compilerOptions.outDir], ['src', 'dist']);
  });

  const broken: [string, (text: string) => string, RegExp][] = [
    [
      'shell-form ENTRYPOINT',
      (t) => t.replace(/^ENTRYPOINT .*$/m, 'ENTRYPOINT node dist/cli/main.js'),
      /exec form/,
    ],
    ['named USER', (t) => t.replace(/^USER .*$/m, 'USER node'), /numeric non-root/],
    ['root USER', (t) => t.replace(/^USER .*$/m, 'USER 0:0'), /numeric non-root/],
    ['no STOPSIGNAL', (t) => t.replace(/^STOPSIGNAL .*$/m, ''), /STOPSIGNAL/],
    ['ADD of a URL', (t) => `${t}\nADD https://example.com/x.tgz /x.tgz\n`, /ADD of a URL/],
    [
      'copied .npmrc',
      (t) => t.replace(/^COPY package\.json package-lock\.json/m, 'COPY .npmrc package.json'),
      /credential/,
    ],
    [
      'unpinned base',
      (t) => t.replaceAll(/node:24\.\d+\.\d+-\w+-slim/g, 'node:24-slim'),
      /pinned by full version/,
    ],
    ['other Node major', (t) => t.replaceAll(/node:24\./g, 'node:22.'), /Node 22, tests run Node 24/],
    [
      'single stage',
      (t) => t.replace(/^FROM [\s\S]*^FROM .* AS runtime$/m, 'FROM node:24.1.0-trixie-slim'),
      /two stages/,
    ],
    ['sources in the runtime stage', (t) => `${t}\nCOPY src ./src\n`, /copies more than/],
    ['dev dependencies shipped', (t) => t.replace('--from=prod-deps', '--from=build'), /copies more than/],
  ];
  for (const [name, mutate, expected] of broken) {
    it(`flags a Dockerfile with ${name}`, () => {
      const mutated = mutate(dockerfile);
      assert.notEqual(mutated, dockerfile, 'the mutation must change the text');
      const problems = dockerfileProblems(mutated, nodeMajor);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected a problem matching ${String(expected)}, got ${JSON.stringify(problems)}`,
      );
    });
  }
});

describe('.dockerignore', () => {
  const excluded = [
    '.git/HEAD',
    'node_modules/hono/package.json',
    'src/node_modules/x.js',
    'test/integration/dockerfile.test.ts',
    'src/policy/route-table.test.ts',
    '.env',
    '.env.local',
    'src/.env',
    'dist/cli/main.js',
    'coverage/lcov.info',
    '.cache/helm-template',
    '.npmrc',
    'helm/connector-gateway/values.yaml',
    'docs/kubernetes.md',
  ];
  for (const path of excluded)
    it(`keeps ${path} out of the build context`, () => assert.ok(isIgnored(dockerignore, path)));

  it('keeps every file the build stage COPYs from the context', () => {
    const sources = parseDockerfile(dockerfile)
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
      .map((p) => (p === 'src' ? 'src/cli/main.ts' : p));
    assert.ok(sources.length >= 4, `COPY sources: ${sources.join(', ')}`);
    for (const path of sources) assert.ok(!isIgnored(dockerignore, path), `${path} is ignored but COPYed`);
  });

  it('matches like Docker: last rule wins, parents count', () => {
    assert.ok(isIgnored('test\n', 'test/a/b.ts'));
    assert.ok(!isIgnored('*\n!src\n', 'src/a.ts'));
    assert.ok(isIgnored('*\n!src\nsrc/**/*.test.ts\n', 'src/a/b.test.ts'));
    assert.ok(!isIgnored('.env*\n', 'src/env.ts'));
  });
});
