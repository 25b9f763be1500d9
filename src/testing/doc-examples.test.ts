import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchOutput, parseExamples } from './doc-examples.js';

const page = [
  '# A page',
  '',
  '<!-- example: background -->',
  '```sh',
  'npm start',
  '```',
  '',
  '```text',
  'API on ...',
  '```',
  '',
  '```json',
  '{ "not": "run" }',
  '```',
  '',
  '<!-- example: skip: it never ends -->',
  '```sh',
  'vswitch capture sw0 vm1 -w x.pcap',
  '```',
  '',
  '- a list item with a block:',
  '',
  '  ```sh',
  '  vswitch show',
  '  ```',
  '',
  '  ```text',
  '  switch sw0 ...',
  '  ```',
].join('\n');

test('parseExamples: sh blocks in order, their markers, their shown output; indented blocks lose the indent', () => {
  const ex = parseExamples(page, 'page.md');
  assert.deepEqual(
    ex.map((e) => [e.line, e.mode, e.script, e.reason, e.expect?.text]),
    [
      [4, 'background', 'npm start', undefined, 'API on ...'],
      [17, 'skip', 'vswitch capture sw0 vm1 -w x.pcap', 'it never ends', undefined],
      [23, 'run', 'vswitch show', undefined, 'switch sw0 ...'],
    ],
  );
});

test('parseExamples: a malformed page is refused with its line', () => {
  assert.throws(
    () => parseExamples('```text\nout\n```', 'p.md'),
    /p\.md:1: a ```text block shows output, but no ```sh block/,
  );
  assert.throws(
    () => parseExamples('<!-- example: skip: x -->\nprose\n```sh\nls\n```', 'p.md'),
    /p\.md:1: an example marker must be right above/,
  );
  assert.throws(() => parseExamples('```sh\nls\n', 'p.md'), /p\.md:1: unclosed/);
  assert.throws(
    () => parseExamples('```sh\nls\n```\n```text\na\n```\n```text\nb\n```', 'p.md'),
    /already shows its output at line 4/,
  );
});

test('matchOutput: ... lines and ... inside a line; runs of spaces; trailing blanks ignored', () => {
  assert.equal(matchOutput('a\n...\nd', 'a\nb\nc\nd\n\n'), null);
  assert.equal(matchOutput('a\n...\nd', 'a\nd'), null, '... may stand for no line');
  assert.equal(matchOutput('port vm4 ... mac 52:...', 'port vm4 added to sw0, mac 52:54:00:7b:e9:c1'), null);
  assert.equal(matchOutput('98  0', '98\t\t0'), null);
  assert.equal(matchOutput('a.c', 'abc')?.startsWith('expected line 1'), true, 'a dot is a dot');
  assert.match(matchOutput('a\nb', 'a\nc') ?? '', /expected line 2 of the shown output, "b"/);
  assert.notEqual(matchOutput('a', 'a\nextra'), null, 'every line of the output must be matched');
});
