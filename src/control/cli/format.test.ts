import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeVlan, vidText } from './format.js';

test('vidText: runs of three or more VLAN IDs become a-b, shorter runs stay single', () => {
  assert.equal(vidText([]), '');
  assert.equal(vidText([10]), '10');
  assert.equal(vidText([10, 11]), '10,11');
  assert.equal(vidText([10, 20, 21, 22]), '10,20-22');
  assert.equal(vidText([1, 2, 3, 5, 100, 101, 102, 103, 4094]), '1-3,5,100-103,4094');
});

test('describeVlan: a trunk with a range is one short column that port vlan takes back', () => {
  const allowed = [10, 20, ...Array.from({ length: 11 }, (_, i) => 100 + i)];
  assert.equal(
    describeVlan({ mode: 'trunk', allowed, native: 30, pruned: [105] }),
    'trunk 10,20,100-110 native 30 pruned 105',
  );
  assert.equal(
    describeVlan({ mode: 'private', pvlan: 'community', primary: 100, secondary: [101, 102, 103] }),
    'private community 100/101-103',
  );
});
