/**
 * The shell examples of a Markdown page (README.md, docs/*.md) as steps a test can run in order, and the
 * check of a command's output against the output the page shows. The page is the test's script: what a
 * reader copies is what runs (src/e2e/readme.test.ts runs it in a namespace sandbox).
 *
 * Design notes: README.md in this folder, section "doc-examples.ts".
 */

export type ExampleMode = 'run' | 'skip' | 'background' | 'until-match';

export interface Example {
  /** 1-based line of the opening fence, for messages ("README.md:42"). */
  line: number;
  script: string;
  mode: ExampleMode;
  /** Why a skipped block is not run (from its marker). */
  reason?: string;
  /** The ```text block that shows this block's output, if any. */
  expect?: { line: number; text: string };
}

/** A fence, maybe indented (a block inside a list item); its body loses the same indentation. */
const kFence = /^( *)```(\S*)\s*$/;
const kMarker = /^<!--\s*example:\s*(skip|background|until-match)\s*(?::\s*(.*?))?\s*-->$/;

/** The page's ```sh blocks in order, with their markers and shown output; throws on a malformed page
 *  (an unclosed fence, a ```text block with no ```sh block before it, a marker not above a ```sh block). */
export function parseExamples(markdown: string, file: string): Example[] {
  const lines = markdown.split('\n');
  const out: Example[] = [];
  let marker: { mode: ExampleMode; reason?: string; line: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const m = kMarker.exec(lines[i]!.trim());
    if (m) {
      marker = { mode: m[1] as ExampleMode, line: i + 1, ...(m[2] ? { reason: m[2] } : {}) };
      continue;
    }
    const f = kFence.exec(lines[i]!);
    if (!f) {
      if (marker && lines[i]!.trim() !== '')
        throw new Error(`${file}:${marker.line}: an example marker must be right above a \`\`\`sh block`);
      continue;
    }
    const start = i;
    const indent = f[1]!;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== `${indent}\`\`\``; i++)
      body.push(lines[i]!.startsWith(indent) ? lines[i]!.slice(indent.length) : lines[i]!);
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: unclosed \`\`\` fence`);
    const lang = f[2];
    if (lang === 'sh') {
      out.push({
        line: start + 1,
        script: body.join('\n'),
        mode: marker?.mode ?? 'run',
        ...(marker?.reason ? { reason: marker.reason } : {}),
      });
    } else if (marker) {
      throw new Error(
        `${file}:${marker.line}: an example marker must be right above a \`\`\`sh block, not \`\`\`${lang}`,
      );
    } else if (lang === 'text') {
      const prev = out[out.length - 1];
      if (!prev)
        throw new Error(`${file}:${start + 1}: a \`\`\`text block shows output, but no \`\`\`sh block comes before it`);
      if (prev.expect)
        throw new Error(
          `${file}:${start + 1}: the \`\`\`sh block at line ${prev.line} already shows its output at line ${prev.expect.line}`,
        );
      prev.expect = { line: start + 1, text: body.join('\n') };
    }
    marker = null;
  }
  if (marker) throw new Error(`${file}:${marker.line}: an example marker must be right above a \`\`\`sh block`);
  return out;
}

function trimLines(s: string): string[] {
  const l = s.split('\n').map((x) => x.trimEnd());
  while (l.length > 0 && l[0] === '') l.shift();
  while (l.length > 0 && l[l.length - 1] === '') l.pop();
  return l;
}

/** `...` is any text; a run of spaces or tabs is any run of them (tshark's fields are tab-separated). */
function lineRegExp(pattern: string): RegExp {
  const literal = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/[ \t]+/g, '[ \\t]+');
  return new RegExp(`^${pattern.split('...').map(literal).join('.*')}$`);
}

/** null when `actual` matches the `expected` output (see the convention above), else the first expected
 *  line that nothing matched, with what was there. */
export function matchOutput(expected: string, actual: string): string | null {
  const want = trimLines(expected);
  const got = trimLines(actual);
  const res = want.map((w) => (w === '...' ? null : lineRegExp(w)));
  let deepest = 0; // the furthest expected line reached, for the message
  const memo = new Set<number>();
  const walk = (w: number, g: number): boolean => {
    const key = w * (got.length + 1) + g;
    if (memo.has(key)) return false;
    memo.add(key);
    deepest = Math.max(deepest, w);
    if (w === want.length) return g === got.length;
    const re = res[w];
    if (re === null) {
      for (let k = g; k <= got.length; k++) if (walk(w + 1, k)) return true;
      return false;
    }
    return g < got.length && re!.test(got[g]!) && walk(w + 1, g + 1);
  };
  if (walk(0, 0)) return null;
  const w = Math.min(deepest, want.length - 1);
  return `expected line ${w + 1} of the shown output, ${JSON.stringify(want[w] ?? '')}, not found in the output:\n${got.join('\n')}`;
}

/** The page's ```json blocks (config file snippets), with the line of each opening fence. */
export function jsonBlocks(markdown: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const f = kFence.exec(lines[i]!);
    if (!f) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== `${f[1]}\`\`\``; i++) body.push(lines[i]!);
    if (f[2] === 'json') out.push({ line: start + 1, text: body.join('\n') });
  }
  return out;
}
