// Test records placed inside their UTC day whatever the time of day a test runs: archiving,
// retention and the cold tier take whole closed days, and a record a few hours off midnight would
// land in the next or the last one.

export const DAY_MS = 86_400_000;

/** Midnight UTC of the day of `ms`. */
export function utcDayStart(ms = Date.now()): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** 06:00 UTC of the day `back` days before `today` (a UTC midnight): hours of records from there stay in that day. */
export function morningOf(today: number, back: number): number {
  return today - back * DAY_MS + 6 * 3_600_000;
}
