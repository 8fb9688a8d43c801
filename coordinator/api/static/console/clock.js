// The coordinator's clock as the page knows it: every answer carries the coordinator's time
// (header Flexfleet-Now-Ms), and ages ("5 min ago") and time windows ("the last hour") are
// counted from it, not from this computer's clock, which may run minutes off, or hours
// behind a coordinator on a simulated clock.

const NOW_HEADER = "Flexfleet-Now-Ms";
let offsetMs = 0; // the coordinator's time less this computer's, from the latest answer

/** Note the coordinator's time from an answer's header (answers without it change nothing). */
export function noteServerTime(response) {
  const value = Number(response.headers.get(NOW_HEADER));
  if (Number.isFinite(value) && value > 0) offsetMs = value - Date.now();
}

/** Now on the coordinator's clock (ms since the Unix epoch). */
export function serverNow() { return Date.now() + offsetMs; }
