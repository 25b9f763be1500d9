/**
 * Test helper: `fn` must throw a ConfigError naming `field` whose message matches `re` (what every
 * validation test checks: the field that is wrong and what would be right). One copy for all of them.
 */
import assert from 'node:assert/strict';
import { ConfigError } from '../control/validate.js';

export function refuses(fn: () => unknown, field: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    assert.equal(e.field, field, e.message);
    assert.match(e.message, re);
    return true;
  });
}
