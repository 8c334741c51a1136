/** Reading callgrind's output for `npm run bench -- --instructions`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMPILER_FUNCTION, parseCallgrind, PerfMap } from './callgrind.ts';

// The shape callgrind 3.19 writes: compressed names defined on first use by fn= or cfn=, a
// calls= line whose next cost line is the callee's inclusive cost, positions as line numbers,
// relative positions (+N/-N) and the recursion mark 'N on a name.
const DUMP = `# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 4242
cmd:  node --perf-basic-prof dist/cli/main.js serve
part: 1

positions: line
events: Ir
summary: 1900

ob=(1) /usr/bin/node
fl=(1) ???
fn=(1) Builtins_LoadIC
0 300
fn=(2) 0x00000000281ace40
0 500
cfn=(1)
calls=2 0
0 300
+1 100
cfn=(3) 0x0000000000001234
calls=1 0
0 400
fn=(3)
0 400
fn=(4) 0x00000000281ace40'2
-1 200
fn=(5) 0x0000000028300010
0 400

totals: 1900
`;

const MAP = `281ace00 100 JS:*'writeRequestLine file:///x/request-line.js:98:37
28300000 40 JS:~'parseIp file:///x/ip-address.js:20:24
`;

describe('callgrind output', () => {
  it('counts each function by its own instructions, not those of the calls it makes', () => {
    const profile = parseCallgrind(DUMP, new PerfMap(MAP));
    assert.equal(profile.instructions, 1900);
    // 500 + 100 of its own plus 200 under the recursion mark; the 300 and 400 of its calls are
    // the callees' (counted under their own fn=).
    assert.deepEqual(Object.fromEntries(profile.selfByFunction), {
      Builtins_LoadIC: 300,
      'JS writeRequestLine file:///x/request-line.js:98:37': 800,
      '(generated code, unnamed)': 400,
      'JS parseIp file:///x/ip-address.js:20:24': 400,
    });
    const own = [...profile.selfByFunction.values()].reduce((a, b) => a + b, 0);
    assert.equal(own, profile.instructions);
  });

  it("counts what V8's compiler jobs executed, their calls included, once", () => {
    // A TurboFan job on a worker thread: 50 of its own, a 700-instruction call into the
    // compiler's graph reducer (counted there as self), and a call to itself (not added twice).
    const job = 'v8::internal::OptimizingCompileTaskExecutor::CompileTask::Run(v8::JobDelegate*)';
    const withJob = DUMP.replace(
      'totals: 1900\n',
      `fn=(6) ${job}
0 50
cfn=(7) v8::internal::compiler::GraphReducer::ReduceTop()
calls=3 0
0 700
cfn=(6)
calls=1 0
0 750
fn=(7)
0 700
totals: 2650
`,
    );
    const profile = parseCallgrind(withJob, new PerfMap(MAP));
    assert.equal(profile.instructions, 2650);
    assert.equal(profile.compilerInstructions, 750);
    assert.equal(parseCallgrind(DUMP).compilerInstructions, 0);
  });

  it("tells the compilers' own functions by name, a template's return type before it included", () => {
    for (const name of [
      'v8::internal::compiler::GraphReducer::ReduceTop()',
      'void v8::internal::compiler::turboshaft::DeadCodeAnalysis::ProcessBlock<false>(v8::internal::compiler::turboshaft::Block const&, unsigned int)',
      'bool v8::internal::compiler::turboshaft::LateLoadEliminationAnalyzer::BeginBlock<false>(v8::internal::compiler::turboshaft::Block const*)',
      'v8::internal::maglev::MaglevGraphBuilder::Build()',
    ]) {
      assert.match(name, COMPILER_FUNCTION, name);
    }
    for (const name of [
      'Builtins_LoadIC',
      'void v8::internal::String::WriteToFlat2<unsigned char>(unsigned char*, v8::internal::Tagged<v8::internal::ConsString>)',
      'JS compile file:///x/compiler.js:1:1',
    ]) {
      assert.doesNotMatch(name, COMPILER_FUNCTION, name);
    }
  });

  it('names no generated code without a perf map, and falls back to summary: without totals:', () => {
    const profile = parseCallgrind(DUMP.replace('totals: 1900\n', ''));
    assert.equal(profile.instructions, 1900);
    assert.equal(profile.selfByFunction.get('(generated code, unnamed)'), 1600);
  });

  it('leaves a build directory out of JavaScript names, so two builds name one function alike', () => {
    const profile = parseCallgrind(DUMP, new PerfMap(MAP), ['file:///x/']);
    assert.equal(profile.selfByFunction.get('JS writeRequestLine request-line.js:98:37'), 800);
    assert.equal(profile.selfByFunction.get('JS parseIp ip-address.js:20:24'), 400);
  });

  it('finds the code holding an address, and nothing between or past the entries', () => {
    const map = new PerfMap(MAP);
    assert.match(map.nameOf(0x281ace00) ?? '', /writeRequestLine/);
    assert.match(map.nameOf(0x281ace40) ?? '', /writeRequestLine/);
    assert.equal(map.nameOf(0x281ace00 + 0x100), undefined);
    assert.match(map.nameOf(0x2830003f) ?? '', /parseIp/);
    assert.equal(map.nameOf(0x28300040), undefined);
    assert.equal(map.nameOf(0x10), undefined);
  });
});
