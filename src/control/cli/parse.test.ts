/**
 * The command table and its parser: each command is found by its words, sees only its own options, and
 * every refusal suggests the nearest command or option; help is per command; paths are resolved against
 * the CLI's directory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandName, UsageError } from './command.js';
import { commandHelp, helpFor, overview } from './help.js';
import { locate, parseCommand } from './parse.js';
import { closest, editDistance } from './suggest.js';
import { commands } from './table.js';

function parse(...argv: string[]) {
  const loc = locate(commands, argv);
  assert.ok('cmd' in loc, `no command for ${argv.join(' ')}`);
  return { cmd: loc.cmd, ...parseCommand(commands, loc.cmd, loc.rest, '/home/u/lab') };
}

function refused(argv: string[], ...mustSay: RegExp[]): void {
  assert.throws(
    () => parse(...argv),
    (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      for (const re of mustSay) assert.match(e.message, re);
      return true;
    },
  );
}

test('edit distance and the nearest word', () => {
  assert.equal(editDistance('prot', 'port'), 2);
  assert.equal(editDistance('port', 'port'), 0);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(closest('prot', ['port', 'vlan', 'api']), 'port');
  assert.equal(closest('zzzzzz', ['port', 'vlan']), undefined);
});

test('the table: unique command names, a summary each, positionals in a sane order', () => {
  const names = commands.map(commandName);
  assert.equal(new Set(names).size, names.length, 'no two commands share a name');
  for (const c of commands) {
    assert.ok(c.summary.length > 0, commandName(c));
    const firstOptional = c.args.findIndex((a) => a.optional);
    if (firstOptional >= 0)
      assert.ok(
        c.args.slice(firstOptional).every((a) => a.optional),
        `${commandName(c)}: required after optional`,
      );
    assert.ok(
      c.args.slice(0, -1).every((a) => !a.variadic),
      `${commandName(c)}: only the last argument may be variadic`,
    );
  }
  for (const n of ['show', 'port add', 'fdb show', 'help', 'completion', 'config show', 'capture', 'capture stop'])
    assert.ok(names.includes(n), n);
});

test('a command is found by its words, with global options before them', () => {
  const p = parse('--api', '/s.sock', 'port', 'add', 'sw0', 'vm1', '--listen', '/x.sock');
  assert.equal(commandName(p.cmd), 'port add');
  assert.deepEqual(p.args, ['sw0', 'vm1']);
  assert.equal(p.flags.listen, '/x.sock');
  assert.equal(p.flags.api, '/s.sock');
  assert.equal(commandName(parse('capture', 's1', 'p1', '-w', '/f.pcap').cmd), 'capture');
  assert.equal(commandName(parse('capture', 'stop', 's1', 'p1').cmd), 'capture stop');
});

test('a typo in an option gets the nearest option of that command', () => {
  refused(
    ['fdb', 'show', 'lab', '--prot', 'h1'],
    /unknown option --prot for 'fdb show'; did you mean --port\?/,
    /vswitch help fdb show/,
  );
  refused(['port', 'add', 'sw0', 'vm1', '--lisen', '/x'], /did you mean --listen\?/);
});

test("another command's option is refused, naming the commands it belongs to", () => {
  refused(['fdb', 'show', 'lab', '--vde'], /unknown option --vde for 'fdb show'; --vde is an option of 'port add'/);
  refused(['switch', 'list', '--storm-limit', '5'], /--storm-limit is an option of 'port add', 'port policy'/);
  refused(['events', '--port', 'x'], /unknown option --port for 'events'/);
});

test('fdb show takes --port and --vlan for real', () => {
  const p = parse('fdb', 'show', 'lab', '--port', 'h1', '--vlan', '10');
  assert.equal(p.flags.port, 'h1');
  assert.equal(p.flags.vlan, '10');
});

test('a typo in a command gets the nearest command', () => {
  assert.throws(() => locate(commands, ['prot', 'add']), /unknown command 'prot add'; did you mean 'port add'\?/);
  assert.throws(() => locate(commands, ['port', 'ad', 'x']), /unknown command 'port ad'; did you mean 'port add'\?/);
  assert.throws(
    () => locate(commands, ['frobnicate', 'now']),
    /unknown command 'frobnicate now'\. Run 'vswitch --help'/,
  );
  const g = locate(commands, ['port']);
  assert.ok('group' in g && g.group === 'port');
});

test('missing and extra arguments name the argument and show the usage', () => {
  refused(['port', 'add', 'sw0'], /missing PORT for 'port add': usage: vswitch port add SW PORT \[OPTIONS\]/);
  refused(['fdb', 'show', 'lab', 'extra'], /unexpected argument 'extra' for 'fdb show'/);
  assert.deepEqual(parse('port', 'vlan', 's', 'p', 'private', 'isolated', '100', '101').args, [
    's',
    'p',
    'private',
    'isolated',
    '100',
    '101',
  ]);
});

test("a value outside an option's choices is refused with the nearest choice", () => {
  refused(
    ['port', 'add', 's', 'p', '--listen', '/x', '--device', 'e100'],
    /--device must be one of virtio-net-pci.*got 'e100'; did you mean 'e1000'\?/,
  );
  refused(['capture', 's', 'p', '-w', '/f', '--direction', 'inn'], /did you mean 'in'\?/);
});

test("path options are resolved against the CLI's directory; absolute ones are kept", () => {
  assert.equal(parse('port', 'add', 's', 'p', '--listen', 'vm.sock').flags.listen, '/home/u/lab/vm.sock');
  assert.equal(parse('port', 'add', 's', 'p', '--connect', '../q.sock').flags.connect, '/home/u/q.sock');
  assert.equal(
    parse('capture', 's', 'p', '-w', 'out/p.pcap').flags.write,
    'out/p.pcap',
    "a relative capture file is the daemon's (its capture directory)",
  );
  assert.equal(
    parse('port', 'add', 's', 'p', '--listen', '[::1]:5555').flags.listen,
    '[::1]:5555',
    'a TCP address is not a path',
  );
  assert.equal(parse('run', '--config', 'lab.json').flags.config, '/home/u/lab/lab.json');
  assert.equal(parse('switch', 'list', '--api', 'api.sock').flags.api, '/home/u/lab/api.sock');
  assert.equal(parse('port', 'add', 's', 'p', '--listen', '/abs/vm.sock').flags.listen, '/abs/vm.sock');
});

test('--help on a command, and help CMD, show only that command', () => {
  const p = parse('port', 'add', '--help');
  assert.equal(p.help, true, 'help is honoured before the arguments are checked');
  const text = commandHelp(p.cmd);
  assert.match(text, /^usage: vswitch port add SW PORT \[OPTIONS\]/);
  assert.match(text, /--listen PATH/);
  assert.match(text, /--device MODEL/);
  assert.match(text, /Examples:\n {2}vswitch port add sw0 vm4/);
  assert.doesNotMatch(text, /--remote-ip|fdb show|switch add/);
  assert.equal(helpFor(commands, ['port', 'add']), text);
  assert.match(helpFor(commands, ['fdb'])!, /^vswitch fdb commands:\n {2}fdb show SW/);
  assert.doesNotMatch(helpFor(commands, ['fdb'])!, /port add/);
  assert.equal(helpFor(commands, ['nope']), undefined);
  assert.match(
    helpFor(commands, ['capture'])!,
    /^usage: vswitch capture SW PORT \[OPTIONS\][\s\S]*See also: 'vswitch capture list', 'vswitch capture stop'\.$/,
  );
  assert.equal(helpFor(commands, []), overview(commands));
  for (const c of commands) assert.match(overview(commands), new RegExp(`\\n  ${commandName(c)}\\b`));
  const tune = commandHelp(commands.find((c) => commandName(c) === 'switch tune')!);
  assert.doesNotMatch(tune, /rss-table-size/, 'settings fixed at creation are not offered');
});
