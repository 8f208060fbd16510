/**
 * Exchange price bands (circuit limits), defined once for the generator,
 * the importer, the features and the training labels.
 *
 * NSE/BSE tick size is ₹0.05. The upper-circuit price is the previous close
 * moved up by the band and rounded *down* to the tick, so it never exceeds
 * the band; an upper-circuit day is one whose close reaches that price.
 */
export const TICK = 0.05;
export const BAND_PCTS = [2, 5, 10, 20] as const;

/** Rounds a price to the nearest tick (kept to 2 decimals). */
export function roundToTick(price: number): number {
  return Math.round(Math.round(price / TICK) * TICK * 100) / 100;
}

/** Upper-circuit price for a previous close and a band in percent. */
export function upperCircuitPrice(prevClose: number, bandPct: number): number {
  const raw = (prevClose * (100 + bandPct)) / 100;
  // Floor to the tick with a small epsilon so that exact multiples stay put.
  return Math.round(Math.floor(raw / TICK + 1e-6) * TICK * 100) / 100;
}

/** Lower-circuit price: the band down, rounded *up* to the tick. */
export function lowerCircuitPrice(prevClose: number, bandPct: number): number {
  const raw = (prevClose * (100 - bandPct)) / 100;
  return Math.round(Math.ceil(raw / TICK - 1e-6) * TICK * 100) / 100;
}

/** True when `close` reached the upper circuit from `prevClose`. */
export function isUpperCircuit(prevClose: number, close: number, bandPct: number): boolean {
  if (!(prevClose > 0)) return false;
  const uc = upperCircuitPrice(prevClose, bandPct);
  // Below ₹2.50 a 2% band rounds to no move at all: such a stock cannot hit a circuit.
  if (uc <= prevClose) return false;
  return close >= uc - TICK / 2;
}
