/**
 * The positions of `keys` in ascending key order (JavaScript string order), ties in their
 * original order: a permutation, keys[order[0]] ≤ keys[order[1]] ≤ … (the batch's code order
 * for extraction tasks and for the keyed tables' inserts, #16).
 */
export function orderByKey(keys: readonly string[]): Uint32Array {
  return Uint32Array.from(keys.keys()).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : a - b));
}
