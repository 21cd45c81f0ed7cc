// node tests/live/js/crosscheck.mjs CASES.json  ->  results as JSON on stdout
//
// Used by tests/live/test_ot_js.py: Python writes random cases, this script computes the
// same things with static/js/ot.js, and the test asserts both sides agree exactly.
// Each case: { text, a, b, c, other, bad } where a and b are ops on text, c is an op on
// apply(text, a), other is a second text and bad is a possibly malformed op.

import { readFileSync } from 'node:fs';

const ot = await import(new URL('../../../static/js/ot.js', import.meta.url));

// Errors become {error: true} so "both sides reject" compares equal.
function attempt(fn) {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ot.OTError) return { error: true };
    throw err;
  }
}

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const results = cases.map(({ text, a, b, c, other, bad }) => {
  const n = ot.cpLength(text);
  const indexes = Array.from({ length: n + 1 }, (_, i) => i);
  return {
    normalize: ot.normalize(a),
    validate: ot.validate(a),
    base_length: ot.baseLength(a),
    target_length: ot.targetLength(a),
    is_noop: ot.isNoop(a),
    apply: ot.apply(text, a),
    transform_a_first: ot.transform(a, b, true),
    transform_b_first: ot.transform(a, b, false),
    compose: ot.compose(a, c),
    invert: ot.invert(a, text),
    from_replace: ot.fromReplace(text, other),
    from_replace_edit: ot.fromReplace(text, ot.apply(text, a)),
    transform_index: indexes.map((i) => ot.transformIndex(i, a, false)),
    transform_index_own: indexes.map((i) => ot.transformIndex(i, a, true)),
    cp_to_utf16: indexes.map((i) => ot.cpToUtf16(text, i)),
    utf16_to_cp: indexes.map((i) => ot.utf16ToCp(text, ot.cpToUtf16(text, i))),
    bad_validate: attempt(() => ot.validate(bad)),
    bad_apply: attempt(() => ot.apply(text, bad)),
  };
});
process.stdout.write(JSON.stringify(results));
